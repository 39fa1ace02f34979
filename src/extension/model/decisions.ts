/**
 * The Decisions view's model (pure: no vscode import): audit decision events turned into entries, kept in a
 * bounded store grouped by Claude Code session, filtered, and turned into tree item descriptions.
 *
 * Memory is bounded however long the window stays open: at most `maxEntries` decisions (oldest dropped
 * first), and each entry keeps the redacted tool input only up to `maxInputBytes` of JSON.
 */
import { EVENT_TYPES, type AuditEvent, type DecisionData } from '../../core/audit/event';
import type { Effect, Mode } from '../../core/types';
import { clip, clockTime, escapeMarkdown, plural } from './format';
import { summarizeInput } from './summary';

/** How a decision looks in the UI. */
export type DecisionKind = 'deny' | 'ask' | 'allow' | 'wouldDeny' | 'wouldAsk' | 'excepted';

export interface DecisionEntry {
  /** Audit event id (ULID). */
  id: string;
  seq: number;
  /** Event time, ms. */
  time: number;
  /** Claude Code session id ('' when the hook input had none). */
  sessionId: string;
  cwd: string | null;
  tool: string;
  summary: string;
  /** The redacted tool input, or null when it was larger than the store keeps (see inputTruncated). */
  input: unknown;
  inputTruncated: boolean;
  /** The recorded input is the call's input as made: nothing erased, scrubbed or cut (so its hash is the call's). */
  inputComplete: boolean;
  /** sha256 of the input's JSON text as the hook received it (the audit record's digest). */
  inputSha256: string;
  effect: Effect;
  verdict: Effect;
  mode: Mode;
  kind: DecisionKind;
  explicit: boolean;
  ruleIds: string[];
  reason: string;
  remediation: string | null;
  matched: { ruleId: string; effect: Effect; mode: Mode; facts: string[] }[];
  unanalyzable: string[];
  exceptionId: string | null;
  policy: { id: string; version: string; bundleId: string | null; state: string | null };
  agentType: string | null;
  permissionMode: string | null;
  user: string | null;
  deviceId: string | null;
  /**
   * Content signals the decision took into account (data.signals): secrets in the input, the session's
   * taint (with the audit event of the read that caused it), the MCP server's status.
   */
  signals: DecisionSignal[];
}

export interface DecisionSignal {
  type: string;
  kind: string;
  severity: string;
  where: string;
  detail: string;
  excerpt: string | null;
  /** Taint: the tool and source of the read that tainted the session, and its audit event id. */
  tool: string | null;
  source: string | null;
  eventId: string | null;
}

const MAX_SIGNALS = 20;

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const s = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const EFFECTS: readonly string[] = ['allow', 'deny', 'ask'];
const effectOf = (v: unknown): Effect | null => (typeof v === 'string' && EFFECTS.includes(v) ? (v as Effect) : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function kindOf(effect: Effect, verdict: Effect, exceptionId: string | null): DecisionKind {
  if (effect === 'deny') return 'deny';
  if (effect === 'ask') return 'ask';
  if (exceptionId) return 'excepted';
  if (verdict === 'deny') return 'wouldDeny';
  if (verdict === 'ask') return 'wouldAsk';
  return 'allow';
}

export const DEFAULT_MAX_INPUT_BYTES = 16 * 1024;

/** The entry for a `dev.agentwarden.decision.v1` event, or null for any other (or malformed) event. */
export function entryFromEvent(e: AuditEvent | null | undefined, maxInputBytes = DEFAULT_MAX_INPUT_BYTES): DecisionEntry | null {
  if (!e || e.type !== EVENT_TYPES.decision || !isObj(e.data)) return null;
  const data = e.data as Partial<DecisionData>;
  const d = data.decision;
  if (!isObj(d)) return null;
  const effect = effectOf(d.effect);
  const verdict = effectOf(d.verdict) ?? effect;
  if (!effect || !verdict || typeof e.id !== 'string') return null;
  const time = Date.parse(e.time);
  const tool: Record<string, unknown> = isObj(data.tool) ? data.tool : {};
  const agent: Record<string, unknown> = isObj(data.agent) ? data.agent : {};
  const policy: Record<string, unknown> = isObj(data.policy) ? data.policy : {};
  const toolName = s(tool.name) ?? s(e.subject) ?? '?';
  let input: unknown = tool.input ?? null;
  let inputTruncated = tool.truncated === true;
  const json = JSON.stringify(input) ?? 'null';
  if (json.length > maxInputBytes) {
    input = null;
    inputTruncated = true;
  }
  const exceptionId = s(d.exceptionId);
  const matched = Array.isArray(d.matched)
    ? d.matched.filter(isObj).map((m) => ({
        ruleId: s(m.ruleId) ?? '?',
        effect: effectOf(m.effect) ?? 'deny',
        mode: (m.mode === 'observe' ? 'observe' : 'enforce') as Mode,
        facts: strings(m.facts),
      }))
    : [];
  const actor: Record<string, unknown> = isObj(data.actor) ? data.actor : {};
  const complete = input !== null && tool.truncated !== true && strings(tool.erased).length === 0 && strings(tool.redactions).length === 0;
  return {
    id: e.id,
    seq: typeof e.seq === 'number' ? e.seq : 0,
    time: Number.isFinite(time) ? time : 0,
    sessionId: s(agent.sessionId) ?? '',
    cwd: s(agent.cwd),
    tool: toolName,
    summary: summarizeInput(toolName, tool.input),
    input,
    inputTruncated,
    inputComplete: complete,
    inputSha256: s(tool.inputSha256) ?? '',
    effect,
    verdict,
    mode: d.mode === 'observe' ? 'observe' : 'enforce',
    kind: kindOf(effect, verdict, exceptionId),
    explicit: d.explicit === true,
    ruleIds: strings(d.ruleIds),
    reason: s(d.reason) ?? '',
    remediation: s(d.remediation),
    matched,
    unanalyzable: strings(d.unanalyzable),
    exceptionId,
    policy: { id: s(policy.id) ?? '?', version: s(policy.version) ?? '?', bundleId: s(policy.bundleId), state: s(policy.state) },
    agentType: s(agent.agentType),
    permissionMode: s(agent.permissionMode),
    user: s(actor.user),
    deviceId: s(actor.deviceId),
    signals: signalsOf((data as { signals?: unknown }).signals),
  };
}

function signalsOf(v: unknown): DecisionSignal[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter(isObj)
    .slice(0, MAX_SIGNALS)
    .map((x) => ({
      type: s(x.type) ?? '?',
      kind: s(x.kind) ?? '?',
      severity: s(x.severity) ?? '',
      where: s(x.where) ?? '',
      detail: s(x.detail) ?? '',
      excerpt: s(x.excerpt),
      tool: s(x.tool),
      source: s(x.source),
      eventId: s(x.eventId),
    }));
}

export interface DecisionFilter {
  /** Only calls that were denied. */
  deniedOnly: boolean;
  /** Only calls made in one of these folders (absolute paths); empty = no folder filter. */
  workspaceFolders: string[];
  /** Only observe-mode calls the policy would have denied or asked about. */
  wouldDenyOnly: boolean;
}

export const NO_FILTER: DecisionFilter = { deniedOnly: false, workspaceFolders: [], wouldDenyOnly: false };

/** Is `p` the folder `root` or inside it? (POSIX and Windows separators.) */
export function insideFolder(p: string, root: string): boolean {
  const norm = (x: string): string => x.replace(/\\/g, '/').replace(/\/+$/, '');
  const a = norm(p);
  const b = norm(root);
  return a === b || a.startsWith(b + '/');
}

export function matchesFilter(e: DecisionEntry, f: DecisionFilter): boolean {
  if (f.deniedOnly || f.wouldDenyOnly) {
    const ok = (f.deniedOnly && e.kind === 'deny') || (f.wouldDenyOnly && (e.kind === 'wouldDeny' || e.kind === 'wouldAsk'));
    if (!ok) return false;
  }
  if (f.workspaceFolders.length) {
    if (!e.cwd || !f.workspaceFolders.some((w) => insideFolder(e.cwd!, w))) return false;
  }
  return true;
}

export function describeFilter(f: DecisionFilter): string {
  const parts: string[] = [];
  if (f.deniedOnly) parts.push('denied');
  if (f.wouldDenyOnly) parts.push('would deny');
  if (f.workspaceFolders.length) parts.push('this workspace');
  return parts.join(' · ');
}

export interface SessionGroup {
  sessionId: string;
  cwd: string | null;
  firstTime: number;
  lastTime: number;
  /** Oldest first. */
  entries: DecisionEntry[];
}

export interface StoreOptions {
  maxEntries?: number;
  maxInputBytes?: number;
}

/**
 * Decisions by session, bounded. Events are added in spool order (seq ascending); an event already seen
 * (same id) is ignored, so re-reading the spool is harmless.
 */
export class DecisionStore {
  readonly maxEntries: number;
  readonly maxInputBytes: number;
  private readonly byId = new Map<string, DecisionEntry>();
  private readonly sessions = new Map<string, SessionGroup>();
  /** Insertion order (oldest first), for eviction. */
  private order: DecisionEntry[] = [];
  private head = 0;
  private denies = 0;
  /** Bumped on every change (views compare it). */
  version = 0;

  constructor(
    opts: StoreOptions = {},
    /** Denies recorded at or after this time count towards `deniesThisSession`. */
    readonly sessionStart = Date.now(),
  ) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 1000);
    this.maxInputBytes = opts.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Denied calls recorded since the window opened (not reduced by eviction or clearing). */
  get deniesThisSession(): number {
    return this.denies;
  }

  get(id: string): DecisionEntry | undefined {
    return this.byId.get(id);
  }

  /** Add one entry. Returns false when it was already there. */
  add(e: DecisionEntry): boolean {
    if (this.byId.has(e.id)) return false;
    this.byId.set(e.id, e);
    let g = this.sessions.get(e.sessionId);
    if (!g) {
      g = { sessionId: e.sessionId, cwd: e.cwd, firstTime: e.time, lastTime: e.time, entries: [] };
      this.sessions.set(e.sessionId, g);
    }
    g.entries.push(e);
    if (e.time > g.lastTime) g.lastTime = e.time;
    if (e.time < g.firstTime) g.firstTime = e.time;
    if (!g.cwd && e.cwd) g.cwd = e.cwd;
    this.order.push(e);
    if (e.kind === 'deny' && e.time >= this.sessionStart) this.denies++;
    while (this.byId.size > this.maxEntries) this.evictOldest();
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    this.version++;
    return true;
  }

  private evictOldest(): void {
    const e = this.order[this.head];
    if (!e) return;
    this.order[this.head] = undefined as unknown as DecisionEntry;
    this.head++;
    this.byId.delete(e.id);
    const g = this.sessions.get(e.sessionId);
    if (g) {
      const i = g.entries.indexOf(e);
      if (i >= 0) g.entries.splice(i, 1);
      if (!g.entries.length) this.sessions.delete(e.sessionId);
      else g.firstTime = g.entries[0]!.time;
    }
  }

  /** Forget every entry (the deny counter keeps counting). */
  clear(): void {
    this.byId.clear();
    this.sessions.clear();
    this.order = [];
    this.head = 0;
    this.version++;
  }

  /** Sessions with at least one entry passing the filter, most recently active first. */
  sessionsFor(f: DecisionFilter = NO_FILTER): SessionGroup[] {
    const out: SessionGroup[] = [];
    for (const g of this.sessions.values()) if (g.entries.some((e) => matchesFilter(e, f))) out.push(g);
    return out.sort((a, b) => b.lastTime - a.lastTime || (a.sessionId < b.sessionId ? -1 : 1));
  }

  /** A session's entries passing the filter, newest first. */
  entriesFor(sessionId: string, f: DecisionFilter = NO_FILTER): DecisionEntry[] {
    const g = this.sessions.get(sessionId);
    if (!g) return [];
    const out = g.entries.filter((e) => matchesFilter(e, f));
    return out.reverse();
  }

  /** Every entry, oldest first. */
  all(): DecisionEntry[] {
    return this.order.slice(this.head);
  }
}

// ---------------------------------------------------------------------------------------------------------
// tree items

export interface IconModel {
  /** Codicon id. */
  id: string;
  /** Theme color id. */
  color?: string;
}

export interface TreeItemModel {
  id: string;
  label: string;
  description?: string;
  /** Markdown (already escaped where it shows untrusted text). */
  tooltip: string;
  icon: IconModel;
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
}

export const KIND_ICONS: Record<DecisionKind, IconModel> = {
  deny: { id: 'circle-slash', color: 'errorForeground' },
  ask: { id: 'question', color: 'editorWarning.foreground' },
  allow: { id: 'pass', color: 'testing.iconPassed' },
  wouldDeny: { id: 'eye', color: 'editorWarning.foreground' },
  wouldAsk: { id: 'eye', color: 'editorInfo.foreground' },
  excepted: { id: 'unlock', color: 'charts.blue' },
};

export const KIND_LABELS: Record<DecisionKind, string> = {
  deny: 'Denied',
  ask: 'Asked',
  allow: 'Allowed',
  wouldDeny: 'Would be denied (observe mode)',
  wouldAsk: 'Would ask (observe mode)',
  excepted: 'Allowed by an exception',
};

/** Can an exception be requested for this decision? (A denied or asked call decided by a rule.) */
export function canRequestException(e: DecisionEntry): boolean {
  return (e.kind === 'deny' || e.kind === 'ask' || e.kind === 'wouldDeny') && e.ruleIds.length > 0;
}

export function decisionItem(e: DecisionEntry): TreeItemModel {
  const rule = e.ruleIds.length ? e.ruleIds.join(', ') : e.kind === 'allow' ? '' : 'no rule (default or unanalysable)';
  const lines = [
    `**${KIND_LABELS[e.kind]}** · ${escapeMarkdown(e.tool)} · ${clockTime(e.time)}`,
    '',
    e.summary ? `\`${e.summary.replace(/`/g, "'")}\`` : '',
    '',
    rule ? `Rule: ${escapeMarkdown(rule)}` : '',
    e.reason && e.kind !== 'allow' ? `\n\n${escapeMarkdown(clip(e.reason, 300))}` : '',
  ];
  const flags = [e.kind, canRequestException(e) ? 'exceptable' : ''].filter(Boolean).join('.');
  return {
    id: `decision:${e.id}`,
    label: e.tool,
    description: e.summary || undefined,
    tooltip: lines.filter((l) => l !== '').join('\n\n'),
    icon: KIND_ICONS[e.kind],
    contextValue: `decision.${flags}`,
    collapsible: 'none',
  };
}

function shortId(id: string): string {
  if (!id) return '(no session id)';
  return id.length > 8 ? id.slice(0, 8) : id;
}

function baseName(p: string | null): string {
  if (!p) return '';
  const parts = p.replace(/\\/g, '/').replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || p;
}

export function sessionItem(g: SessionGroup, visible: DecisionEntry[], newest: boolean): TreeItemModel {
  const denied = visible.filter((e) => e.kind === 'deny').length;
  const wouldDeny = visible.filter((e) => e.kind === 'wouldDeny').length;
  const desc = [baseName(g.cwd), clockTime(g.lastTime), plural(visible.length, 'call'), denied ? `${denied} denied` : '', wouldDeny ? `${wouldDeny} would deny` : ''].filter(Boolean).join(' · ');
  return {
    id: `session:${g.sessionId}`,
    label: `Session ${shortId(g.sessionId)}`,
    description: desc,
    tooltip: [`**Claude Code session** \`${g.sessionId || '(none)'}\``, g.cwd ? `Folder: ${escapeMarkdown(g.cwd)}` : '', `${clockTime(g.firstTime)} – ${clockTime(g.lastTime)}`].filter(Boolean).join('\n\n'),
    icon: { id: denied ? 'shield' : 'comment-discussion', ...(denied ? { color: 'errorForeground' } : {}) },
    contextValue: 'session',
    collapsible: newest ? 'expanded' : 'collapsed',
  };
}
