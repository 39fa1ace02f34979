/**
 * The audit event model: a CloudEvents 1.0 envelope around Agent Warden data (research/bundles-audit-server.md
 * 2.7), and builders that turn a hook input (+ decision) into a redacted, size-capped event.
 *
 * Pure: no I/O (hashing and random ids only). The spool (src/runtime/audit/spool.ts) assigns `seq` and `prev`.
 */
import { randomFillSync } from 'node:crypto';
import type { Decision, Effect, HookInput, Mode } from '../types';
import { redactToolInput, scrubAndClip, scrubSecrets, sha256Hex, utf8Bytes, utf8Prefix } from './redact';

export const EVENT_TYPES = {
  decision: 'dev.agentwarden.decision.v1',
  hook: 'dev.agentwarden.hook.v1',
  policy: 'dev.agentwarden.policy.v1',
  audit: 'dev.agentwarden.audit.v1',
} as const;
export type AuditEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** Upper bound of one serialised event line, seq/prev included (research 2.7: 64 KiB, trim + `truncated`). */
export const MAX_EVENT_BYTES = 64 * 1024;
/** Room the builder leaves for the `"seq":…,"prev":"sha256:…",` the spool adds (≈ 100 bytes). */
export const SEQ_RESERVE = 160;
/** Bytes kept of a tool response, prompt or error excerpt. */
export const EXCERPT_CHARS = 512;

export const sourceOf = (deviceId: string): string => `urn:agentwarden:device:${deviceId}`;

// ---------------------------------------------------------------------------------------------------------
// ids

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastMs = -1;
const lastRand = new Uint8Array(10);

/**
 * A ULID (26 Crockford base32 chars: 48-bit ms time + 80 random bits). Lexicographic order follows time;
 * within one process ids are strictly increasing even in the same millisecond (the random part is
 * incremented), across processes they are unique by their 80 random bits.
 */
export function ulid(now: number = Date.now()): string {
  if (now <= lastMs) {
    now = lastMs;
    let i = 9;
    while (i >= 0 && lastRand[i] === 0xff) lastRand[i--] = 0;
    if (i < 0) {
      now = ++lastMs; // 2^80 ids in one ms: move on to the next ms
      randomFillSync(lastRand);
    } else lastRand[i]!++;
  } else {
    lastMs = now;
    randomFillSync(lastRand);
  }
  let t = now;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  // 80 bits → 16 chars of 5 bits
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (const b of lastRand) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      rand += CROCKFORD[(acc >> (bits - 5)) & 31]!;
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return time + rand;
}

export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The ms timestamp inside a ULID. */
export function ulidTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + CROCKFORD.indexOf(id[i]!);
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// types

export interface AuditEnvelope {
  specversion: '1.0';
  /** ULID; `source` + `id` identifies the event (CloudEvents duplicate rule). */
  id: string;
  /** `urn:agentwarden:device:<deviceId>` */
  source: string;
  type: AuditEventType;
  /** RFC 3339 with ms, UTC. Ordering is by `seq`, not by time. */
  time: string;
  /** Tool name for tool events, hook event name otherwise. */
  subject?: string;
  datacontenttype: 'application/json';
  dataschema: string;
}

/** An event as built, before the spool sequences it. */
export interface AuditEventDraft<D = AuditData> extends AuditEnvelope {
  data: D;
}

/** An event as stored: one NDJSON line `{"seq":…,"prev":"sha256:…",<envelope>,"data":…}`. */
export interface AuditEvent<D = AuditData> extends AuditEventDraft<D> {
  /** Contiguous per device from 1. */
  seq: number;
  /** `sha256:<hex>` of the raw bytes of the previous line (without its newline); GENESIS_PREV for seq 1. */
  prev: string;
}

export interface ActorInfo {
  user: string;
  deviceId: string;
  host: string;
}

export interface ClientInfo {
  /** Agent Warden version. */
  version: string;
  /** `<platform>-<arch>`, e.g. `linux-x64`. */
  os: string;
}

export interface AgentInfo {
  product: 'claude-code';
  version: string | null;
  sessionId: string | null;
  permissionMode: string | null;
  hookEvent: string;
  cwd: string | null;
  agentId: string | null;
  agentType: string | null;
}

/** fail-open: no valid bundle applied and the signed trust root allows failing open, so the baseline observed. */
export type PolicyState = 'fresh' | 'stale' | 'grace' | 'builtin' | 'local' | 'bootstrap' | 'fail-open';

export interface PolicyInfo {
  /** Policy id (decision.policy.id), e.g. `builtin:baseline` or `acme/default`. */
  id: string;
  version: string;
  /** Signed bundle id when the policy came from a bundle. */
  bundleId: string | null;
  epoch: number | null;
  /** sha256 of the bundle payload bytes. */
  sha256: string | null;
  state: PolicyState | null;
}

export interface DigestInfo {
  bytes: number;
  sha256: string;
}

export interface ToolInfo {
  name: string;
  useId: string | null;
  /** The redacted input (null when it had to be dropped to fit the event size). */
  input: unknown;
  /** sha256 (hex) of UTF-8 `JSON.stringify(tool_input)`, unredacted. */
  inputSha256: string;
  inputBytes: number;
  /** JSON pointers into tool_input of values replaced by `{erased, sha256, bytes}`. */
  erased: string[];
  /** Something in `input` was cut (long strings, big arrays, deep nesting, event size). */
  truncated: boolean;
  /** Kinds of secrets scrubbed from the input. */
  redactions: string[];
}

export interface ResponseSummary extends DigestInfo {
  /** Scrubbed beginning (≤ 512 chars); absent for tools whose response is file contents. */
  excerpt?: string;
  /** The excerpt is shorter than the response. */
  truncated: boolean;
}

export interface MatchSummary {
  ruleId: string;
  effect: Effect;
  mode: Mode;
  /** Scrubbed fact texts (≤ 8, ≤ 256 bytes each). */
  facts: string[];
}

export interface DecisionInfo {
  effect: Effect;
  verdict: Effect;
  mode: Mode;
  explicit: boolean;
  ruleIds: string[];
  reason: string;
  remediation: string | null;
  matched: MatchSummary[];
  unanalyzable: string[];
  exceptionId: string | null;
  latencyMs: number;
}

/**
 * A content signal, for the decision details: which detector fired on which content. Never a raw secret:
 * secrets are described by kind, place, length and fingerprint, and excerpts have them redacted.
 */
export interface SignalRecord {
  /** secret (a credential), injection (a prompt-injection signal), taint (the session's taint), mcp (server status). */
  type: 'secret' | 'injection' | 'taint' | 'mcp';
  /** e.g. github-token, hidden-comment, injection, changed. */
  kind: string;
  /** high | medium | low (injection, secret), info. */
  severity: string;
  /** Where: a JSON pointer into tool_input (`/content`) or tool_response (`/stdout`), or `session`, `server`. */
  where: string;
  /** UTF-16 offset, length and 1-based line in that text, when known. */
  offset?: number;
  length?: number;
  line?: number;
  /** What fired, in words. */
  detail: string;
  /** Context with secrets redacted and invisible characters shown as <U+XXXX> (≤ 240 chars). */
  excerpt?: string;
  /** Secrets: format | keyed | entropy, and the first 12 hex of the value's sha256. */
  detector?: string;
  fingerprint?: string;
  /** Secrets in inputs: how it was hidden (plain, expanded, base64, url-encoded, invisible-chars…). */
  encoding?: string;
  /** Secrets: a documented example or placeholder (not counted by the policy unless it asks). */
  placeholder?: boolean;
  /** Injection in hidden or encoded content: the signals inside it. */
  inner?: string[];
  /** Unicode tag smuggling: the hidden text, scrubbed. */
  decoded?: string;
  /** Taint: what tainted the session, when, and the audit event that recorded it. */
  source?: string;
  tool?: string;
  at?: string;
  eventId?: string;
}

/** What a PostToolUse scan covered and did. */
export interface ScanSummary {
  /** Characters scanned, of the response's text total; capped: not all of it was scanned. */
  chars: number;
  total: number;
  capped: boolean;
  /** Per text part (JSON pointer), when a part was not scanned whole: the ranges that were. */
  windows: { where: string; total: number; scanned: number; ranges?: [number, number][] }[];
  /** Whether prompt-injection signals were looked for (the policy's injection tools). */
  injection: boolean;
  /** What the hook did: record, warn (told the model through additionalContext), taint (marked the session). */
  actions: ('record' | 'warn' | 'taint')[];
  /** The additional context given to the model, when warned. */
  warning?: string;
  ms: number;
}

/** MCP servers configured at SessionStart/ConfigChange, and the new or changed ones. */
export interface McpRecordData {
  servers: { name: string; scope: string; status: string; hash: string; transport: string; pinned: boolean | null; command?: string; url?: string; files: number }[];
  changes: { name: string; scope: string; status: string; hash: string; previousHash?: string }[];
}

export interface DecisionData {
  decision: DecisionInfo;
  policy: PolicyInfo;
  tool: ToolInfo;
  agent: AgentInfo;
  actor: ActorInfo;
  client: ClientInfo;
  /** Content signals behind the decision: secrets in the input, the session's taint, the MCP server's status. */
  signals?: SignalRecord[];
  truncated?: true;
}

/** What the hook adds to a recorded event (PostToolUse scan, SessionStart MCP inventory). */
export interface HookExtra {
  signals?: SignalRecord[];
  scan?: ScanSummary;
  mcp?: McpRecordData;
}

export interface HookData {
  hook: {
    event: string;
    /** Other top-level payload fields: scalars (strings scrubbed, ≤ 512 chars), objects as digests. */
    fields: Record<string, unknown>;
  };
  tool?: ToolInfo & {
    response?: ResponseSummary;
    error?: ResponseSummary;
    durationMs?: number;
    interrupted?: boolean;
  };
  /** UserPromptSubmit / UserPromptExpansion prompt: digest + scrubbed excerpt. */
  prompt?: ResponseSummary;
  /** PostToolBatch: one line per call. */
  calls?: { name: string; useId: string | null; inputSha256: string; inputBytes: number }[];
  /** PostToolUse: secrets and prompt-injection signals found in the output (and MCP tool-name news). */
  signals?: SignalRecord[];
  /** PostToolUse: what the output scan covered and what the hook did. */
  scan?: ScanSummary;
  /** SessionStart / ConfigChange: the MCP servers configured, new and changed ones. */
  mcp?: McpRecordData;
  agent: AgentInfo;
  actor: ActorInfo;
  client: ClientInfo;
  truncated?: true;
}

export interface PolicyEventData {
  action: 'activated' | 'update_rejected' | 'stale' | 'expired' | 'fallback';
  reason: string | null;
  policy: PolicyInfo;
  previous: PolicyInfo | null;
  actor: ActorInfo;
  client: ClientInfo;
  truncated?: true;
}

export interface SpoolEventData {
  /** overflow: the spool crossed a cap level; recovered: a torn trailing line was cut; lock-broken: a dead writer's lock was removed. */
  /** local-retention: a device with no server dropped its oldest records to stay under the cap. */
  action: 'overflow' | 'recovered' | 'lock-broken' | 'local-retention';
  detail: Record<string, string | number | boolean | null>;
  actor: ActorInfo;
  client: ClientInfo;
  truncated?: true;
}

export type AuditData = DecisionData | HookData | PolicyEventData | SpoolEventData;

/** Who and what is recording: the same for every event of one hook run. */
export interface AuditContext {
  actor: ActorInfo;
  client: ClientInfo;
  /** Claude Code version when known. */
  agentVersion?: string | null;
  /** Event time in ms (default Date.now()). */
  now?: number;
  /** Id generator (default ulid). */
  newId?: (now: number) => string;
  /** Extra JSON pointers into tool_input to erase (the policy's mask list). */
  erase?: readonly string[];
  /** Max serialised event size, seq/prev included (default 64 KiB). */
  maxEventBytes?: number;
}

// ---------------------------------------------------------------------------------------------------------
// builders

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function envelope<D>(type: AuditEventType, subject: string | undefined, data: D, ctx: AuditContext): AuditEventDraft<D> {
  const now = ctx.now ?? Date.now();
  return {
    specversion: '1.0',
    id: (ctx.newId ?? ulid)(now),
    source: sourceOf(ctx.actor.deviceId),
    type,
    time: new Date(now).toISOString(),
    ...(subject !== undefined ? { subject } : {}),
    datacontenttype: 'application/json',
    dataschema: `urn:agentwarden:schema:${type.split('.').slice(2).join('.')}`,
    data,
  };
}

function agentOf(input: HookInput, ctx: AuditContext, hookEvent: string): AgentInfo {
  const clip = (v: unknown): string | null => {
    const s = str(v);
    return s === null ? null : scrubAndClip(s, 1024).text;
  };
  return {
    product: 'claude-code',
    version: ctx.agentVersion ?? null,
    sessionId: clip(input.session_id),
    permissionMode: clip(input.permission_mode),
    hookEvent,
    cwd: clip(input.cwd),
    agentId: clip(input.agent_id),
    agentType: clip(input.agent_type),
  };
}

/** sha256 + size of the exact JSON text of a value (what an investigator recomputes from the transcript). */
export function digestOf(v: unknown): DigestInfo {
  const s = typeof v === 'string' ? v : JSON.stringify(v === undefined ? null : v);
  return { bytes: utf8Bytes(s), sha256: sha256Hex(s) };
}

function toolOf(input: HookInput, ctx: AuditContext): ToolInfo {
  const name = str(input.tool_name) ?? '';
  const raw = input.tool_input === undefined ? null : input.tool_input;
  const d = digestOf(JSON.stringify(raw) ?? 'null');
  const r = redactToolInput(name, raw, ctx.erase ?? []);
  return {
    name: scrubAndClip(name, 256).text,
    useId: str(input.tool_use_id) === null ? null : scrubAndClip(input.tool_use_id as string, 256).text,
    input: r.input,
    inputSha256: d.sha256,
    inputBytes: d.bytes,
    erased: r.erased,
    truncated: r.truncated,
    redactions: r.redactions,
  };
}

/** Tools whose responses are file contents: digests only, never an excerpt. */
const FILE_CONTENT_TOOLS = new Set(['Read', 'Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'NotebookRead']);
const FILE_CONTENT_MCP = /(?:^|_)(?:read|write|edit|create|get|put|upload|download)_?(?:text_?)?(?:file|files|notebook|document|blob|object)s?(?:_|$)/i;

export function responseHoldsFileContents(tool: string): boolean {
  return FILE_CONTENT_TOOLS.has(tool) || (tool.startsWith('mcp__') && FILE_CONTENT_MCP.test(tool.split('__').slice(2).join('__')));
}

/** Text of a response for its excerpt: Bash stdout then stderr; a string as is; anything else as JSON. */
function responseText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.stdout === 'string' || typeof o.stderr === 'string') {
      const out = typeof o.stdout === 'string' ? o.stdout : '';
      const err = typeof o.stderr === 'string' && o.stderr ? `${out ? '\n' : ''}[stderr] ${o.stderr}` : '';
      return out + err;
    }
  }
  return JSON.stringify(v) ?? 'null';
}

/** Digest of a value plus, when `excerpt`, a scrubbed excerpt of at most 512 characters. */
export function summarize(v: unknown, excerpt: boolean): ResponseSummary {
  const d = digestOf(v);
  if (!excerpt) return { ...d, truncated: d.bytes > 0 };
  const text = responseText(v);
  const window = text.length > EXCERPT_CHARS + 1024 ? text.slice(0, EXCERPT_CHARS + 1024) : text;
  const scrubbed = scrubSecrets(window).text;
  const ex = scrubbed.length > EXCERPT_CHARS ? scrubbed.slice(0, EXCERPT_CHARS) : scrubbed;
  return { ...d, excerpt: ex, truncated: ex.length < text.length || ex.length < scrubbed.length };
}

function policyOf(decision: Decision, extra?: Partial<PolicyInfo>): PolicyInfo {
  const id = extra?.id ?? decision.policy.id;
  return {
    id,
    version: extra?.version ?? decision.policy.version,
    bundleId: extra?.bundleId ?? null,
    epoch: extra?.epoch ?? null,
    sha256: extra?.sha256 ?? null,
    state: extra?.state ?? (id.startsWith('builtin:') ? 'builtin' : null),
  };
}

export interface DecisionMeta {
  /** Time spent deciding, ms. */
  latencyMs: number;
  /** The exception grant that changed the effect, if any. */
  exceptionId?: string | null;
  /** Bundle details the decision does not carry. */
  policy?: Partial<PolicyInfo>;
  /** Content signals behind the decision (secrets in the input, session taint, MCP status). */
  signals?: SignalRecord[];
}

const clipText = (s: string, bytes: number): string => scrubAndClip(s, bytes).text;

/** The `dev.agentwarden.decision.v1` event for one PreToolUse decision. */
export function buildDecisionEvent(input: HookInput, decision: Decision, ctx: AuditContext, meta: DecisionMeta): AuditEventDraft<DecisionData> {
  const tool = toolOf(input, ctx);
  const data: DecisionData = {
    decision: {
      effect: decision.effect,
      verdict: decision.verdict,
      mode: decision.mode,
      explicit: decision.explicit,
      ruleIds: decision.ruleIds.slice(0, 64).map((r) => utf8Prefix(r, 256)),
      reason: clipText(decision.reason, 2048),
      remediation: decision.remediation === undefined ? null : clipText(decision.remediation, 2048),
      matched: decision.matches.slice(0, 16).map((m) => ({
        ruleId: utf8Prefix(m.ruleId, 256),
        effect: m.effect,
        mode: m.mode,
        facts: m.facts.slice(0, 8).map((f) => clipText(f.text, 256)),
      })),
      unanalyzable: decision.unanalyzable.slice(0, 8).map((u) => clipText(u, 256)),
      exceptionId: meta.exceptionId ?? null,
      latencyMs: Math.round(meta.latencyMs * 1000) / 1000,
    },
    policy: policyOf(decision, meta.policy),
    tool,
    agent: agentOf(input, ctx, str(input.hook_event_name) ?? 'PreToolUse'),
    actor: ctx.actor,
    client: ctx.client,
  };
  if (meta.signals?.length) data.signals = cleanSignals(meta.signals);
  return fitEvent(envelope(EVENT_TYPES.decision, tool.name || undefined, data, ctx), ctx.maxEventBytes);
}

/** Payload keys that are read into structured fields (or never recorded). */
const COMMON_KEYS = new Set([
  'session_id', 'transcript_path', 'cwd', 'permission_mode', 'hook_event_name', 'tool_name', 'tool_input', 'tool_use_id',
  'tool_response', 'agent_id', 'agent_type', 'prompt', 'error', 'duration_ms', 'is_interrupt', 'tool_calls',
]);

function fieldValue(v: unknown): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const c = scrubAndClip(v, EXCERPT_CHARS);
    return c.truncated ? { ...digestOf(v), excerpt: c.text, truncated: true } : c.text;
  }
  // Small objects (e.g. `effort: {level: "high"}`) are kept, scrubbed; larger ones become a digest.
  const json = JSON.stringify(v);
  if (json !== undefined && json.length <= 256) return redactToolInput('', v, [], { commandBytes: 256, stringBytes: 256, items: 16, depth: 4 }).input;
  return digestOf(v);
}

/**
 * The `dev.agentwarden.hook.v1` event for a recorded hook event (PostToolUse, PostToolUseFailure,
 * PostToolBatch, UserPromptSubmit, SessionStart, SessionEnd, ConfigChange, …). Tool responses, prompts and
 * errors are summarised (digest + scrubbed excerpt ≤ 512 chars; digest only for file contents).
 */
/** Signals as stored: at most 32, every text field scrubbed and clipped (defence in depth: builders already are). */
function cleanSignals(signals: SignalRecord[]): SignalRecord[] {
  return signals.slice(0, 32).map((s) => {
    const out: SignalRecord = { ...s };
    for (const k of ['kind', 'severity', 'where', 'detail', 'excerpt', 'decoded', 'source', 'tool', 'detector', 'encoding', 'fingerprint', 'at', 'eventId'] as const) {
      const v = out[k];
      if (typeof v === 'string') (out as unknown as Record<string, unknown>)[k] = clipText(v, k === 'excerpt' || k === 'detail' || k === 'decoded' ? 512 : 256);
    }
    if (out.inner) out.inner = out.inner.slice(0, 16).map((i) => utf8Prefix(i, 64));
    return out;
  });
}

export function buildHookEvent(input: HookInput, ctx: AuditContext, extra?: HookExtra): AuditEventDraft<HookData> {
  const event = str(input.hook_event_name) ?? 'unknown';
  const fields: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(input)) {
    if (COMMON_KEYS.has(k) || v === undefined) continue;
    if (n++ >= 32) break;
    fields[scrubSecrets(utf8Prefix(k, 128)).text] = fieldValue(v);
  }
  let tool: HookData['tool'];
  if (typeof input.tool_name === 'string' || input.tool_input !== undefined) {
    tool = toolOf(input, ctx);
    const excerpt = !responseHoldsFileContents(tool.name);
    if (input.tool_response !== undefined) tool.response = summarize(input.tool_response, excerpt);
    if (input.error !== undefined) tool.error = summarize(input.error, true);
    if (typeof input.duration_ms === 'number') tool.durationMs = input.duration_ms;
    if (typeof input.is_interrupt === 'boolean') tool.interrupted = input.is_interrupt;
  } else if (input.error !== undefined) fields.error = fieldValue(input.error);
  let calls: HookData['calls'];
  if (Array.isArray(input.tool_calls)) {
    calls = input.tool_calls.slice(0, 64).map((c: unknown) => {
      const o = (c && typeof c === 'object' ? c : {}) as Record<string, unknown>;
      const d = digestOf(JSON.stringify(o.tool_input === undefined ? null : o.tool_input));
      const useId = str(o.tool_use_id);
      return { name: scrubAndClip(str(o.tool_name) ?? '', 256).text, useId: useId === null ? null : utf8Prefix(useId, 256), inputSha256: d.sha256, inputBytes: d.bytes };
    });
  }
  const data: HookData = {
    hook: { event, fields },
    ...(tool ? { tool } : {}),
    ...(input.prompt !== undefined ? { prompt: summarize(input.prompt, true) } : {}),
    ...(calls ? { calls } : {}),
    ...(extra?.signals?.length ? { signals: cleanSignals(extra.signals) } : {}),
    ...(extra?.scan ? { scan: { ...extra.scan, windows: extra.scan.windows.slice(0, 16), ...(extra.scan.warning ? { warning: clipText(extra.scan.warning, 2048) } : {}) } } : {}),
    ...(extra?.mcp ? { mcp: extra.mcp } : {}),
    agent: agentOf(input, ctx, event),
    actor: ctx.actor,
    client: ctx.client,
  };
  const subject = data.tool?.name || event;
  return fitEvent(envelope(EVENT_TYPES.hook, subject, data, ctx), ctx.maxEventBytes);
}

/** A `dev.agentwarden.policy.v1` event (bundle activated, update rejected, policy stale, fallback to builtin). */
export function buildPolicyEvent(
  action: PolicyEventData['action'],
  policy: PolicyInfo,
  ctx: AuditContext,
  opts: { reason?: string; previous?: PolicyInfo } = {},
): AuditEventDraft<PolicyEventData> {
  const data: PolicyEventData = {
    action,
    reason: opts.reason === undefined ? null : clipText(opts.reason, 2048),
    policy,
    previous: opts.previous ?? null,
    actor: ctx.actor,
    client: ctx.client,
  };
  return fitEvent(envelope(EVENT_TYPES.policy, policy.bundleId ?? policy.id, data, ctx), ctx.maxEventBytes);
}

/** A `dev.agentwarden.audit.v1` event written by the spool about itself. */
export function buildSpoolEvent(action: SpoolEventData['action'], detail: SpoolEventData['detail'], ctx: AuditContext): AuditEventDraft<SpoolEventData> {
  return fitEvent(envelope(EVENT_TYPES.audit, `audit.${action}`, { action, detail, actor: ctx.actor, client: ctx.client }, ctx), ctx.maxEventBytes);
}

/**
 * Events that are still written when the spool is past 95 % of its cap: denials, asks and would-deny/ask
 * (observe mode) decisions, and every non-decision event (hook records, policy and spool events).
 * Plain allow decisions are refused there, and the hook then denies the call.
 */
export function isPriorityEvent(e: AuditEventDraft<unknown>): boolean {
  if (e.type !== EVENT_TYPES.decision) return true;
  const d = (e.data as Partial<DecisionData> | undefined)?.decision;
  return !d || d.effect !== 'allow' || d.verdict !== 'allow';
}

// ---------------------------------------------------------------------------------------------------------
// size cap

/** Keys whose string values are never cut (hashes and ids). */
const KEEP_WHOLE = new Set(['inputSha256', 'sha256', 'id', 'source', 'specversion', 'type', 'time', 'prev', 'dataschema', 'datacontenttype']);

function shrinkValue(v: unknown, maxBytes: number, maxItems: number, key?: string): unknown {
  if (typeof v === 'string') {
    if (key && KEEP_WHOLE.has(key) && v.length <= 128) return v;
    if (utf8Bytes(v) <= maxBytes) return v;
    return utf8Prefix(v, maxBytes) + '…';
  }
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.slice(0, maxItems).map((x) => shrinkValue(x, maxBytes, maxItems));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (n++ >= maxItems * 4) break;
    out[k] = shrinkValue(x, maxBytes, maxItems, k);
  }
  return out;
}

const sizeOf = (e: unknown): number => utf8Bytes(JSON.stringify(e));

/**
 * Make a draft fit in `maxEventBytes` (seq/prev included). Steps, each only if still too large: cut the
 * tool input's strings and arrays, drop the tool input (its inputSha256 and size stay), drop excerpts and
 * matched-fact texts, then cut every string and array of the data. Sets `data.truncated` (and
 * `tool.truncated`). Never cuts hashes and ids.
 */
export function fitEvent<D>(draft: AuditEventDraft<D>, maxEventBytes: number = MAX_EVENT_BYTES): AuditEventDraft<D> {
  const budget = maxEventBytes - SEQ_RESERVE;
  if (sizeOf(draft) <= budget) return draft;
  const e = JSON.parse(JSON.stringify(draft)) as AuditEventDraft<Record<string, unknown>>;
  const data = e.data;
  data.truncated = true;
  const tool = data.tool as Record<string, unknown> | undefined;
  const steps: (() => void)[] = [];
  if (tool) {
    tool.truncated = true;
    steps.push(() => (tool.input = shrinkValue(tool.input, 1024, 16)));
    steps.push(() => (tool.input = shrinkValue(tool.input, 128, 4)));
    steps.push(() => (tool.input = null));
    steps.push(() => {
      for (const k of ['response', 'error']) if (tool[k] && typeof tool[k] === 'object') delete (tool[k] as Record<string, unknown>).excerpt;
    });
  }
  steps.push(() => {
    if (data.prompt && typeof data.prompt === 'object') delete (data.prompt as Record<string, unknown>).excerpt;
    const d = data.decision as Record<string, unknown> | undefined;
    if (d && Array.isArray(d.matched)) d.matched = (d.matched as MatchSummary[]).map((m) => ({ ...m, facts: [] }));
  });
  for (const [bytes, items] of [[1024, 16], [256, 8], [64, 4], [16, 2]] as const) {
    steps.push(() => (e.data = shrinkValue(data, bytes, items) as Record<string, unknown>));
  }
  for (const step of steps) {
    step();
    if (sizeOf(e) <= budget) return e as AuditEventDraft<D>;
  }
  // Only reachable with absurd envelope fields (a subject or source of tens of KiB).
  e.subject = e.subject === undefined ? undefined : utf8Prefix(e.subject, 64);
  if (sizeOf(e) <= budget) return e as AuditEventDraft<D>;
  throw new Error(`audit event cannot be reduced below ${maxEventBytes} bytes`);
}

