/**
 * Redaction for audit events: a secret scrubber for free text (commands, outputs, prompts, fact texts) and the
 * tool-input redactor (file contents erased to sha256 + byte count, strings capped, policy erase pointers).
 *
 * Pure: no I/O. Runs on the hook's critical path, so every pattern is linear and inputs are bounded before
 * they are scanned (callers scrub a window slightly larger than what they keep, never megabytes).
 */
import { createHash } from 'node:crypto';

import { scrubSecrets } from '../scan/secrets';

// The secret rules live in src/core/scan/secrets.ts: one detector for the audit scrubber, the PreToolUse
// secret facts and the PostToolUse output scan.
export { isSecretKey, REDACTED, scrubSecrets, type ScrubResult } from '../scan/secrets';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The longest prefix of `s` that is at most `maxBytes` UTF-8 bytes, never splitting a character (a surrogate
 * pair stays whole or goes).
 */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (s.length <= maxBytes / 3) return s; // every UTF-16 unit is at most 3 UTF-8 bytes
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = Math.max(0, maxBytes);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back up to a character boundary
  return buf.subarray(0, end).toString('utf8');
}

/** How much beyond the kept length is scrubbed, so a secret cut by the limit is still recognised whole. */
const SCRUB_MARGIN = 1024;

export interface ClippedText {
  text: string;
  /** The original was longer than the limit (after scrubbing). */
  truncated: boolean;
  kinds: string[];
}

/**
 * Scrub then keep at most `maxBytes` UTF-8 bytes of `s`. Only the first `maxBytes + 1 KiB` characters are
 * scanned: a secret that straddles the cut is redacted before the cut is made. A private key block that
 * begins before the cut and ends after the scanned window is redacted to the end of the window.
 */
export function scrubAndClip(s: string, maxBytes: number): ClippedText {
  const window = s.length > maxBytes + SCRUB_MARGIN ? s.slice(0, maxBytes + SCRUB_MARGIN) : s;
  const { text, kinds } = scrubSecrets(window);
  const kept = utf8Prefix(text, maxBytes);
  const truncated = kept.length < text.length || window.length < s.length;
  return { text: kept, truncated, kinds };
}

/** Limits for the tool-input redactor. */
export interface InputLimits {
  /** Bytes kept of a Bash command (default 4 KiB). */
  commandBytes: number;
  /** Bytes kept of any other string (default 4 KiB). */
  stringBytes: number;
  /** Items kept of an array, keys of an object (default 100). */
  items: number;
  /** Nesting kept (default 16). */
  depth: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { commandBytes: 4096, stringBytes: 4096, items: 100, depth: 16 };

/** Object keys whose values are file contents or edit text: never stored, only hashed (any depth, any tool). */
const CONTENT_KEYS = new Set(['content', 'contents', 'file_text', 'old_string', 'new_string', 'old_str', 'new_str', 'new_source', 'old_source', 'source_code']);
/** Tools whose `content` keys are not file contents (TodoWrite todos are the agent's task list). */
const CONTENT_KEYS_EXEMPT = new Set(['TodoWrite']);

/** What an erased value is replaced by: its hash and size, never the value. */
export interface ErasedValue {
  erased: true;
  sha256: string;
  bytes: number;
}

export function erasedValue(v: unknown): ErasedValue {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? 'null';
  return { erased: true, sha256: sha256Hex(s), bytes: utf8Bytes(s) };
}

export interface RedactedInput {
  /** The input as it may be stored. */
  input: unknown;
  /** JSON pointers (RFC 6901, relative to tool_input) of values replaced by `{erased, sha256, bytes}`. */
  erased: string[];
  /** Some string, array, object or nesting level was cut. */
  truncated: boolean;
  /** Kinds of secrets the scrubber replaced. */
  redactions: string[];
}

const escapePointer = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** Does a pointer pattern (`/edits/*\/old_string`, `*` = any one segment) match the pointer segments? */
function pointerMatches(pattern: string[], segs: string[]): boolean {
  if (pattern.length !== segs.length) return false;
  for (let i = 0; i < segs.length; i++) if (pattern[i] !== '*' && pattern[i] !== segs[i]) return false;
  return true;
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new Error(`erase pointer ${JSON.stringify(p)} must start with "/"`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Redact a tool input for the audit log:
 * - file contents and edit text (`content`, `old_string`, `new_string`, `new_source`, … at any depth, except
 *   TodoWrite) and every value at an `erase` pointer become `{erased: true, sha256, bytes}`;
 * - every string is scrubbed of secrets; Bash `command` keeps 4 KiB, other strings 4 KiB;
 * - arrays/objects keep 100 entries, nesting 16 levels.
 */
export function redactToolInput(tool: string, input: unknown, erase: readonly string[] = [], limits: InputLimits = DEFAULT_INPUT_LIMITS): RedactedInput {
  const patterns = erase.map(parsePointer);
  const erased: string[] = [];
  const kinds = new Set<string>();
  let truncated = false;
  const contentKeys = !CONTENT_KEYS_EXEMPT.has(tool);
  const isBash = tool === 'Bash';

  const walk = (v: unknown, segs: string[], key: string | undefined): unknown => {
    if (segs.length && patterns.some((p) => pointerMatches(p, segs))) {
      erased.push('/' + segs.map(escapePointer).join('/'));
      return erasedValue(v);
    }
    if (contentKeys && key !== undefined && CONTENT_KEYS.has(key) && v !== null && v !== undefined) {
      erased.push('/' + segs.map(escapePointer).join('/'));
      return erasedValue(v);
    }
    if (typeof v === 'string') {
      const max = isBash && segs.length === 1 && key === 'command' ? limits.commandBytes : limits.stringBytes;
      const c = scrubAndClip(v, max);
      if (c.truncated) truncated = true;
      for (const k of c.kinds) kinds.add(k);
      return c.text;
    }
    if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? String(v) : v;
    if (segs.length >= limits.depth) {
      truncated = true;
      return erasedValue(v);
    }
    if (Array.isArray(v)) {
      if (v.length > limits.items) truncated = true;
      return v.slice(0, limits.items).map((x, i) => walk(x, [...segs, String(i)], undefined));
    }
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (n++ >= limits.items) {
        truncated = true;
        break;
      }
      const safeKey = scrubSecrets(utf8Prefix(k, 256)).text;
      out[safeKey] = walk(x, [...segs, k], k);
    }
    return out;
  };

  const redacted = input === undefined ? null : walk(input, [], undefined);
  return { input: redacted, erased, truncated, redactions: [...kinds] };
}
