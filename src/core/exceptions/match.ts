/**
 * Does a verified grant cover this call? Pure: the grant, the hook input, the facts the analyser extracted,
 * and who/when. A grant covers only what it names:
 *
 * - identity: its userId and deviceId (and tenant, when known) are this machine's;
 * - time: notBefore ≤ now < expiresAt, with now = max(clock, maxSeenTime): winding the clock back cannot
 *   revive an expired grant;
 * - tool: the call's tool is the grant's;
 * - scope: the call is in the grant's workspace / session, when it names them;
 * - matcher:
 *   exact          sha256 of the canonical JSON of tool_input equals the grant's;
 *   commandPrefix  the Bash command is ONE simple command: no `;`, `&&`, `||`, `|`, `&`, newline, subshell,
 *                  redirection, variable assignment, expansion or substitution anywhere, only literal words
 *                  — and its argv starts with the grant's argv word for word (`npm test; rm -rf /` has two
 *                  commands and never matches `npm test`);
 *   pathGlob       the call touches at least one path and every path fact (normalised, and the resolved
 *                  target of every symlink) lies under the glob; dynamic or unresolvable paths never match;
 *   mcpTool        the tool name is the grant's.
 */
import { GlobSet } from '../paths/glob';
import { parseShell } from '../shell/parse';
import type { Word } from '../shell/ast';
import { DYN, type Facts, type HookInput, type PathFact } from '../types';
import { canonicalInputSha256, type Grant } from './grant';

export interface GrantIdentity {
  userId: string;
  deviceId: string;
  /** The trust root's tenant, when known. */
  tenant?: string;
}

export interface ExceptionContext {
  /** Verified grants (signature checked by the caller: src/runtime/grants.ts). */
  grants: readonly Grant[];
  identity: GrantIdentity;
  /** Clock, ms. */
  now: number;
  /** Highest trusted time seen (ms); an earlier clock is raised to it. */
  maxSeenTime?: number;
  /** The hook input of the call (tool_input for `exact`, the Bash command for `commandPrefix`). */
  input: HookInput;
  /** Path comparison ignores case (macOS, Windows). Default false (stricter). */
  caseInsensitive?: boolean;
}

export type GrantMiss = 'identity' | 'time' | 'tool' | 'scope' | 'matcher';

export interface GrantCheck {
  ok: boolean;
  miss?: GrantMiss;
  detail?: string;
}

/** The effective time for grant checks: never earlier than the max time seen. */
export function guardedNow(ctx: Pick<ExceptionContext, 'now' | 'maxSeenTime'>): number {
  return Math.max(ctx.now, ctx.maxSeenTime ?? 0);
}

/** Check identity, time, tool, scope and matcher (not the rule: see apply.ts). */
export function checkGrant(grant: Grant, facts: Facts, ctx: ExceptionContext): GrantCheck {
  const id = ctx.identity;
  if (grant.userId !== id.userId) return { ok: false, miss: 'identity', detail: `grant is for user ${grant.userId}` };
  if (grant.deviceId !== id.deviceId) return { ok: false, miss: 'identity', detail: `grant is for device ${grant.deviceId}` };
  if (id.tenant !== undefined && grant.tenant !== id.tenant) return { ok: false, miss: 'identity', detail: `grant is for tenant ${grant.tenant}` };
  const now = guardedNow(ctx);
  if (now < grant.notBeforeMs) return { ok: false, miss: 'time', detail: `grant is valid from ${grant.notBefore}` };
  if (now >= grant.expiresAtMs) return { ok: false, miss: 'time', detail: `grant expired at ${grant.expiresAt}` };
  const tool = typeof ctx.input.tool_name === 'string' ? ctx.input.tool_name : '';
  if (!tool || tool !== grant.tool || facts.tool !== tool) return { ok: false, miss: 'tool', detail: `grant is for ${grant.tool}` };
  if (grant.scope.workspace !== undefined && stripSlash(facts.context.workspace) !== grant.scope.workspace) return { ok: false, miss: 'scope', detail: `grant is for workspace ${grant.scope.workspace}` };
  if (grant.scope.sessionId !== undefined && facts.context.sessionId !== grant.scope.sessionId) return { ok: false, miss: 'scope', detail: 'grant is for another session' };
  const m = grant.matcher;
  switch (m.kind) {
    case 'exact': {
      let h: string;
      try {
        h = canonicalInputSha256(ctx.input.tool_input);
      } catch {
        return { ok: false, miss: 'matcher', detail: 'tool input cannot be hashed' };
      }
      return h === m.inputSha256 ? { ok: true } : { ok: false, miss: 'matcher', detail: 'a different tool input' };
    }
    case 'commandPrefix': {
      const command = (ctx.input.tool_input as { command?: unknown } | null | undefined)?.command;
      if (tool !== 'Bash' || typeof command !== 'string') return { ok: false, miss: 'matcher', detail: 'not a Bash command' };
      const argv = simpleArgv(command);
      if (!argv) return { ok: false, miss: 'matcher', detail: 'not a single simple literal command' };
      if (argv.length < m.argv.length || !m.argv.every((w, i) => argv[i] === w)) return { ok: false, miss: 'matcher', detail: `argv does not start with ${m.argv.join(' ')}` };
      if (facts.unanalyzable.length) return { ok: false, miss: 'matcher', detail: 'the call could not be analysed' };
      return { ok: true };
    }
    case 'pathGlob':
      return pathsCovered(m.glob, facts.paths, ctx.caseInsensitive ?? false) ? { ok: true } : { ok: false, miss: 'matcher', detail: `a path lies outside ${m.glob}` };
    case 'mcpTool':
      return tool === m.name && tool.startsWith('mcp__') ? { ok: true } : { ok: false, miss: 'matcher', detail: `not ${m.name}` };
  }
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** Characters an unquoted literal word may hold (no globbing, braces, tilde, history or escapes). */
const SAFE_UNQUOTED = /^[A-Za-z0-9_@%+=:,./-]*$/;

function literalWord(w: Word): string | null {
  let out = '';
  for (const p of w.parts) {
    if (p.t !== 'lit') return null;
    if (!p.quoted && !SAFE_UNQUOTED.test(p.v)) return null;
    out += p.v;
  }
  return out;
}

/**
 * The argv of a command line that is exactly one simple command of literal words (no assignments, no
 * redirections, no expansions or substitutions, no control operators), or null.
 */
export function simpleArgv(command: string): string[] | null {
  if (/[\0\r\n]/.test(command)) return null;
  let script;
  try {
    script = parseShell(command);
  } catch {
    return null;
  }
  const c = script.body;
  if (c.type !== 'simple' || c.assigns.length || c.redirs.length || !c.words.length) return null;
  const argv: string[] = [];
  for (const w of c.words) {
    const s = literalWord(w);
    if (s === null) return null;
    argv.push(s);
  }
  return argv;
}

/** `D/**` → D; otherwise null. */
function treeRoot(glob: string): string | null {
  if (!glob.endsWith('/**')) return null;
  const d = glob.slice(0, -3);
  return /[*?[\]{}()!@+]/.test(d) || !d ? null : d;
}

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir + '/');

function cleanPath(p: string): boolean {
  return p.startsWith('/') && !p.includes(DYN) && !p.split('/').some((s) => s === '..' || s === '.') && !/[\0\n]/.test(p);
}

/**
 * Every path fact is inside the glob. Facts that name a whole tree (recursive) or a pattern are covered only
 * by a `D/**` glob and only when they lie under D. Dynamic paths never are.
 */
export function pathsCovered(glob: string, paths: readonly PathFact[], caseInsensitive: boolean): boolean {
  if (!paths.length) return false;
  const fold = (s: string) => (caseInsensitive ? s.toLowerCase() : s);
  const set = new GlobSet([glob], { HOME: '/nonexistent-home', WORKSPACE: '/nonexistent-workspace', STATE_DIR: '/nonexistent-state', CLAUDE_DIR: '/nonexistent-claude', TMPDIR: '/nonexistent-tmp' }, { caseInsensitive });
  const root = treeRoot(glob);
  for (const f of paths) {
    if (f.dynamic || !cleanPath(f.path)) return false;
    if (f.linkFrom !== undefined && !cleanPath(f.linkFrom)) return false;
    if (f.pattern || f.recursive) {
      if (!root) return false;
      const base = f.pattern ? staticDir(f.path) : f.path;
      if (!base || !under(fold(base), fold(root))) return false;
      continue;
    }
    if (!set.test(f.path)) return false;
  }
  return true;
}

/** The literal directory part of a pattern path (`/a/b/*.txt` → `/a/b`), or null. */
function staticDir(pattern: string): string | null {
  const segs = pattern.split('/');
  const out: string[] = [];
  for (const s of segs) {
    if (/[*?[\]{}()!@+\\]/.test(s)) break;
    out.push(s);
  }
  const d = out.join('/');
  return d.startsWith('/') ? d : null;
}
