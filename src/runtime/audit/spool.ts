/**
 * The local audit spool: append-only, hash-chained NDJSON segments under `<stateDir>/audit/`, written by many
 * short-lived hook processes at once, read by the forwarder, the CLI and the VS Code extension.
 *
 * Layout
 *   <stateDir>/device.json                 device id (device.ts)
 *   <stateDir>/audit/log/seg-<firstSeq:016d>.ndjson   one event per line, seq contiguous across segments
 *   <stateDir>/audit/lock/g-<n>[.rel]      writer lease generations (lock.ts)
 *   <stateDir>/audit/inbox/<id>.<nonce>.req|.claimed|.res   events waiting for the lock holder, and results
 *   <stateDir>/audit/cursor.json           {ackedSeq, ackedHash, time}: what the server acknowledged
 *   <stateDir>/audit/anchor.json           {seq, hash, segment}: last line of the newest deleted segment
 *
 * Write path (appendAuditEvent, synchronous): serialise the draft (outside the lock). If the lock is free,
 * take it and commit: find the tail (last segment, last complete line: seq + sha256 of its bytes; a torn
 * trailing line left by a crash is cut off and recorded), apply the disk cap per event, roll the segment past
 * 8 MiB, write the lines with one write() and fdatasync, release. If the lock is held, leave the event in the
 * inbox; the holder commits every waiting event in its next batch (group commit: one fdatasync for many
 * processes) and publishes each one's seq/hash as a result file. The caller answers the agent only after
 * its event's line is on disk.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkLine, classifySeqBreak, GENESIS_PREV, lineHash, parseLineHead, sequenceLine, type ChainBreak, type ChainTip } from '../../core/audit/chain';
import {
  buildSpoolEvent,
  fitEvent,
  isPriorityEvent,
  MAX_EVENT_BYTES,
  SEQ_RESERVE,
  type ActorInfo,
  type AuditContext,
  type AuditEvent,
  type AuditEventDraft,
  type ClientInfo,
} from '../../core/audit/event';
import { readDeviceId } from './device';
import { Backoff, FileLock, LockError, lockHolder, type LockToken } from './lock';
import { fsyncDir } from '../fsyncDir';

export const DEFAULT_CAP_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_RETAIN_MS = 7 * 24 * 3600 * 1000;
export const WARN_RATIO = 0.8;
export const CRITICAL_RATIO = 0.95;

export type CapLevel = 'ok' | 'warn' | 'critical' | 'full';
const LEVELS: CapLevel[] = ['ok', 'warn', 'critical', 'full'];

export type AuditErrorCode =
  /** appending would exceed the cap: nothing can be recorded. */
  | 'FULL'
  /** past 95 % of the cap: only deny/ask/system events are accepted and this one is not. */
  | 'CRITICAL'
  /** the lock could not be taken in time. */
  | 'BUSY'
  /** a file-system error (disk full, permissions, read-only). */
  | 'IO'
  /** the spool's tail is not a valid event: appending would extend a broken chain. */
  | 'CORRUPT'
  /** the lock was broken while held (this process stalled past the stale limit). */
  | 'LOCK_LOST'
  /** ackUpTo: the hash does not match the local line at that seq. */
  | 'ACK_MISMATCH'
  /** bad arguments. */
  | 'INVALID';

export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuditError';
  }
}

export interface SpoolOptions {
  /** Disk cap over all segments (default 256 MiB). */
  capBytes?: number;
  /** Roll to a new segment past this size (default 8 MiB). */
  segmentBytes?: number;
  /** Max line size (default 64 KiB); larger drafts are trimmed with fitEvent. */
  maxEventBytes?: number;
  /**
   * Longest an append may take: waiting for the lock or for the holder's batch (default 2500 ms). The hook
   * should pass what is left of its own deadline. ackUpTo/prune wait this long for the lock.
   */
  timeoutMs?: number;
  /** A lock whose holder seems alive is broken after this long (default 10 s). */
  staleLockMs?: number;
}

export interface AppendOptions extends SpoolOptions {
  /** Accept past 95 % of the cap (default: isPriorityEvent: deny/ask decisions and non-decision events). */
  priority?: boolean;
}

export interface AppendResult {
  /** The event id (the draft's). */
  id: string;
  seq: number;
  /** `sha256:<hex>` of the stored line: the next line's prev. */
  hash: string;
  /** Cap level after the append; `warn`/`critical` should be surfaced to the user. */
  level: CapLevel;
  bytesUsed: number;
  capBytes: number;
}

interface Resolved {
  capBytes: number;
  segmentBytes: number;
  maxEventBytes: number;
  timeoutMs: number;
  staleLockMs: number;
}

/**
 * The cap when no option sets one: AGENT_WARDEN_SPOOL_CAP (bytes) when it is a positive integer, else
 * 256 MiB. Read here so the hook, `warden doctor`, `warden audit status` and the extension agree.
 */
export function defaultCapBytes(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.AGENT_WARDEN_SPOOL_CAP);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_CAP_BYTES;
}

function resolve(o: SpoolOptions): Resolved {
  const capBytes = o.capBytes ?? defaultCapBytes();
  const r: Resolved = {
    capBytes,
    // Segments are what pruning removes: keep at least ~16 of them under the cap, whatever its size.
    segmentBytes: o.segmentBytes ?? Math.min(DEFAULT_SEGMENT_BYTES, Math.max(16 * 1024, Math.floor(capBytes / 16))),
    maxEventBytes: o.maxEventBytes ?? MAX_EVENT_BYTES,
    timeoutMs: o.timeoutMs ?? 2500,
    staleLockMs: o.staleLockMs ?? 10_000,
  };
  for (const [k, v] of Object.entries(r)) if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new AuditError('INVALID', `spool option ${k} must be a positive number`);
  if (r.maxEventBytes < 1024) throw new AuditError('INVALID', 'maxEventBytes must be at least 1024');
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// layout

export const auditDir = (stateDir: string): string => path.join(stateDir, 'audit');
const logDir = (stateDir: string): string => path.join(stateDir, 'audit', 'log');
const lockPath = (stateDir: string): string => path.join(stateDir, 'audit', 'lock');
const cursorPath = (stateDir: string): string => path.join(stateDir, 'audit', 'cursor.json');
const anchorPath = (stateDir: string): string => path.join(stateDir, 'audit', 'anchor.json');

const SEG_RE = /^seg-(\d{16})\.ndjson$/;
export const segmentName = (firstSeq: number): string => `seg-${String(firstSeq).padStart(16, '0')}.ndjson`;

export interface SegmentInfo {
  name: string;
  file: string;
  firstSeq: number;
}

/** A directory's entries; none when it does not exist yet. */
function entriesOf(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function listSegments(stateDir: string): SegmentInfo[] {
  const dir = logDir(stateDir);
  const out: SegmentInfo[] = [];
  for (const name of entriesOf(dir)) {
    const m = SEG_RE.exec(name);
    if (m) out.push({ name, file: path.join(dir, name), firstSeq: Number(m[1]) });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

const ensured = new Set<string>();


function ensureDirs(stateDir: string): void {
  const dir = logDir(stateDir);
  if (ensured.has(dir)) return;
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fsyncDir(auditDir(stateDir));
    fsyncDir(stateDir);
  }
  fs.mkdirSync(path.join(stateDir, 'audit', 'inbox'), { recursive: true, mode: 0o700 });
  ensured.add(dir);
}

export interface Anchor {
  seq: number;
  hash: string;
  segment: string;
}

export interface Cursor {
  ackedSeq: number;
  ackedHash: string;
  time: string;
}

function readJson<T>(file: string, check: (v: Record<string, unknown>) => boolean): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AuditError('IO', `cannot read ${file}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new AuditError('CORRUPT', `${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || !check(v as Record<string, unknown>)) throw new AuditError('CORRUPT', `${file} does not have the expected fields`);
  return v as T;
}

const isHash = (h: unknown): boolean => typeof h === 'string' && /^sha256:[0-9a-f]{64}$/.test(h);

export function readAnchor(stateDir: string): Anchor | null {
  return readJson<Anchor>(anchorPath(stateDir), (v) => Number.isSafeInteger(v.seq) && (v.seq as number) > 0 && isHash(v.hash));
}

export function readCursor(stateDir: string): Cursor | null {
  return readJson<Cursor>(cursorPath(stateDir), (v) => Number.isSafeInteger(v.ackedSeq) && (v.ackedSeq as number) >= 0 && isHash(v.ackedHash));
}

/** Write a small file atomically and durably: temp file, fsync, rename, fsync the directory. */
function writeFileDurable(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

// ---------------------------------------------------------------------------------------------------------
// reading lines

/** The last complete line of a file and where complete data ends (bytes after it are a torn line). */
function readTail(fd: number, size: number): { last: Buffer | null; completeEnd: number } {
  if (size === 0) return { last: null, completeEnd: 0 };
  let window = Math.min(size, 8192); // most lines are ~1-2 KiB; grows for longer ones
  for (;;) {
    const start = size - window;
    const buf = Buffer.allocUnsafe(window);
    let got = 0;
    while (got < window) {
      const n = fs.readSync(fd, buf, got, window - got, start + got);
      if (n === 0) break;
      got += n;
    }
    const data = buf.subarray(0, got);
    const lastNl = data.lastIndexOf(0x0a);
    if (lastNl >= 0) {
      const prevNl = lastNl > 0 ? data.lastIndexOf(0x0a, lastNl - 1) : -1;
      if (prevNl >= 0 || start === 0) {
        return { last: Buffer.from(data.subarray(prevNl + 1, lastNl)), completeEnd: start + lastNl + 1 };
      }
    } else if (start === 0) return { last: null, completeEnd: 0 };
    if (start === 0) return { last: null, completeEnd: 0 };
    window = Math.min(size, window * 8);
  }
}

function readSegmentTail(file: string): { last: Buffer | null; completeEnd: number; size: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    return { ...readTail(fd, size), size };
  } finally {
    fs.closeSync(fd);
  }
}

function tipOf(last: Buffer, where: string): ChainTip {
  const head = parseLineHead(last);
  if (!head) throw new AuditError('CORRUPT', `the last line of ${where} is not an audit event; run \`warden audit verify\``);
  return { seq: head.seq, hash: lineHash(last) };
}

/** The chain tip before segment `index` (its predecessor's last line, the anchor, or genesis). */
function tipBefore(stateDir: string, segs: SegmentInfo[], index: number): ChainTip {
  const seg = segs[index]!;
  for (let i = index - 1; i >= 0; i--) {
    const t = readSegmentTail(segs[i]!.file);
    if (t.last) return tipOf(t.last, segs[i]!.name);
  }
  const anchor = readAnchor(stateDir);
  if (anchor && anchor.seq === seg.firstSeq - 1) return { seq: anchor.seq, hash: anchor.hash };
  if (seg.firstSeq === 1) return { seq: 0, hash: GENESIS_PREV };
  throw new AuditError('CORRUPT', `${seg.name} starts at seq ${seg.firstSeq} but nothing before it is known (segments deleted without an anchor); run \`warden audit verify\``);
}

export interface AuditLine {
  /** seq from the line's head (null when the line is malformed). */
  seq: number | null;
  /** `sha256:<hex>` of the raw bytes. */
  hash: string;
  /** The line's bytes without the newline. */
  raw: Buffer;
  segment: string;
  /** Byte offset of the line in its segment. */
  offset: number;
}

export interface IterateOptions {
  /** First seq wanted (default 1). Lines before it are skipped. */
  fromSeq?: number;
  /** Skip straight to this position (a previous read's `next`) when it still holds `fromSeq`. */
  position?: { segment: string; offset: number };
}

/**
 * Every complete line from `fromSeq` on, in storage order, one segment in memory at a time. Lines being
 * written (no newline yet) are not returned. Segments deleted while iterating are skipped.
 */
export function* iterateAuditLines(stateDir: string, opts: IterateOptions = {}): Generator<AuditLine> {
  const fromSeq = opts.fromSeq ?? 1;
  const segs = listSegments(stateDir);
  let startIdx = 0;
  for (let i = 0; i < segs.length; i++) if (segs[i]!.firstSeq <= fromSeq) startIdx = i;
  for (let i = startIdx; i < segs.length; i++) {
    const seg = segs[i]!;
    let buf: Buffer;
    let base = 0;
    try {
      if (opts.position && opts.position.segment === seg.name && i === startIdx && opts.position.offset > 0) {
        const fd = fs.openSync(seg.file, 'r');
        try {
          const size = fs.fstatSync(fd).size;
          base = Math.min(opts.position.offset, size);
          buf = Buffer.allocUnsafe(size - base);
          let got = 0;
          while (got < buf.length) {
            const n = fs.readSync(fd, buf, got, buf.length - got, base + got);
            if (n === 0) break;
            got += n;
          }
          buf = buf.subarray(0, got);
        } finally {
          fs.closeSync(fd);
        }
        const head = parseLineHead(buf.subarray(0, Math.min(buf.length, 128)));
        if (buf.length && (!head || head.seq !== fromSeq)) {
          base = 0; // the hint is stale: read the whole segment
          buf = fs.readFileSync(seg.file);
        }
      } else buf = fs.readFileSync(seg.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break;
      const raw = buf.subarray(pos, nl);
      const head = parseLineHead(raw);
      if (!head || head.seq >= fromSeq) yield { seq: head ? head.seq : null, hash: lineHash(raw), raw, segment: seg.name, offset: base + pos };
      pos = nl + 1;
    }
  }
}

export interface AuditRecord {
  seq: number;
  hash: string;
  /** The stored line (what the forwarder ships and the server re-hashes). */
  line: string;
  /** The parsed event, or null when the line is not valid JSON. */
  event: AuditEvent | null;
  segment: string;
  offset: number;
}

export interface ReadResult {
  records: AuditRecord[];
  /** Where to continue: pass as `fromSeq` / `position` next time. */
  next: { seq: number; segment: string; offset: number } | null;
}

/**
 * Up to `limit` events from `fromSeq` (and at most `maxBytes` of raw lines, at least one), parsed. Malformed
 * lines are skipped here (verifyChain reports them).
 */
export function readAuditEvents(stateDir: string, fromSeq = 1, limit = 500, opts: { maxBytes?: number; position?: { segment: string; offset: number } } = {}): AuditRecord[] {
  return readAudit(stateDir, { fromSeq, limit, ...opts }).records;
}

export function readAudit(stateDir: string, opts: { fromSeq?: number; limit?: number; maxBytes?: number; position?: { segment: string; offset: number } } = {}): ReadResult {
  const limit = opts.limit ?? 500;
  const maxBytes = opts.maxBytes ?? Infinity;
  const records: AuditRecord[] = [];
  let bytes = 0;
  let next: ReadResult['next'] = null;
  const it: IterateOptions = { fromSeq: opts.fromSeq ?? 1 };
  if (opts.position) it.position = opts.position;
  for (const l of iterateAuditLines(stateDir, it)) {
    if (l.seq === null) continue;
    if (records.length >= limit || (records.length > 0 && bytes + l.raw.length + 1 > maxBytes)) break;
    const line = l.raw.toString('utf8');
    let event: AuditEvent | null = null;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      event = null;
    }
    records.push({ seq: l.seq, hash: l.hash, line, event, segment: l.segment, offset: l.offset });
    bytes += l.raw.length + 1;
    next = { seq: l.seq + 1, segment: l.segment, offset: l.offset + l.raw.length + 1 };
  }
  return { records, next };
}

// ---------------------------------------------------------------------------------------------------------
// cap

export function capLevel(bytes: number, capBytes: number): CapLevel {
  if (bytes > capBytes) return 'full';
  if (bytes >= capBytes * CRITICAL_RATIO) return 'critical';
  if (bytes >= capBytes * WARN_RATIO) return 'warn';
  return 'ok';
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

/**
 * Delete sealed segments (never the last one) whose every line is acknowledged, oldest first, and older than
 * `retainMs` (by mtime; ignored when `force`). The anchor is written before each deletion so the chain stays
 * verifiable from the first remaining line. Caller holds the lock.
 */
function pruneLocked(stateDir: string, segs: SegmentInfo[], opts: { retainMs: number; force: boolean; now: number }): string[] {
  const cursor = readCursor(stateDir);
  if (!cursor || cursor.ackedSeq <= 0) return [];
  const removed: string[] = [];
  for (let i = 0; i + 1 < segs.length; i++) {
    const seg = segs[i]!;
    const lastSeq = segs[i + 1]!.firstSeq - 1;
    if (lastSeq > cursor.ackedSeq) break;
    if (!opts.force) {
      let mtime: number;
      try {
        mtime = fs.statSync(seg.file).mtimeMs;
      } catch {
        continue;
      }
      if (opts.now - mtime < opts.retainMs) break;
    }
    const t = readSegmentTail(seg.file);
    if (t.last) {
      const tip = tipOf(t.last, seg.name);
      writeFileDurable(anchorPath(stateDir), JSON.stringify({ seq: tip.seq, hash: tip.hash, segment: seg.name }) + '\n');
    }
    fs.rmSync(seg.file, { force: true });
    removed.push(seg.name);
  }
  if (removed.length) fsyncDir(logDir(stateDir));
  return removed;
}

// ---------------------------------------------------------------------------------------------------------
// append

function toAuditError(e: unknown): AuditError {
  if (e instanceof AuditError) return e;
  if (e instanceof LockError) return new AuditError(e.code === 'BUSY' ? 'BUSY' : e.code === 'LOST' ? 'LOCK_LOST' : 'IO', e.message);
  return new AuditError('IO', `audit spool I/O error: ${(e as Error).message}`);
}

/** Actor/client for the spool's own events: taken from an event being appended when it has them. */
function spoolContext(stateDir: string, body: string | undefined): AuditContext {
  let d: { actor?: ActorInfo; client?: ClientInfo; source?: string } = {};
  try {
    const e = body ? (JSON.parse(body) as { data?: { actor?: ActorInfo; client?: ClientInfo }; source?: string }) : {};
    d = { ...(e.data ?? {}), ...(e.source ? { source: e.source } : {}) };
  } catch {
    d = {};
  }
  let deviceId = d.actor?.deviceId ?? null;
  if (!deviceId) {
    try {
      deviceId = readDeviceId(stateDir);
    } catch {
      deviceId = null;
    }
  }
  deviceId ??= d.source?.replace(/^urn:agentwarden:device:/, '') ?? 'unknown';
  let user = process.env.USER || process.env.LOGNAME || '';
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return {
    actor: d.actor ?? { user, deviceId, host: os.hostname() },
    client: d.client ?? { version: 'unknown', os: `${process.platform}-${process.arch}` },
  };
}

function serialize(draft: AuditEventDraft<unknown>, maxEventBytes: number): { draft: AuditEventDraft<unknown>; body: string } {
  const { seq: _s, prev: _p, ...rest } = draft as AuditEventDraft<unknown> & { seq?: unknown; prev?: unknown };
  void _s;
  void _p;
  let d = rest as AuditEventDraft<unknown>;
  let body = JSON.stringify(d);
  if (Buffer.byteLength(body) + SEQ_RESERVE > maxEventBytes) {
    d = fitEvent(d, maxEventBytes);
    body = JSON.stringify(d);
  }
  return { draft: d, body };
}

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

function validateDraft(e: AuditEventDraft<unknown>): void {
  if (!e || typeof e !== 'object') throw new AuditError('INVALID', 'audit event must be an object');
  if (e.specversion !== '1.0' || typeof e.id !== 'string' || typeof e.type !== 'string' || typeof e.source !== 'string' || typeof e.time !== 'string' || e.data === undefined) {
    throw new AuditError('INVALID', 'audit event needs specversion "1.0", id, source, type, time and data');
  }
  if (!ID_RE.test(e.id)) throw new AuditError('INVALID', `audit event id must be 1-128 of [A-Za-z0-9_-] (a ULID), got ${JSON.stringify(e.id.slice(0, 40))}`);
}

/** One event waiting to be sequenced: the caller's own, or a request another process left in the inbox. */
interface Req {
  /** `<id>.<nonce>` (nonce: creation time base 36 + random): sorts by event id (ULID: time). */
  key: string;
  id: string;
  body: string;
  priority: boolean;
  /** Claimed by a leader that died or lost the lock: its line may already be in the log. */
  leftover: boolean;
}

type Outcome = { ok: true; seq: number; hash: string } | { ok: false; code: AuditErrorCode; message: string };

interface Committed {
  outcomes: Map<string, Outcome>;
  level: CapLevel;
  bytesUsed: number;
}

/** Requests claimed per round and the bytes of their bodies (the batch is one write + one fdatasync). */
const BATCH_REQUESTS = 512;
const BATCH_BYTES = 2 * 1024 * 1024;
/** A leader keeps draining the inbox for at most this long (its own event is already stored by then). */
const LEAD_MS = 25;
/** Longest sleep of a process waiting for its result (bounds the polling load of hundreds of waiters). */
const WAIT_BACKOFF_MS = 5;
/** A waiter re-inspects a live holder (is it gone or stale?) this often; a release it sees at once. */
const RECHECK_MS = 250;
/** After withdrawing failed (a leader claimed the request), wait this much longer for its result. */
const CLAIM_GRACE_MS = 1000;

const inboxDir = (stateDir: string): string => path.join(stateDir, 'audit', 'inbox');

/** Publish a request: `<key>.req` = `P|N` + `\n` + body, appearing whole (temp file + rename). */
function writeRequest(stateDir: string, r: Req): void {
  const dir = inboxDir(stateDir);
  const tmp = path.join(dir, `${r.key}.tmp`);
  fs.writeFileSync(tmp, `${r.priority ? 'P' : 'N'}\n${r.body}`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, `${r.key}.req`));
}

/** Withdraw a request not yet claimed by a leader. False when a leader has it (it will be stored). */
function withdrawRequest(stateDir: string, key: string): boolean {
  try {
    fs.unlinkSync(path.join(inboxDir(stateDir), `${key}.req`));
    return true;
  } catch {
    return false;
  }
}

function takeResult(stateDir: string, key: string): Outcome & { level?: CapLevel; bytesUsed?: number } | null {
  const file = path.join(inboxDir(stateDir), `${key}.res`);
  if (!fs.existsSync(file)) return null; // no exception on the polling path: they cost more than the check
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    fs.unlinkSync(file);
  } catch {
    /* gone already */
  }
  return JSON.parse(text) as Outcome & { level?: CapLevel; bytesUsed?: number };
}

function publishResult(stateDir: string, key: string, out: Outcome, c: Committed): void {
  const dir = inboxDir(stateDir);
  const tmp = path.join(dir, `${key}.rtmp`);
  fs.writeFileSync(tmp, JSON.stringify({ ...out, level: c.level, bytesUsed: c.bytesUsed }), { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, `${key}.res`));
}

/**
 * Claim pending requests: leftovers of a dead leader first, then new ones in key order (rename `.req` →
 * `.claimed`; a request withdrawn meanwhile is skipped). Also removes results and temp files older than a
 * minute (their writer died).
 */
function claimRequests(stateDir: string): Req[] {
  const dir = inboxDir(stateDir);
  const names = entriesOf(dir);
  if (!names.length) return [];
  const out: Req[] = [];
  let bytes = 0;
  const read = (file: string, key: string, leftover: boolean): void => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return;
    }
    const nl = text.indexOf('\n');
    const id = key.slice(0, key.indexOf('.'));
    const body = text.slice(nl + 1);
    out.push({ key, id, body, priority: text[0] === 'P', leftover });
    bytes += body.length;
  };
  const old = Date.now() - 60_000;
  const pending: string[] = [];
  for (const n of names) {
    if (n.endsWith('.claimed')) read(path.join(dir, n), n.slice(0, -8), true);
    else if (n.endsWith('.req')) pending.push(n);
    else if (n.endsWith('.res') || n.endsWith('.tmp') || n.endsWith('.rtmp')) {
      // left by a process that died while waiting; the key's nonce carries its creation time (no stat)
      try {
        if (keyTime(n, dir) < old) fs.unlinkSync(path.join(dir, n));
      } catch {
        /* gone already */
      }
    }
  }
  pending.sort();
  for (const n of pending) {
    if (out.length >= BATCH_REQUESTS || bytes >= BATCH_BYTES) break;
    const key = n.slice(0, -4);
    const claimed = path.join(dir, `${key}.claimed`);
    try {
      fs.renameSync(path.join(dir, n), claimed);
    } catch {
      continue; // withdrawn by its writer
    }
    read(claimed, key, false);
  }
  return out;
}

/** A request key's nonce: `<ms since epoch, base 36>-<random hex>`. */
const newNonce = (): string => `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
const NONCE_RE = /^[^.]+\.([0-9a-z]{8,9})-[0-9a-f]{8}\./;

/** When the request behind an inbox file name was made (from its nonce; mtime for foreign names). */
function keyTime(name: string, dir: string): number {
  const m = NONCE_RE.exec(name);
  return m ? parseInt(m[1]!, 36) : fs.statSync(path.join(dir, name)).mtimeMs;
}

/** id → {seq, hash} of the last `n` lines of the log (to recognise leftovers a dead leader already stored). */
function tailIds(segs: SegmentInfo[], n: number): Map<string, { seq: number; hash: string }> {
  const found = new Map<string, { seq: number; hash: string }>();
  let left = n;
  for (let i = segs.length - 1; i >= 0 && left > 0; i--) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(segs[i]!.file);
    } catch {
      continue;
    }
    let end = buf.lastIndexOf(0x0a);
    while (end >= 0 && left > 0) {
      const start = end > 0 ? buf.lastIndexOf(0x0a, end - 1) + 1 : 0;
      const raw = buf.subarray(start, end);
      const head = parseLineHead(raw);
      const m = /"id":"([^"]{1,128})"/.exec(raw.subarray(0, 400).toString('latin1'));
      if (head && m) found.set(m[1]!, { seq: head.seq, hash: lineHash(raw) });
      left--;
      end = start - 1;
    }
  }
  return found;
}

/**
 * Sequence and store a batch under the lock: find the tail (cutting a torn line), apply the cap per event,
 * roll the segment, write every accepted line with one write() and one fdatasync. Outcomes per request key.
 */
function commit(stateDir: string, reqs: Req[], o: Resolved, lock: FileLock, broken: LockToken | null | undefined): Committed {
  const segs = listSegments(stateDir);
  const outcomes = new Map<string, Outcome>();
  const pre: string[] = [];
  const sctx = (): AuditContext => spoolContext(stateDir, reqs[0]?.body);

  // Leftovers of a leader that died after writing: answer from the log instead of storing twice.
  const leftovers = reqs.filter((r) => r.leftover);
  if (leftovers.length) {
    const ids = tailIds(segs, leftovers.length + 16);
    for (const r of leftovers) {
      const f = ids.get(r.id);
      if (f) outcomes.set(r.key, { ok: true, seq: f.seq, hash: f.hash });
    }
  }
  // A request file is written by appendAuditEvent (a JSON object, no seq/prev, no raw newline); anything
  // else (a damaged file) is refused rather than allowed to break the NDJSON framing or the chain.
  for (const r of reqs) {
    const b = r.body;
    if (!outcomes.has(r.key) && (b.length < 2 || b[0] !== '{' || b[b.length - 1] !== '}' || b.includes('\n') || b.startsWith('{"seq":'))) {
      outcomes.set(r.key, { ok: false, code: 'INVALID', message: 'the queued audit event is damaged' });
    }
  }
  const todo = reqs.filter((r) => !outcomes.has(r.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  let cur = segs[segs.length - 1];
  let fd: number | undefined;
  let size = 0;
  let tip: ChainTip;
  try {
    if (!cur) {
      const anchor = readAnchor(stateDir);
      tip = anchor ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: GENESIS_PREV };
    } else {
      fd = fs.openSync(cur.file, 'a+', 0o600);
      size = fs.fstatSync(fd).size;
      const t = readTail(fd, size);
      if (t.completeEnd < size) {
        // A writer died mid-line (its caller never got an answer): cut the torn bytes, and say so.
        const torn = size - t.completeEnd;
        fs.ftruncateSync(fd, t.completeEnd);
        fs.fdatasyncSync(fd);
        size = t.completeEnd;
        pre.push(JSON.stringify(buildSpoolEvent('recovered', { segment: cur.name, offset: t.completeEnd, tornBytes: torn }, sctx())));
      }
      tip = t.last ? tipOf(t.last, cur.name) : tipBefore(stateDir, segs, segs.length - 1);
      if (size === 0 && cur.firstSeq !== tip.seq + 1) {
        throw new AuditError('CORRUPT', `${cur.name} is empty but the chain before it ends at seq ${tip.seq}; run \`warden audit verify\``);
      }
    }
    if (broken !== undefined) {
      pre.push(JSON.stringify(buildSpoolEvent('lock-broken', { pid: broken?.pid ?? null, host: broken?.host ?? null, heldMs: broken ? Date.now() - broken.created : null }, sctx())));
    }

    // Cap: sealed segments' sizes + the current one.
    let sealed = 0;
    for (let i = 0; i + 1 < segs.length; i++) sealed += sizeOf(segs[i]!.file);
    let used = sealed + size;
    const estimate = [...pre, ...todo.map((r) => r.body)].reduce((n, b) => n + Buffer.byteLength(b) + 100, 0);
    if (capLevel(used + estimate, o.capBytes) !== 'ok' && segs.length > 1) {
      // Near the cap: acknowledged segments go now, whatever their age.
      const removed = pruneLocked(stateDir, segs, { retainMs: 0, force: true, now: Date.now() });
      if (removed.length) {
        sealed = 0;
        for (let i = 0; i + 1 < segs.length; i++) if (!removed.includes(segs[i]!.name)) sealed += sizeOf(segs[i]!.file);
        used = sealed + size;
      }
    }

    // Sequence and chain, deciding the cap per event.
    interface Line {
      seq: number;
      hash: string;
      bytes: number;
      text: string;
    }
    const lines: string[] = [];
    let seq = tip.seq;
    let prev = tip.hash;
    const next = (body: string): Line => {
      const text = sequenceLine(body, seq + 1, prev);
      return { seq: seq + 1, hash: lineHash(text), bytes: Buffer.byteLength(text) + 1, text };
    };
    const accept = (x: Line): void => {
      const before = capLevel(used, o.capBytes);
      lines.push(x.text);
      seq = x.seq;
      prev = x.hash;
      used += x.bytes;
      const reached = capLevel(used, o.capBytes);
      if (LEVELS.indexOf(reached) > LEVELS.indexOf(before) && (reached === 'warn' || reached === 'critical')) {
        // Crossing 80 % / 95 %: say so in the chain, once per crossing, if it still fits.
        const ov = next(JSON.stringify(buildSpoolEvent('overflow', { level: reached, bytesUsed: used, capBytes: o.capBytes }, sctx())));
        if (used + ov.bytes <= o.capBytes) accept(ov);
      }
    };
    for (const b of pre) {
      const x = next(b);
      if (used + x.bytes <= o.capBytes) accept(x);
    }
    for (const r of todo) {
      const x = next(r.body);
      if (used + x.bytes > o.capBytes) {
        outcomes.set(r.key, { ok: false, code: 'FULL', message: `audit spool full: ${used} of ${o.capBytes} bytes used; events cannot be recorded until the forwarder drains it` });
      } else if (!r.priority && used + x.bytes >= o.capBytes * CRITICAL_RATIO) {
        outcomes.set(r.key, { ok: false, code: 'CRITICAL', message: `audit spool above ${CRITICAL_RATIO * 100}% of its ${o.capBytes}-byte cap: only deny/ask and system events are recorded` });
      } else {
        accept(x);
        outcomes.set(r.key, { ok: true, seq: x.seq, hash: x.hash });
      }
    }
    if (!lines.length) return { outcomes, level: capLevel(used, o.capBytes), bytesUsed: used };
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');

    // Roll: a fresh segment named by its first seq.
    let created = false;
    if (!cur || (size > 0 && size + buf.length > o.segmentBytes)) {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      const name = segmentName(tip.seq + 1);
      cur = { name, file: path.join(logDir(stateDir), name), firstSeq: tip.seq + 1 };
      try {
        fd = fs.openSync(cur.file, 'ax', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AuditError('CORRUPT', `${cur.name} already exists but is not the last segment`);
        throw e;
      }
      size = 0;
      created = true;
    }

    lock.assertHeld();
    try {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd!, buf, off, buf.length - off);
      fs.fdatasyncSync(fd!);
    } catch (e) {
      try {
        fs.ftruncateSync(fd!, size);
        if (created) fs.rmSync(cur.file, { force: true });
      } catch {
        /* the next writer cuts a torn line */
      }
      throw new AuditError('IO', `cannot write the audit spool (${cur.name}): ${(e as Error).message}`);
    }
    if (created) fsyncDir(logDir(stateDir));
    return { outcomes, level: capLevel(used, o.capBytes), bytesUsed: used };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Lead under the lock: store `own` (if given) together with whatever other processes left in the inbox, in
 * rounds of one write + one fdatasync each, for up to LEAD_MS. Publishes the other requests' results.
 * Returns the outcome for `ownKey` when it was part of a batch (own, or claimed from the inbox).
 */
function lead(stateDir: string, o: Resolved, lock: FileLock, broken: LockToken | null | undefined, own: Req | null, ownKey: string): (Outcome & { level: CapLevel; bytesUsed: number }) | null {
  const started = Date.now();
  let mine: (Outcome & { level: CapLevel; bytesUsed: number }) | null = null;
  for (let round = 0; ; round++) {
    const reqs = claimRequests(stateDir);
    if (round === 0 && own) reqs.push(own);
    if (!reqs.length && (round > 0 || !broken)) break;
    let c: Committed;
    try {
      c = commit(stateDir, reqs, o, lock, round === 0 ? broken : undefined);
    } catch (e) {
      const err = toAuditError(e);
      // Tell the waiting processes (unless the lock was lost: the new holder takes their requests over).
      if (err.code !== 'LOCK_LOST') {
        for (const r of reqs) {
          if (r === own || r.key === ownKey) continue;
          try {
            publishResult(stateDir, r.key, { ok: false, code: err.code, message: err.message }, { outcomes: new Map(), level: 'ok', bytesUsed: 0 });
            fs.rmSync(path.join(inboxDir(stateDir), `${r.key}.claimed`), { force: true });
          } catch {
            /* they time out */
          }
        }
      }
      throw err;
    }
    for (const r of reqs) {
      const out = c.outcomes.get(r.key)!;
      if (r.key === ownKey) mine = { ...out, level: c.level, bytesUsed: c.bytesUsed };
      if (r === own) continue;
      if (r.key !== ownKey) publishResult(stateDir, r.key, out, c);
      fs.rmSync(path.join(inboxDir(stateDir), `${r.key}.claimed`), { force: true });
    }
    if (Date.now() - started > LEAD_MS || round >= 16) break;
  }
  return mine;
}

function finish(out: Outcome & { level?: CapLevel; bytesUsed?: number }, id: string, o: Resolved): AppendResult {
  if (!out.ok) throw new AuditError(out.code, out.message);
  const bytesUsed = out.bytesUsed ?? 0;
  return { id, seq: out.seq, hash: out.hash, level: out.level ?? capLevel(bytesUsed, o.capBytes), bytesUsed, capBytes: o.capBytes };
}

/**
 * Append one event durably. Returns after its line is written and fdatasync'ed. Throws AuditError:
 * FULL (cap reached), CRITICAL (past 95 % and not a priority event), BUSY (not stored within timeoutMs),
 * IO (any file-system error, e.g. disk full or read-only), CORRUPT (the spool's tail is unreadable),
 * LOCK_LOST, INVALID. On any throw the hook must deny the call ("audit unavailable").
 *
 * Concurrency: when the lock is free the caller takes it and stores its event (plus anything waiting in the
 * inbox). When it is held, the caller leaves its event in the inbox and waits; the current holder stores
 * every waiting event in its next batch (group commit: one fdatasync for many processes) and hands each
 * process its seq/hash; a waiter that finds the lock free becomes the next holder.
 */
export function appendAuditEvent(stateDir: string, event: AuditEventDraft<unknown>, opts: AppendOptions = {}): AppendResult {
  const o = resolve(opts);
  const start = Date.now();
  validateDraft(event);
  let draft: AuditEventDraft<unknown>;
  let body: string;
  try {
    ({ draft, body } = serialize(event, o.maxEventBytes));
  } catch (e) {
    throw new AuditError('INVALID', `audit event cannot be serialised: ${(e as Error).message}`);
  }
  const own: Req = { key: `${draft.id}.${newNonce()}`, id: draft.id, body, priority: opts.priority ?? isPriorityEvent(draft), leftover: false };
  const lockDir = lockPath(stateDir);
  let broken: LockToken | null | undefined;
  const lockOpts = { staleMs: o.staleLockMs, onBroken: (h: LockToken | null) => (broken = h) };
  const runLead = (lock: FileLock, withOwn: boolean): ReturnType<typeof lead> => {
    try {
      return lead(stateDir, o, lock, broken, withOwn ? own : null, own.key);
    } finally {
      lock.release();
      broken = undefined;
    }
  };
  try {
    ensureDirs(stateDir);
    // Fast path: the lock is free.
    let r = FileLock.tryAcquire(lockDir, lockOpts);
    if (r.lock) {
      const out = runLead(r.lock, true);
      if (!out) throw new AuditError('IO', 'the event was not stored (internal error)');
      return finish(out, draft.id, o);
    }
    // Contended: leave the event for the holder's next batch, and wait for its result (or lead ourselves).
    writeRequest(stateDir, own);
    const wait = new Backoff(WAIT_BACKOFF_MS, 0.2); // a batch takes at least one fdatasync
    let recheckAt = Date.now() + RECHECK_MS;
    for (;;) {
      const res = takeResult(stateDir, own.key);
      if (res) return finish(res, draft.id, o);
      const now = Date.now();
      if (now - start >= o.timeoutMs) {
        if (withdrawRequest(stateDir, own.key)) {
          const h = r.holder;
          throw new AuditError('BUSY', `the audit spool did not store the event within ${o.timeoutMs} ms (lock held by ${h ? `pid ${h.pid} on ${h.host}` : 'an unknown holder'})`);
        }
        if (now - start >= o.timeoutMs + CLAIM_GRACE_MS) {
          throw new AuditError('BUSY', `the process that took this event for storing did not finish within ${o.timeoutMs + CLAIM_GRACE_MS} ms; it may still be stored`);
        }
      }
      if (!r.lock && (now >= recheckAt || !fs.existsSync(r.heldFile))) {
        r = FileLock.tryAcquire(lockDir, lockOpts);
        recheckAt = Date.now() + RECHECK_MS;
        if (r.lock) {
          const out = runLead(r.lock, false);
          r = { heldFile: path.join(lockDir, '.none'), holder: null };
          if (out) return finish(out, draft.id, o);
          continue; // our request was not in the batches (claimed by someone else?): keep waiting
        }
      }
      wait.sleep(Math.max(0, o.timeoutMs + CLAIM_GRACE_MS - (Date.now() - start)));
    }
  } catch (e) {
    throw toAuditError(e);
  }
}

// ---------------------------------------------------------------------------------------------------------
// verify

export interface VerifyOk {
  ok: true;
  /** Lines checked. */
  events: number;
  firstSeq: number | null;
  lastSeq: number;
  lastHash: string;
  /** Bytes of an unfinished line at the very end (cut at the next append; not tampering). */
  tornTailBytes: number;
  /** The chain starts after deleted, acknowledged segments (verified from the anchor). */
  anchoredAt: number | null;
}

export interface VerifyBreak {
  ok: false;
  /** Lines verified before the break. */
  events: number;
  break: ChainBreak & { segment: string; offset: number; line: number };
}

export type VerifyResult = VerifyOk | VerifyBreak;

/**
 * Check the whole spool: segment names agree with their first seq, seq is contiguous from 1 (or from the
 * anchor left by pruning), every prev is the hash of the line before, every line is a complete event, and
 * the acknowledged cursor's hash matches the line at its seq. Returns the first break.
 *
 * An edit of the newest line cannot be seen locally (nothing chains to it yet); the server's receipts cover
 * it once forwarded.
 */
export function verifyChain(stateDir: string): VerifyResult {
  const segs = listSegments(stateDir);
  const anchor = readAnchor(stateDir);
  const cursor = readCursor(stateDir);
  // Pass 1: every seq in storage order, to classify a seq break (gap vs reorder vs duplicate).
  const seqs: number[] = [];
  for (const l of iterateAuditLines(stateDir, { fromSeq: 0 })) seqs.push(l.seq ?? -1);

  let tip: ChainTip;
  let skipPrev = false;
  let anchoredAt: number | null = null;
  const first = segs[0];
  if (!first || first.firstSeq === 1) tip = { seq: 0, hash: GENESIS_PREV };
  else if (anchor && anchor.seq === first.firstSeq - 1) {
    tip = { seq: anchor.seq, hash: anchor.hash };
    anchoredAt = anchor.seq;
  } else if (anchor && anchor.seq >= first.firstSeq) {
    // Pruning was interrupted between writing the anchor and deleting: start at the first line as is and
    // check the anchor when its seq passes.
    tip = { seq: first.firstSeq - 1, hash: GENESIS_PREV };
    skipPrev = true;
  } else {
    const expected = anchor ? anchor.seq + 1 : 1;
    const brk = classifySeqBreak(expected, first.firstSeq, seqs, 0);
    return { ok: false, events: 0, break: { ...brk, kind: 'seq-gap', message: `the spool starts at seq ${first.firstSeq} but seq ${expected} is expected${anchor ? ` after the anchor (${anchor.segment})` : ''}: segments were deleted`, segment: first.name, offset: 0, line: 1 } };
  }

  let events = 0;
  let index = 0;
  let tornTailBytes = 0;
  let firstSeq: number | null = null;
  for (let s = 0; s < segs.length; s++) {
    const seg = segs[s]!;
    let buf: Buffer;
    try {
      buf = fs.readFileSync(seg.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    let pos = 0;
    let lineNo = 0;
    const brk = (b: ChainBreak, offset: number): VerifyBreak => ({ ok: false, events, break: { ...b, segment: seg.name, offset, line: lineNo } });
    while (pos < buf.length) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) {
        if (s === segs.length - 1) tornTailBytes = buf.length - pos;
        else return brk({ kind: 'malformed', seq: null, expectedSeq: tip.seq + 1, message: `${seg.name} ends with an unfinished line but is not the last segment` }, pos);
        break;
      }
      lineNo++;
      const raw = buf.subarray(pos, nl);
      if (lineNo === 1) {
        const head = parseLineHead(raw);
        if (head && head.seq !== seg.firstSeq) {
          return brk({ kind: 'malformed', seq: head.seq, expectedSeq: seg.firstSeq, message: `${seg.name} is named for seq ${seg.firstSeq} but starts at seq ${head.seq}` }, pos);
        }
      }
      const r = checkLine(tip, raw, { skipPrev });
      if (r.brk) {
        const b = r.brk.kind === 'seq-gap' || r.brk.kind === 'reordered' ? classifySeqBreak(r.brk.expectedSeq, r.brk.seq!, seqs, index) : r.brk;
        return brk(b, pos);
      }
      skipPrev = false;
      tip = { seq: r.head!.seq, hash: r.hash };
      if (firstSeq === null) firstSeq = tip.seq;
      if (anchor && anchor.seq === tip.seq && anchor.hash !== tip.hash) {
        return brk({ kind: 'anchor-mismatch', seq: tip.seq, expectedSeq: tip.seq, message: `seq ${tip.seq} does not match the hash recorded when older segments were deleted` }, pos);
      }
      if (cursor && cursor.ackedSeq === tip.seq && cursor.ackedHash !== tip.hash) {
        return brk({ kind: 'anchor-mismatch', seq: tip.seq, expectedSeq: tip.seq, message: `seq ${tip.seq} does not match the hash the server acknowledged` }, pos);
      }
      events++;
      index++;
      pos = nl + 1;
    }
  }
  return { ok: true, events, firstSeq, lastSeq: tip.seq, lastHash: tip.hash, tornTailBytes, anchoredAt };
}

// ---------------------------------------------------------------------------------------------------------
// status, acknowledgement, pruning

export interface SpoolStatus {
  dir: string;
  deviceId: string | null;
  segments: { name: string; firstSeq: number; bytes: number }[];
  /** seq of the newest event (0 when empty). */
  lastSeq: number;
  lastHash: string;
  ackedSeq: number;
  ackedHash: string | null;
  /** Events not yet acknowledged by the server. */
  backlog: number;
  bytesUsed: number;
  capBytes: number;
  usedRatio: number;
  level: CapLevel;
  tornTailBytes: number;
  /** Events waiting in the inbox for the lock holder (normally 0; a few while hooks run). */
  pending: number;
  /** The writer lock, when some process holds it now. */
  lock: { pid: number | null; host: string | null; ageMs: number } | null;
}

/** A snapshot without taking the lock (cheap enough for a status bar). */
export function spoolStatus(stateDir: string, opts: SpoolOptions = {}): SpoolStatus {
  const o = resolve(opts);
  const segs = listSegments(stateDir);
  const segments = segs.map((s) => ({ name: s.name, firstSeq: s.firstSeq, bytes: sizeOf(s.file) }));
  const bytesUsed = segments.reduce((n, s) => n + s.bytes, 0);
  let lastSeq = 0;
  let lastHash = GENESIS_PREV;
  let tornTailBytes = 0;
  for (let i = segs.length - 1; i >= 0; i--) {
    const t = readSegmentTail(segs[i]!.file);
    if (i === segs.length - 1) tornTailBytes = t.size - t.completeEnd;
    if (t.last) {
      const tip = tipOf(t.last, segs[i]!.name);
      lastSeq = tip.seq;
      lastHash = tip.hash;
      break;
    }
  }
  if (lastSeq === 0) {
    const anchor = readAnchor(stateDir);
    if (anchor) {
      lastSeq = anchor.seq;
      lastHash = anchor.hash;
    }
  }
  const cursor = readCursor(stateDir);
  const h = lockHolder(lockPath(stateDir));
  const lock: SpoolStatus['lock'] = h ? { pid: h.token?.pid ?? null, host: h.token?.host ?? null, ageMs: h.ageMs } : null;
  let deviceId: string | null = null;
  try {
    deviceId = readDeviceId(stateDir);
  } catch {
    deviceId = null;
  }
  const ackedSeq = cursor?.ackedSeq ?? 0;
  let pending = 0;
  try {
    for (const n of fs.readdirSync(inboxDir(stateDir))) if (n.endsWith('.req') || n.endsWith('.claimed')) pending++;
  } catch {
    pending = 0;
  }
  return {
    dir: auditDir(stateDir),
    deviceId,
    segments,
    lastSeq,
    lastHash,
    ackedSeq,
    ackedHash: cursor?.ackedHash ?? null,
    backlog: Math.max(0, lastSeq - ackedSeq),
    bytesUsed,
    capBytes: o.capBytes,
    usedRatio: bytesUsed / o.capBytes,
    level: capLevel(bytesUsed, o.capBytes),
    tornTailBytes,
    pending,
    lock,
  };
}

function findLine(stateDir: string, seq: number): AuditLine | null {
  for (const l of iterateAuditLines(stateDir, { fromSeq: seq })) {
    if (l.seq === seq) return l;
    if (l.seq !== null && l.seq > seq) return null;
  }
  return null;
}

export interface AckResult {
  ackedSeq: number;
  ackedHash: string;
  /** Segments deleted because every line in them is acknowledged (and older than the retention). */
  removed: string[];
}

/**
 * Record that the server has every event up to `seq`, whose line hashes to `hash` (the server's ackSeq /
 * ackHash). Refuses a hash that differs from the local line (ACK_MISMATCH: the server holds another chain).
 * An ack at or below the current cursor changes nothing. Then deletes fully acknowledged sealed segments
 * older than `retainMs` (default 7 days; 0 = at once).
 */
export function ackUpTo(stateDir: string, seq: number, hash: string, opts: SpoolOptions & { retainMs?: number; now?: number } = {}): AckResult {
  const o = resolve(opts);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new AuditError('INVALID', `ack seq must be a positive integer, got ${seq}`);
  if (!isHash(hash)) throw new AuditError('INVALID', `ack hash must be sha256:<64 hex>, got ${JSON.stringify(hash)}`);
  let lock: FileLock | undefined;
  try {
    ensureDirs(stateDir);
    lock = FileLock.acquire(lockPath(stateDir), { timeoutMs: o.timeoutMs, staleMs: o.staleLockMs });
    let cursor = readCursor(stateDir);
    if (!cursor || seq > cursor.ackedSeq) {
      const line = findLine(stateDir, seq);
      if (!line) throw new AuditError('INVALID', `seq ${seq} is not in the spool`);
      if (line.hash !== hash) throw new AuditError('ACK_MISMATCH', `the server acknowledged seq ${seq} with ${hash} but the local line hashes to ${line.hash}`);
      cursor = { ackedSeq: seq, ackedHash: hash, time: new Date(opts.now ?? Date.now()).toISOString() };
      writeFileDurable(cursorPath(stateDir), JSON.stringify(cursor) + '\n');
    }
    const removed = pruneLocked(stateDir, listSegments(stateDir), { retainMs: opts.retainMs ?? DEFAULT_RETAIN_MS, force: false, now: opts.now ?? Date.now() });
    return { ackedSeq: cursor.ackedSeq, ackedHash: cursor.ackedHash, removed };
  } catch (e) {
    throw toAuditError(e);
  } finally {
    lock?.release();
  }
}

/**
 * Retention for a device with no server to forward to (never enrolled): without it the spool only grows,
 * and past 95 % of the cap every allowed call is denied. Once the spool is past the warn level, the oldest
 * sealed segments are marked delivered locally and deleted until it is back under `targetRatio` of the cap
 * (the chain still verifies from the anchor), and a `local-retention` event in the chain says what went.
 * Returns the removed segment names. Does nothing below the warn level or when nothing can go.
 */
export function applyLocalRetention(stateDir: string, opts: SpoolOptions & { targetRatio?: number } = {}): string[] {
  const o = resolve(opts);
  const target = o.capBytes * (opts.targetRatio ?? 0.6);
  let removed: string[] = [];
  let dropped = { fromSeq: 0, toSeq: 0, bytes: 0 };
  let lock: FileLock | undefined;
  try {
    lock = FileLock.acquire(lockPath(stateDir), { timeoutMs: o.timeoutMs, staleMs: o.staleLockMs });
    const segs = listSegments(stateDir);
    const sizes = segs.map((s) => sizeOf(s.file));
    let used = sizes.reduce((a, b) => a + b, 0);
    if (capLevel(used, o.capBytes) === 'ok') return [];
    // The oldest sealed segments (never the current one) until the rest fits under the target.
    let upTo = -1;
    for (let i = 0; i + 1 < segs.length && used > target; i++) {
      used -= sizes[i]!;
      upTo = i;
    }
    if (upTo < 0) return [];
    const lastSeq = segs[upTo + 1]!.firstSeq - 1;
    const line = findLine(stateDir, lastSeq);
    if (!line?.hash) return [];
    const cursor = readCursor(stateDir);
    if (!cursor || cursor.ackedSeq < lastSeq) writeFileDurable(cursorPath(stateDir), JSON.stringify({ ackedSeq: lastSeq, ackedHash: line.hash, time: new Date().toISOString(), local: true }) + '\n');
    dropped = { fromSeq: segs[0]!.firstSeq, toSeq: lastSeq, bytes: sizes.slice(0, upTo + 1).reduce((a, b) => a + b, 0) };
    removed = pruneLocked(stateDir, segs, { retainMs: 0, force: true, now: Date.now() });
  } catch (e) {
    throw toAuditError(e);
  } finally {
    lock?.release();
  }
  if (removed.length) {
    appendAuditEvent(stateDir, buildSpoolEvent('local-retention', { segments: removed.join(','), ...dropped, reason: 'no server to forward to: the oldest records were dropped to stay under the cap' }, spoolContext(stateDir, undefined)), { ...opts, priority: true });
  }
  return removed;
}

/** Delete fully acknowledged sealed segments older than `retainMs` (default 7 days). */
export function pruneAcknowledged(stateDir: string, opts: SpoolOptions & { retainMs?: number; now?: number } = {}): string[] {
  const o = resolve(opts);
  let lock: FileLock | undefined;
  try {
    lock = FileLock.acquire(lockPath(stateDir), { timeoutMs: o.timeoutMs, staleMs: o.staleLockMs });
    return pruneLocked(stateDir, listSegments(stateDir), { retainMs: opts.retainMs ?? DEFAULT_RETAIN_MS, force: false, now: opts.now ?? Date.now() });
  } catch (e) {
    throw toAuditError(e);
  } finally {
    lock?.release();
  }
}
