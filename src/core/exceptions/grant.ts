/**
 * Exception grants: the server-signed, time-boxed, narrowly scoped documents that let one user on one
 * device run what one exceptable rule would otherwise deny or question (research/bundles-audit-server.md §4.2).
 *
 * Wire form: a DSSE envelope (core/bundle/envelope.ts) with payloadType PAYLOAD_TYPES.grant, signed by a
 * key with the `exception` role of the trust root. The payload, parsed only after the signature verifies:
 *
 *   { "schema": 1, "type": "exception-grant", "grantId", "requestId", "tenant", "userId", "deviceId",
 *     "ruleIds": [..], "tool", "matcher": {kind…}, "scope": {workspace?, sessionId?},
 *     "notBefore", "expiresAt", "issuedAt", "approvedBy": [..], "reason" }
 *
 * Pure and zod-free on purpose: the hook reads grants on every call and must not load a schema library.
 * `parseGrantPayload` checks every field by hand and refuses unknown ones.
 */
import { createHash } from 'node:crypto';

export type GrantMatcher =
  /** The exact tool input: sha256 (hex) of its canonical JSON (sorted keys, no whitespace). */
  | { kind: 'exact'; inputSha256: string }
  /** A Bash call that is one simple, fully literal command whose argv starts with `argv`. */
  | { kind: 'commandPrefix'; argv: string[] }
  /** Every path the call touches (normalised, symlinks resolved) lies under this absolute glob. */
  | { kind: 'pathGlob'; glob: string }
  /** An MCP tool, by its full name (`mcp__server__tool`). */
  | { kind: 'mcpTool'; name: string };

export interface GrantScope {
  /** Only in this project root (normalised absolute path). */
  workspace?: string;
  /** Only in this Claude Code session. */
  sessionId?: string;
}

export interface GrantDoc {
  schema: 1;
  type: 'exception-grant';
  grantId: string;
  requestId: string;
  tenant: string;
  userId: string;
  deviceId: string;
  ruleIds: string[];
  tool: string;
  matcher: GrantMatcher;
  scope: GrantScope;
  notBefore: string;
  expiresAt: string;
  issuedAt: string;
  approvedBy: string[];
  reason: string;
}

/** A verified grant, with its times as ms. */
export interface Grant extends GrantDoc {
  notBeforeMs: number;
  expiresAtMs: number;
  issuedAtMs: number;
}

/** Hard cap on any grant's lifetime, whatever a policy says (Teleport's 14 days). */
export const MAX_GRANT_MS = 14 * 86_400_000;
export const GRANT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{5,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const RULE_ID_RE = /^[a-z0-9][a-z0-9._-]*$/;
const MAX_ARGV = 64;

export class GrantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrantError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isTime = (v: unknown): v is string => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(v) && Number.isFinite(Date.parse(v));

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new GrantError(`${where}: unknown field ${JSON.stringify(k)}`);
}

/** Check a path glob a grant may carry: absolute, normalised, no `..`/`.` segments, no `~` or variables. */
export function checkGrantGlob(glob: string): string | null {
  if (!glob.startsWith('/')) return 'the path glob must be absolute';
  if (glob.length > 1024) return 'the path glob is longer than 1024 characters';
  if (/[\0\n\\]/.test(glob)) return 'the path glob contains a NUL, newline or backslash';
  if (glob.includes('${') || glob.startsWith('~')) return 'the path glob may not use variables or ~';
  const segs = glob.split('/').slice(1);
  if (segs.some((s) => s === '..' || s === '.')) return 'the path glob may not contain "." or ".." segments';
  if (segs.some((s, i) => s === '' && i < segs.length - 1)) return 'the path glob may not contain empty segments (//)';
  if (glob === '/' || glob === '/**' || segs[0] === '**' || /^[*?[{]/.test(segs[0] ?? '')) return 'the path glob must start with a literal directory';
  return null;
}

/** Validate a matcher (server side on requests, client side on grants). Throws GrantError. */
export function parseMatcher(v: unknown, tool: string): GrantMatcher {
  if (!isObj(v)) throw new GrantError('matcher must be an object');
  switch (v.kind) {
    case 'exact':
      onlyKeys(v, ['kind', 'inputSha256'], 'matcher');
      if (typeof v.inputSha256 !== 'string' || !HEX64.test(v.inputSha256)) throw new GrantError('matcher.inputSha256 must be 64 lower-case hex digits');
      return { kind: 'exact', inputSha256: v.inputSha256 };
    case 'commandPrefix': {
      onlyKeys(v, ['kind', 'argv'], 'matcher');
      if (tool !== 'Bash') throw new GrantError('a commandPrefix matcher is only for the Bash tool');
      const argv = v.argv;
      if (!Array.isArray(argv) || argv.length < 1 || argv.length > MAX_ARGV) throw new GrantError(`matcher.argv must be 1-${MAX_ARGV} words`);
      if (!argv.every((w) => typeof w === 'string' && w.length > 0 && w.length <= 1024 && !/[\0\n]/.test(w))) throw new GrantError('matcher.argv words must be non-empty strings without NUL or newline');
      return { kind: 'commandPrefix', argv: [...argv] as string[] };
    }
    case 'pathGlob': {
      onlyKeys(v, ['kind', 'glob'], 'matcher');
      if (typeof v.glob !== 'string') throw new GrantError('matcher.glob must be a string');
      const bad = checkGrantGlob(v.glob);
      if (bad) throw new GrantError(`matcher.glob: ${bad}`);
      return { kind: 'pathGlob', glob: v.glob };
    }
    case 'mcpTool':
      onlyKeys(v, ['kind', 'name'], 'matcher');
      if (typeof v.name !== 'string' || !/^mcp__[A-Za-z0-9_.-]+__[A-Za-z0-9_.-]+$/.test(v.name)) throw new GrantError('matcher.name must be a full MCP tool name (mcp__server__tool)');
      if (v.name !== tool) throw new GrantError('an mcpTool matcher must name the grant\'s tool');
      return { kind: 'mcpTool', name: v.name };
    default:
      throw new GrantError(`matcher.kind must be exact, commandPrefix, pathGlob or mcpTool (got ${JSON.stringify(v.kind)})`);
  }
}

export function parseScope(v: unknown): GrantScope {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new GrantError('scope must be an object');
  onlyKeys(v, ['workspace', 'sessionId'], 'scope');
  const out: GrantScope = {};
  if (v.workspace !== undefined) {
    if (!isStr(v.workspace) || !v.workspace.startsWith('/') || v.workspace.split('/').some((s) => s === '..' || s === '.')) throw new GrantError('scope.workspace must be a normalised absolute path');
    out.workspace = v.workspace.length > 1 ? v.workspace.replace(/\/+$/, '') : v.workspace;
  }
  if (v.sessionId !== undefined) {
    if (!isStr(v.sessionId, 256)) throw new GrantError('scope.sessionId must be a non-empty string');
    out.sessionId = v.sessionId;
  }
  return out;
}

const GRANT_FIELDS = ['schema', 'type', 'grantId', 'requestId', 'tenant', 'userId', 'deviceId', 'ruleIds', 'tool', 'matcher', 'scope', 'notBefore', 'expiresAt', 'issuedAt', 'approvedBy', 'reason'] as const;

/** Validate a grant document (already parsed JSON). Throws GrantError. */
export function validateGrantDoc(d: unknown): Grant {
  if (!isObj(d)) throw new GrantError('the grant is not a JSON object');
  onlyKeys(d, GRANT_FIELDS, 'grant');
  if (d.schema !== 1 || d.type !== 'exception-grant') throw new GrantError('not an exception-grant document (schema 1)');
  if (typeof d.grantId !== 'string' || !GRANT_ID_RE.test(d.grantId)) throw new GrantError('grantId is missing or malformed');
  if (typeof d.requestId !== 'string' || !GRANT_ID_RE.test(d.requestId)) throw new GrantError('requestId is missing or malformed');
  for (const k of ['tenant', 'userId', 'deviceId', 'tool'] as const) if (!isStr(d[k], 256)) throw new GrantError(`${k} must be a non-empty string`);
  if (!Array.isArray(d.ruleIds) || d.ruleIds.length < 1 || d.ruleIds.length > 32 || !d.ruleIds.every((r) => typeof r === 'string' && RULE_ID_RE.test(r))) {
    throw new GrantError('ruleIds must be 1-32 rule ids');
  }
  if (!Array.isArray(d.approvedBy) || d.approvedBy.length < 1 || !d.approvedBy.every((a) => isStr(a, 256))) throw new GrantError('approvedBy must list at least one approver');
  if (typeof d.reason !== 'string' || d.reason.length > 4096) throw new GrantError('reason must be a string');
  for (const k of ['notBefore', 'expiresAt', 'issuedAt'] as const) if (!isTime(d[k])) throw new GrantError(`${k} must be an RFC 3339 UTC time`);
  const tool = d.tool as string;
  const matcher = parseMatcher(d.matcher, tool);
  const scope = parseScope(d.scope);
  const notBeforeMs = Date.parse(d.notBefore as string);
  const expiresAtMs = Date.parse(d.expiresAt as string);
  const issuedAtMs = Date.parse(d.issuedAt as string);
  if (expiresAtMs <= notBeforeMs) throw new GrantError('expiresAt must be after notBefore');
  if (expiresAtMs - notBeforeMs > MAX_GRANT_MS) throw new GrantError('the grant is longer than the 14-day hard cap');
  return {
    schema: 1,
    type: 'exception-grant',
    grantId: d.grantId,
    requestId: d.requestId,
    tenant: d.tenant as string,
    userId: d.userId as string,
    deviceId: d.deviceId as string,
    ruleIds: [...(d.ruleIds as string[])],
    tool,
    matcher,
    scope,
    notBefore: d.notBefore as string,
    expiresAt: d.expiresAt as string,
    issuedAt: d.issuedAt as string,
    approvedBy: [...(d.approvedBy as string[])],
    reason: d.reason,
    notBeforeMs,
    expiresAtMs,
    issuedAtMs,
  };
}

/** The document as signed: the fields of GrantDoc in a fixed order (what the server encodes). */
export function grantDocOf(g: GrantDoc): GrantDoc {
  const out: Record<string, unknown> = {};
  for (const k of GRANT_FIELDS) out[k] = g[k];
  return out as unknown as GrantDoc;
}

// ---------------------------------------------------------------------------------------------------------
// canonical input hash

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, strings and numbers as
 * JSON.stringify writes them (RFC 8785 for the values tool inputs hold). Two inputs that differ only in key
 * order or spacing have one canonical form; anything else differs.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new GrantError('non-finite number in a tool input');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  throw new GrantError(`cannot canonicalise a ${typeof v}`);
}

/** sha256 (hex) of the canonical JSON of a tool input: what an `exact` grant names. */
export function canonicalInputSha256(toolInput: unknown): string {
  return createHash('sha256').update(canonicalJson(toolInput === undefined ? null : toolInput)).digest('hex');
}
