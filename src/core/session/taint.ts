/**
 * Session taint: after the agent read untrusted content (prompt-injection signals, a fetch from a host the
 * policy does not trust, optionally a credential), its sensitive actions in the same session are suspect. The
 * hook appends one line per tainting read to `<stateDir>/sessions/<sha256(session_id)>.taint.ndjson`
 * (src/runtime/sessionTaint.ts); PreToolUse reads that one small file (none exists for an untainted session)
 * and turns its lines into TaintFacts the policy's `taint` condition matches.
 *
 * Pure: parsing, validation and expiry only.
 */
import type { TaintFact, TaintKind } from '../types';

export const TAINT_KINDS: readonly TaintKind[] = ['injection', 'untrusted-fetch', 'secret-read'];

/** One line of a session's taint file. */
export interface TaintRecord {
  v: 1;
  kind: TaintKind;
  /** ISO time. */
  at: string;
  tool: string;
  /** URL, path or server the content came from (scrubbed, ≤ 512 chars). */
  source: string;
  /** The PostToolUse audit event that recorded the finding. */
  eventId?: string;
  /** The tool_use id of the call whose output tainted the session. */
  useId?: string;
  /** Signal kinds (hidden-comment, role-marker…), or the host for untrusted-fetch. */
  signals: string[];
  severity?: string;
}

const isStr = (v: unknown): v is string => typeof v === 'string';

/** A record from one parsed JSON line, or undefined when the line is not one (ignored, never trusted partially). */
export function taintRecordOf(v: unknown): TaintRecord | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o.v !== 1 || !TAINT_KINDS.includes(o.kind as TaintKind) || !isStr(o.at) || !isStr(o.tool) || !isStr(o.source)) return undefined;
  if (!Array.isArray(o.signals) || !o.signals.every(isStr)) return undefined;
  const r: TaintRecord = { v: 1, kind: o.kind as TaintKind, at: o.at, tool: o.tool.slice(0, 256), source: o.source.slice(0, 512), signals: (o.signals as string[]).slice(0, 16).map((s) => s.slice(0, 128)) };
  if (isStr(o.eventId)) r.eventId = o.eventId.slice(0, 64);
  if (isStr(o.useId)) r.useId = o.useId.slice(0, 128);
  if (isStr(o.severity)) r.severity = o.severity.slice(0, 16);
  return r;
}

/** Parse a taint file (NDJSON). A torn or malformed line is skipped; a valid line always counts. */
export function parseTaintLines(text: string): TaintRecord[] {
  const out: TaintRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    const r = taintRecordOf(v);
    if (r) out.push(r);
  }
  return out;
}

/**
 * The taint in force at `now`: records younger than `expiresMs` (all when undefined), newest first, at most
 * `max` (the first record is always kept: it says when the session became tainted).
 */
export function activeTaint(records: readonly TaintRecord[], now: number, expiresMs?: number, max = 8): TaintFact[] {
  const live = records.filter((r) => {
    if (expiresMs === undefined) return true;
    const t = Date.parse(r.at);
    return Number.isFinite(t) && now - t < expiresMs;
  });
  const ordered = live.length > max ? [live[0]!, ...live.slice(-(max - 1))] : live;
  return ordered
    .map((r): TaintFact => {
      const f: TaintFact = { kind: r.kind, tool: r.tool, source: r.source, at: r.at, signals: r.signals };
      if (r.eventId) f.eventId = r.eventId;
      if (r.severity) f.severity = r.severity;
      return f;
    })
    .reverse();
}
