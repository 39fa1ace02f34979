/**
 * Scanning a tool's output (PostToolUse `tool_response`) for credentials and prompt-injection signals, within a
 * budget: at most `maxChars` characters over all the response's text parts. A part longer than what is left of
 * the budget is scanned as two windows, its first 3/4 and its last 1/4 of that budget; the result says exactly
 * which ranges were scanned, so an audit reader knows what "nothing found" covers.
 *
 * Every signal carries where it is (a JSON pointer into tool_response, an offset, a line) and a short excerpt
 * made safe to store and show: secrets in it are replaced by `[REDACTED:<kind>]` (also one cut by the excerpt's
 * edge), invisible characters are written as `<U+200B>`, and it is at most 240 characters.
 *
 * Pure: no I/O.
 */
import { findInjection, type InjectionKind, type Severity } from './injection';
import { findSecrets, fingerprintOf, INVISIBLE_RE, isPlaceholder, REDACTED } from './secrets';

export interface TextPart {
  /** JSON pointer into tool_response ('' for a string response). */
  where: string;
  text: string;
}

/** Keys of a response that are not content the agent reads (its own edits, paths, metadata). */
const SKIP_KEYS = new Set(['filePath', 'file_path', 'originalFile', 'structuredPatch', 'oldString', 'newString', 'old_string', 'new_string', 'type', 'isImage', 'interrupted', 'noOutputExpected', 'returnCodeInterpretation', 'durationMs', 'code', 'codeText', 'bytes', 'numLines', 'startLine', 'totalLines', 'mimeType']);

/** The text parts of a tool response, in order (at most 256). */
export function responseParts(response: unknown): TextPart[] {
  const out: TextPart[] = [];
  const walk = (v: unknown, segs: string[], depth: number): void => {
    if (out.length >= 256 || depth > 16) return;
    if (typeof v === 'string') {
      if (v) out.push({ where: segs.length ? '/' + segs.map((k) => k.replace(/~/g, '~0').replace(/\//g, '~1')).join('/') : '', text: v });
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...segs, String(i)], depth + 1));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (SKIP_KEYS.has(k)) continue;
        // Base64 image data (MCP image content, Read of an image) is not text the model reads as instructions.
        if (k === 'data' && (v as Record<string, unknown>).type === 'image') continue;
        walk(x, [...segs, k], depth + 1);
      }
    }
  };
  walk(response, [], 0);
  return out;
}

export interface ScanWindow {
  where: string;
  /** Characters in the part. */
  total: number;
  /** Characters scanned. */
  scanned: number;
  /** [start, end) ranges scanned, when not the whole part. */
  ranges?: [number, number][];
}

export interface OutputSignal {
  type: 'secret' | 'injection';
  /** Secret kind (github-token…) or injection signal kind (hidden-comment…). */
  kind: string;
  severity: Severity;
  /** JSON pointer into tool_response. */
  where: string;
  offset: number;
  length: number;
  /** 1-based line of `offset` in its part. */
  line: number;
  detail: string;
  /** Safe context: secrets redacted, invisible characters visible, ≤ 240 chars. */
  excerpt: string;
  /** Secrets: how found, fingerprint (never the value). */
  detector?: string;
  fingerprint?: string;
  /** Injection in hidden or encoded content: the signals inside. */
  inner?: InjectionKind[];
  /** Tag smuggling: the hidden text (scrubbed, clipped). */
  decoded?: string;
}

export interface OutputScan {
  signals: OutputSignal[];
  scanned: { chars: number; total: number; capped: boolean; parts: ScanWindow[] };
}

export interface OutputScanOptions {
  maxChars: number;
  /** Look for prompt-injection signals (the policy's injection tools); secrets are always looked for. */
  injection: boolean;
  /** Secret fingerprints never reported. */
  ignore?: ReadonlySet<string>;
  /** At most this many signals (default 32). */
  maxSignals?: number;
}

const visible = (s: string): string =>
  s.replace(INVISIBLE_RE, (c) => `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, ' ');

/**
 * Context around [start, end) of `text` that is safe to store: every secret overlapping the shown range is
 * replaced whole by its marker (the secrets are found in a window 1 KiB wider on each side, so one cut by the
 * excerpt's edge is still recognised), then invisible characters are made visible and the result clipped.
 */
export function safeExcerpt(text: string, start: number, end: number, radius = 60, max = 240): string {
  const ws = Math.max(0, start - radius - 1024);
  const we = Math.min(text.length, end + radius + 1024);
  const win = text.slice(ws, we);
  const a = Math.max(0, start - radius) - ws;
  const b = Math.min(text.length, end + radius) - ws;
  let out = a > 0 ? '…' : '';
  let pos = a;
  for (const f of findSecrets(win, { max: 64 })) {
    if (f.end <= a || f.start >= b) continue;
    if (f.start > pos) out += visible(win.slice(pos, f.start));
    out += `${REDACTED}:${f.kind}]`;
    pos = Math.max(pos, f.end);
  }
  if (pos < b) out += visible(win.slice(pos, b));
  if (b < win.length || we < text.length) out += '…';
  out = out.replace(/\s+/g, ' ');
  return out.length > max ? out.slice(0, max - 1) + '…' : out;
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function scanText(text: string, base: number, part: string, opts: OutputScanOptions, out: OutputSignal[], max: number, full: string): void {
  for (const f of findSecrets(text, { max: 64 })) {
    if (out.length >= max) return;
    const value = text.slice(f.start, f.end);
    if (isPlaceholder(value, f.detector)) continue;
    const fp = fingerprintOf(value);
    if (opts.ignore?.has(fp)) continue;
    out.push({
      type: 'secret',
      kind: f.kind,
      severity: f.detector === 'format' ? 'high' : 'medium',
      where: part,
      offset: base + f.start,
      length: value.length,
      line: 0,
      detail: `${f.kind} credential (${f.detector === 'format' ? 'known format' : 'key/value'}, ${value.length} chars)`,
      excerpt: safeExcerpt(full, base + f.start, base + f.end),
      detector: f.detector,
      fingerprint: fp,
    });
  }
  if (!opts.injection) return;
  for (const f of findInjection(text, { max: 32 })) {
    if (out.length >= max) return;
    const s: OutputSignal = {
      type: 'injection',
      kind: f.kind,
      severity: f.severity,
      where: part,
      offset: base + f.start,
      length: f.end - f.start,
      line: 0,
      detail: f.detail,
      excerpt: safeExcerpt(full, base + f.start, base + Math.min(f.end, f.start + 160)),
    };
    if (f.inner?.length) s.inner = f.inner;
    if (f.decoded) s.decoded = safeExcerpt(f.decoded, 0, f.decoded.length, 0, 200);
    out.push(s);
  }
}

/** Scan a tool response within `opts.maxChars`. */
export function scanOutput(response: unknown, opts: OutputScanOptions): OutputScan {
  const max = opts.maxSignals ?? 32;
  const parts = responseParts(response);
  const signals: OutputSignal[] = [];
  const windows: ScanWindow[] = [];
  let budget = opts.maxChars;
  let total = 0;
  let chars = 0;
  for (const p of parts) {
    total += p.text.length;
    if (budget <= 0) {
      windows.push({ where: p.where, total: p.text.length, scanned: 0, ranges: [] });
      continue;
    }
    if (p.text.length <= budget) {
      scanText(p.text, 0, p.where, opts, signals, max, p.text);
      windows.push({ where: p.where, total: p.text.length, scanned: p.text.length });
      budget -= p.text.length;
      chars += p.text.length;
      continue;
    }
    const head = Math.floor((budget * 3) / 4);
    const tailStart = p.text.length - (budget - head);
    scanText(p.text.slice(0, head), 0, p.where, opts, signals, max, p.text);
    scanText(p.text.slice(tailStart), tailStart, p.where, opts, signals, max, p.text);
    windows.push({ where: p.where, total: p.text.length, scanned: budget, ranges: [[0, head], [tailStart, p.text.length]] });
    chars += budget;
    budget = 0;
  }
  const byPart = new Map(parts.map((p) => [p.where, p.text]));
  for (const s of signals) s.line = lineOf(byPart.get(s.where) ?? '', s.offset);
  return { signals, scanned: { chars, total, capped: chars < total, parts: windows } };
}

export type OutputAction = 'record' | 'warn' | 'taint';

export interface ActionSettings {
  actions: Record<Severity, OutputAction>;
  secretOutputs: 'record' | 'warn';
  secretReadTaints: boolean;
}

/**
 * What the policy's scan settings make of a scan's signals: the action of the highest injection severity, and
 * for credentials `secretOutputs` (plus taint when reading a secret taints). `taint` implies warn.
 */
export function outputActions(signals: readonly OutputSignal[], s: ActionSettings): { actions: Set<OutputAction>; top?: Severity; injectionAction?: OutputAction } {
  const actions = new Set<OutputAction>(['record']);
  let top: Severity | undefined;
  for (const sig of signals) if (sig.type === 'injection') top = top === undefined || SEVERITY_RANK[sig.severity] > SEVERITY_RANK[top] ? sig.severity : top;
  const injectionAction = top ? s.actions[top] : undefined;
  if (injectionAction) actions.add(injectionAction);
  if (signals.some((x) => x.type === 'secret')) {
    actions.add(s.secretOutputs);
    if (s.secretReadTaints) actions.add('taint');
  }
  return { actions, ...(top ? { top } : {}), ...(injectionAction ? { injectionAction } : {}) };
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };
