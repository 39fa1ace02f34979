/**
 * The hash chain over spool lines, as pure functions over bytes (the spool, the verifier and a server can
 * share them).
 *
 * A stored line is `{"seq":<n>,"prev":"sha256:<hex>",<the draft's fields>}`: seq and prev come first so a
 * reader can take them from the line's head without parsing the whole event. `prev` is the sha256 of the
 * raw bytes of the previous line, without its `\n`; the first line's prev is GENESIS_PREV. Hashing raw
 * bytes means no canonical JSON is needed: anyone holding the lines can recompute the chain.
 */
import { createHash } from 'node:crypto';

export const GENESIS_PREV = 'sha256:' + '0'.repeat(64);

/** `sha256:<hex>` of a line's bytes (without the trailing newline). */
export function lineHash(line: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(line).digest('hex');
}

/**
 * The stored line for a serialised draft (a JSON object text that has no seq/prev of its own).
 */
export function sequenceLine(body: string, seq: number, prev: string): string {
  if (body[0] !== '{' || body[body.length - 1] !== '}') throw new Error('an audit event must serialise to a JSON object');
  const rest = body.length > 2 ? ',' + body.slice(1) : '}';
  return `{"seq":${seq},"prev":"${prev}"${rest}`;
}

const HEAD_RE = /^\{"seq":([1-9][0-9]{0,15}),"prev":"(sha256:[0-9a-f]{64})"[,}]/;

export interface LineHead {
  seq: number;
  prev: string;
}

/** seq and prev from the head of a line, or null when the line does not start like a stored event. */
export function parseLineHead(line: Uint8Array | string): LineHead | null {
  const head = typeof line === 'string' ? line.slice(0, 128) : Buffer.from(line.buffer, line.byteOffset, Math.min(128, line.byteLength)).toString('latin1');
  const m = HEAD_RE.exec(head);
  if (!m) return null;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) ? { seq, prev: m[2]! } : null;
}

export type ChainBreakKind =
  /** Not a stored event (bad head, not JSON, seq/prev fields disagree with the head). */
  | 'malformed'
  /** prev is not the hash of the line before: that line was edited, or this line replaced one. */
  | 'prev-mismatch'
  /** seq jumps forward: lines or segments were deleted. */
  | 'seq-gap'
  /** seq out of order: lines were moved. */
  | 'reordered'
  /** a seq appears twice. */
  | 'duplicate'
  /** the line at an anchored seq (pruned-segment anchor or acknowledged cursor) has another hash. */
  | 'anchor-mismatch';

export interface ChainBreak {
  kind: ChainBreakKind;
  /** seq found at the break (null when the line has none). */
  seq: number | null;
  /** seq the chain expected there. */
  expectedSeq: number;
  message: string;
}

export interface ChainTip {
  /** seq of the last line accepted (0 before the first). */
  seq: number;
  /** hash of the last line accepted (GENESIS_PREV before the first). */
  hash: string;
}

/**
 * Check one line against the tip of the chain. Returns the break, or null and the new tip is `{seq, hash}`.
 * `skipPrev` skips the prev check (the first line after pruned history whose last hash is unknown).
 */
export function checkLine(tip: ChainTip, raw: Uint8Array, opts: { skipPrev?: boolean } = {}): { brk: ChainBreak | null; head: LineHead | null; hash: string } {
  const hash = lineHash(raw);
  const expectedSeq = tip.seq + 1;
  const head = parseLineHead(raw);
  if (!head) return { brk: { kind: 'malformed', seq: null, expectedSeq, message: `line after seq ${tip.seq} does not start with {"seq":…,"prev":"sha256:…"}` }, head, hash };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch (e) {
    return { brk: { kind: 'malformed', seq: head.seq, expectedSeq, message: `seq ${head.seq} is not valid JSON (${(e as Error).message})` }, head, hash };
  }
  const o = parsed as Record<string, unknown>;
  if (o.seq !== head.seq || o.prev !== head.prev || o.specversion !== '1.0' || typeof o.id !== 'string' || typeof o.type !== 'string' || typeof o.data !== 'object') {
    return { brk: { kind: 'malformed', seq: head.seq, expectedSeq, message: `seq ${head.seq} is not a complete audit event (seq, prev, specversion, id, type, data)` }, head, hash };
  }
  if (head.seq !== expectedSeq) {
    return { brk: { kind: head.seq > expectedSeq ? 'seq-gap' : 'reordered', seq: head.seq, expectedSeq, message: `expected seq ${expectedSeq}, found ${head.seq}` }, head, hash };
  }
  if (!opts.skipPrev && head.prev !== tip.hash) {
    const what = tip.seq === 0 ? 'the chain start' : `the hash of seq ${tip.seq}`;
    return {
      brk: { kind: 'prev-mismatch', seq: head.seq, expectedSeq, message: `seq ${head.seq} has prev ${head.prev.slice(0, 19)}… but ${what} is ${tip.hash.slice(0, 19)}…: seq ${tip.seq} was edited or seq ${head.seq} replaced` },
      head,
      hash,
    };
  }
  return { brk: null, head, hash };
}

/**
 * Refine a seq mismatch with the list of every seq in storage order: moved lines (the expected seq appears
 * later) are `reordered`, a repeated seq is `duplicate`, a forward jump with the seq nowhere is `seq-gap`.
 */
export function classifySeqBreak(expected: number, found: number, seqs: ArrayLike<number>, index: number): ChainBreak {
  for (let i = 0; i < index; i++) {
    if (seqs[i] === found) return { kind: 'duplicate', seq: found, expectedSeq: expected, message: `seq ${found} appears twice` };
  }
  for (let i = index + 1; i < seqs.length; i++) {
    if (seqs[i] === expected) return { kind: 'reordered', seq: found, expectedSeq: expected, message: `expected seq ${expected}, found ${found}; seq ${expected} appears later: lines were reordered` };
  }
  if (found > expected) {
    const missing = found - expected === 1 ? `seq ${expected} is missing` : `seq ${expected}..${found - 1} are missing`;
    return { kind: 'seq-gap', seq: found, expectedSeq: expected, message: `expected seq ${expected}, found ${found}: ${missing} (lines or a segment deleted)` };
  }
  return { kind: 'reordered', seq: found, expectedSeq: expected, message: `expected seq ${expected}, found ${found}: lines out of order` };
}
