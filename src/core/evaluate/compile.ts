/**
 * Compiling a validated policy into matchers. Compile once per (policy, environment); evaluate many times.
 * Conditions are checked cheapest first (tool, risk, env, command, URL, context, path); path globs compile
 * lazily, so a call only pays for the globs of rules it could match.
 */
import { canonicalHost } from '../net/host';
import { GlobSet, staticPrefix, type GlobVars } from '../paths/glob';
import { DEFAULT_EXCEPTION_MS, durationMs } from '../policy/duration';
import type { CommandConditionDoc, ContextConditionDoc, MatchBlockDoc, McpConditionDoc, PathConditionDoc, PolicyDoc, RuleDoc, SecretConditionDoc, TaintConditionDoc, UrlConditionDoc } from '../policy/schema';
import { fingerprintOf } from '../scan/secrets';
import type { Severity } from '../scan/injection';
import { DYN, type Access, type Effect, type Facts, type MatchedFact, type Mode } from '../types';

export interface CompileEnv {
  home: string;
  workspace: string;
  stateDir: string;
  claudeDir: string;
  tmpDir: string;
  caseInsensitive: boolean;
  /** Extra `${NAME}` variables for globs (e.g. GUARD_DIR). */
  vars?: Record<string, string>;
}

type Matcher = (facts: Facts) => MatchedFact[] | null;

export interface CompiledRule {
  id: string;
  effect: Effect;
  mode: Mode;
  reason: string;
  remediation?: string;
  exceptable: boolean;
  maxExceptionMs: number;
  match: Matcher;
  unless?: Matcher;
  doc: RuleDoc;
}

export type ScanAction = 'record' | 'warn' | 'taint';

/** The policy's `scan` settings with defaults applied and lists expanded (what the hook's scanners use). */
export interface ScanConfig {
  maxChars: number;
  secretOutputs: 'record' | 'warn';
  secretReadTaints: boolean;
  /** Fingerprints of values never reported. */
  ignore: Set<string>;
  /** Whether a tool's outputs are scanned for prompt injection. */
  injectionTool(tool: string): boolean;
  actions: Record<Severity, ScanAction>;
  /** Hosts content may come from without tainting the session; undefined: fetches never taint. */
  trustedHost?: (host: string) => boolean;
  /** Taint lifetime in ms (undefined: the rest of the session). */
  taintExpiresMs?: number;
}

export const DEFAULT_SCAN_MAX_CHARS = 1024 * 1024;
export const DEFAULT_INJECTION_TOOLS = ['Read', 'Bash', 'WebFetch', 'WebSearch', 'Grep', 'Glob', 'Agent', 'Task', 'TaskOutput', 'BashOutput', 'NotebookRead', 'mcp__*'];

export interface CompiledPolicy {
  id: string;
  version: string;
  mode: Mode;
  defaultEffect: Effect;
  unanalyzable: 'deny' | 'ask';
  rules: CompiledRule[];
  doc: PolicyDoc;
  scan: ScanConfig;
  /** Condition kinds some rule uses (the hook reads session state only when a rule can use it). */
  uses: { secret: boolean; taint: boolean; mcp: boolean };
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function compilePolicy(policy: PolicyDoc, env: CompileEnv): CompiledPolicy {
  const vars: GlobVars = {
    HOME: env.home,
    WORKSPACE: env.workspace,
    STATE_DIR: env.stateDir,
    CLAUDE_DIR: env.claudeDir,
    TMPDIR: env.tmpDir,
    ...env.vars,
  };
  const lists = policy.lists ?? {};
  const expandLists = (items: string[]): string[] => items.flatMap((i) => (i.startsWith('@') ? lists[i.slice(1)] ?? [] : [i]));
  const scan = scanConfig(policy, expandLists);
  const ctx: Ctx = { vars, env, expandLists, ignore: scan.ignore };
  const rules = policy.rules.map((r): CompiledRule => {
    const rule: CompiledRule = {
      id: r.id,
      effect: r.effect,
      mode: policy.mode === 'observe' ? 'observe' : r.mode ?? 'enforce',
      reason: r.reason,
      exceptable: r.exception?.allowed ?? false,
      maxExceptionMs: r.exception?.maxDuration ? durationMs(r.exception.maxDuration) : DEFAULT_EXCEPTION_MS,
      match: compileMatch(r.match, ctx),
      doc: r,
    };
    if (r.remediation) rule.remediation = r.remediation;
    if (r.unless) rule.unless = compileMatch(r.unless, ctx);
    return rule;
  });
  return {
    id: policy.metadata.id,
    version: policy.metadata.version,
    mode: policy.mode,
    defaultEffect: policy.defaultEffect,
    unanalyzable: policy.unanalyzable,
    rules,
    doc: policy,
    scan,
    uses: conditionUse(policy),
  };
}

function conditionUse(policy: PolicyDoc): CompiledPolicy['uses'] {
  const uses = { secret: false, taint: false, mcp: false };
  for (const r of policy.rules) {
    for (const b of asList(r.match).concat(asList(r.unless))) {
      if (b.secret) uses.secret = true;
      if (b.taint) uses.taint = true;
      if (b.mcp) uses.mcp = true;
    }
  }
  return uses;
}

function scanConfig(policy: PolicyDoc, expandLists: (items: string[]) => string[]): ScanConfig {
  const s = policy.scan ?? {};
  const ignore = new Set(expandLists(asList(s.secrets?.ignore)).map((v) => (/^[0-9a-f]{12}$/.test(v) ? v : fingerprintOf(v))));
  const tools = nameMatcher(expandLists(asList(s.injection?.tools ?? DEFAULT_INJECTION_TOOLS)), false);
  const cfg: ScanConfig = {
    maxChars: s.maxChars ?? DEFAULT_SCAN_MAX_CHARS,
    secretOutputs: s.secrets?.outputs ?? 'warn',
    secretReadTaints: s.secrets?.taint ?? false,
    ignore,
    injectionTool: (t) => tools(t) !== undefined,
    actions: { high: s.injection?.high ?? 'taint', medium: s.injection?.medium ?? 'warn', low: s.injection?.low ?? 'record' },
  };
  if (s.taint?.trustedHosts !== undefined) {
    const hosts = expandLists(asList(s.taint.trustedHosts)).map(hostRegex);
    cfg.trustedHost = (h) => hosts.some((re) => re.test(h.toLowerCase()));
  }
  if (s.taint?.expires) cfg.taintExpiresMs = durationMs(s.taint.expires);
  return cfg;
}

/** Compile every glob of every rule now: used by `warden validate` to report bad globs up front. */
export function checkGlobs(policy: PolicyDoc, env: CompileEnv): string[] {
  const errors: string[] = [];
  const lists = policy.lists ?? {};
  for (const r of policy.rules) {
    for (const block of asList(r.match).concat(asList(r.unless))) {
      const globs = [...asList(block.path?.glob), ...asList(block.path?.exclude), ...asList(block.context?.cwd)];
      for (const g of globs.flatMap((i) => (i.startsWith('@') ? lists[i.slice(1)] ?? [] : [i]))) {
        try {
          new GlobSet([g], { HOME: env.home, WORKSPACE: env.workspace, STATE_DIR: env.stateDir, CLAUDE_DIR: env.claudeDir, TMPDIR: env.tmpDir }, { caseInsensitive: false }).check();
        } catch (e) {
          errors.push(`rule ${r.id}: ${(e as Error).message}`);
        }
      }
    }
  }
  return errors;
}

interface Ctx {
  vars: GlobVars;
  env: CompileEnv;
  expandLists(items: string[]): string[];
  /** Secret fingerprints the policy ignores. */
  ignore: Set<string>;
}

function compileMatch(match: MatchBlockDoc | MatchBlockDoc[], ctx: Ctx): Matcher {
  const blocks = asList(match).map((b) => compileBlock(b, ctx));
  if (blocks.length === 1) return blocks[0]!;
  return (facts) => {
    for (const b of blocks) {
      const m = b(facts);
      if (m) return m;
    }
    return null;
  };
}

function compileBlock(b: MatchBlockDoc, ctx: Ctx): Matcher {
  const parts: Matcher[] = [];
  if (b.tool !== undefined) parts.push(toolMatcher(ctx.expandLists(asList(b.tool))));
  if (b.risk !== undefined) {
    const kinds = new Set<string>(asList(b.risk));
    parts.push((facts) => {
      const hits = facts.risks.filter((r) => kinds.has(r.kind));
      return hits.length ? hits.map((r) => ({ kind: 'risk' as const, text: `${r.kind}: ${r.detail}`, matched: r.kind })) : null;
    });
  }
  if (b.mcp !== undefined) parts.push(mcpMatcher(b.mcp, ctx));
  if (b.taint !== undefined) parts.push(taintMatcher(b.taint));
  if (b.secret !== undefined) parts.push(secretMatcher(b.secret, ctx));
  if (b.env !== undefined) parts.push(envMatcher(b.env, ctx));
  if (b.command !== undefined) {
    const conds = asList(b.command).map((c) => commandMatcher(c, ctx));
    parts.push((facts) => {
      for (const c of conds) {
        const m = c(facts);
        if (m) return m;
      }
      return null;
    });
  }
  if (b.url !== undefined) parts.push(urlMatcher(b.url, ctx));
  if (b.context !== undefined) parts.push(contextMatcher(b.context, ctx));
  if (b.path !== undefined) parts.push(pathMatcher(b.path, ctx));
  return (facts) => {
    const all: MatchedFact[] = [];
    for (const p of parts) {
      const m = p(facts);
      if (!m) return null;
      all.push(...m);
    }
    return all;
  };
}

/**
 * Names or globs over simple names (tools, programs, env vars, subcommand words): `*`, `?`, `[…]`, `{a,b}`.
 * Compiled on first use.
 */
export function nameMatcher(patterns: string[], caseInsensitive: boolean): (name: string) => string | undefined {
  const exact = new Set<string>();
  const globSources: string[] = [];
  for (const p of patterns) {
    if (/[*?[{]/.test(p)) globSources.push(p);
    else exact.add(caseInsensitive ? p.toLowerCase() : p);
  }
  let globs: [string, RegExp][] | undefined;
  return (name) => {
    const n = caseInsensitive ? name.toLowerCase() : name;
    if (exact.has(n)) return name;
    if (!globSources.length) return undefined;
    globs ??= globSources.map((p) => [p, nameGlobRegex(caseInsensitive ? p.toLowerCase() : p)]);
    for (const [src, re] of globs) if (re.test(n)) return src;
    return undefined;
  };
}

function nameGlobRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob[++i]!);
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else if (c === '{') {
      const close = glob.indexOf('}', i);
      if (close < 0) re += '\\{';
      else {
        re += `(?:${glob.slice(i + 1, close).split(',').map((x) => x.replace(/[.+^${}()|[\]\\*?]/g, '\\$&')).join('|')})`;
        i = close;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

const escapeRe = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function envMatcher(c: NonNullable<MatchBlockDoc['env']>, ctx: Ctx): Matcher {
  const spec = typeof c === 'string' || Array.isArray(c) ? { name: c } : c;
  const names = nameMatcher(ctx.expandLists(asList(spec.name)), false);
  const values = spec.value ? asList(spec.value).map(nameGlobRegex) : undefined;
  return (facts) => {
    const hits = facts.env.filter((e) => names(e.name) && (!values || e.value === DYN || values.some((re) => re.test(e.value))));
    return hits.length ? hits.map((e) => ({ kind: 'env' as const, text: `sets ${e.name} (${e.via})`, matched: e.name })) : null;
  };
}

function secretMatcher(c: SecretConditionDoc, ctx: Ctx): Matcher {
  const kinds = c.kind ? nameMatcher(ctx.expandLists(asList(c.kind)), false) : undefined;
  const detectors = new Set<string>(c.detector ? asList(c.detector) : ['format', 'keyed']);
  const where = c.in ? new Set<string>(asList(c.in)) : undefined;
  return (facts) => {
    const hits = (facts.secrets ?? []).filter(
      (s) => (c.placeholders || !s.placeholder) && !ctx.ignore.has(s.fingerprint) && detectors.has(s.detector) && (!where || where.has(s.in)) && (!kinds || kinds(s.kind) !== undefined),
    );
    return hits.length
      ? hits.map((s) => ({
          kind: 'secret' as const,
          text: `${s.kind} credential in ${s.in} (${s.field}${s.encoding !== 'plain' ? `, ${s.encoding}` : ''}; ${s.length} chars, fingerprint ${s.fingerprint})`,
          matched: s.kind,
        }))
      : null;
  };
}

function taintMatcher(c: TaintConditionDoc): Matcher {
  const kinds = c.by ? new Set<string>(asList(c.by)) : undefined;
  return (facts) => {
    const hits = (facts.taint ?? []).filter((t) => !kinds || kinds.has(t.kind));
    return hits.length
      ? hits.slice(0, 4).map((t) => ({
          kind: 'taint' as const,
          text: `session tainted at ${t.at} by ${t.kind === 'injection' ? 'prompt-injection signals' : t.kind === 'untrusted-fetch' ? 'a fetch from an untrusted host' : 'a credential'} in ${t.tool} output${t.source ? ` from ${truncate(t.source, 120)}` : ''}${t.signals.length ? ` (${t.signals.slice(0, 4).join(', ')})` : ''}${t.eventId ? `, audit event ${t.eventId}` : ''}`,
          matched: t.kind,
        }))
      : null;
  };
}

function mcpMatcher(c: McpConditionDoc, ctx: Ctx): Matcher {
  const servers = c.server ? nameMatcher(ctx.expandLists(asList(c.server)), false) : undefined;
  const tools = c.tool ? nameMatcher(ctx.expandLists(asList(c.tool)), false) : undefined;
  const statuses = c.status ? new Set<string>(asList(c.status)) : undefined;
  return (facts) => {
    const m = facts.mcp;
    if (!m) return null;
    if (servers && servers(m.server) === undefined) return null;
    if (tools && tools(m.tool) === undefined) return null;
    if (statuses && !statuses.has(m.status)) return null;
    return [{ kind: 'mcp', text: `MCP server ${m.server}${m.scope ? ` (${m.scope})` : ''}, tool ${m.tool}: ${m.status}`, matched: m.status }];
  };
}

function toolMatcher(patterns: string[]): Matcher {
  const m = nameMatcher(patterns, false);
  return (facts) => {
    const hit = m(facts.tool);
    return hit ? [{ kind: 'tool', text: `tool ${facts.tool}`, matched: hit }] : null;
  };
}

function programName(p: string, ci: boolean): string {
  const n = ci ? p.toLowerCase() : p;
  return n.replace(/\.exe$/i, '');
}

function commandMatcher(c: CommandConditionDoc, ctx: Ctx): Matcher {
  const ci = ctx.env.caseInsensitive;
  const program = nameMatcher(ctx.expandLists(asList(c.program)), ci);
  const subs = asList(c.subcommand).map((s) => s.split(/\s+/).filter(Boolean).map((w) => nameMatcher([w], false)));
  const all = asList(c.flags?.all);
  const any = asList(c.flags?.any);
  const none = asList(c.flags?.none);
  const args = c.args ? nameMatcher(ctx.expandLists(asList(c.args)), false) : undefined;
  const argsAll = c.argsAll ? ctx.expandLists(asList(c.argsAll)).map((g) => nameMatcher([g], false)) : undefined;
  const via = c.via ? asList(c.via) : undefined;
  return (facts) => {
    const hits: MatchedFact[] = [];
    for (const cmd of facts.commands) {
      if (!program(programName(cmd.program, ci))) continue;
      if (subs.length && !subs.some((words) => words.every((w, i) => cmd.subcommand[i] !== undefined && w(cmd.subcommand[i]!)))) continue;
      if (all.length && !all.every((fl) => cmd.flags.includes(fl))) continue;
      if (any.length && !any.some((fl) => cmd.flags.includes(fl))) continue;
      if (none.length && none.some((fl) => cmd.flags.includes(fl))) continue;
      let argHit: string | undefined;
      if (args) {
        argHit = cmd.args.find((a) => args(a));
        if (argHit === undefined) continue;
      }
      if (argsAll && !argsAll.every((m) => cmd.args.some((x) => m(x)))) continue;
      if (via && !cmd.via.some((v) => via.some((w) => v === w || v.startsWith(w + ' ')))) continue;
      const text = [cmd.program, ...cmd.args].join(' ');
      hits.push({ kind: 'command', text: `runs ${truncate(text)}${cmd.via.length ? ` (via ${cmd.via.join(' → ')})` : ''}`, matched: [asList(c.program).join('|'), ...asList(c.subcommand)].join(' ') });
    }
    return hits.length ? hits : null;
  };
}

/**
 * `example.com` exact; `*.example.com` any subdomain; `**.example.com` the domain and any subdomain.
 * Literal hosts are compared in the canonical form URL facts carry (`fd00:ec2:0::254` is `fd00:ec2::254`).
 */
export function hostRegex(pattern: string): RegExp {
  const p = pattern.toLowerCase();
  let src = '';
  let rest = p;
  if (p.startsWith('**.')) {
    src = '(?:[^/]*\\.)?';
    rest = p.slice(3);
  } else if (p.startsWith('*.')) {
    src = '[^/]+\\.';
    rest = p.slice(2);
  }
  if (!/[*?[]/.test(rest)) rest = canonicalHost(rest);
  src += rest.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*').replace(/\?/g, '[^.]');
  return new RegExp(`^${src}$`);
}

function urlMatcher(u: UrlConditionDoc, ctx: Ctx): Matcher {
  const hosts = u.host ? ctx.expandLists(asList(u.host)).map((h) => [h, hostRegex(h)] as const) : undefined;
  const schemes = u.scheme ? new Set(asList(u.scheme).map((s) => s.toLowerCase())) : undefined;
  const sends = u.sends ? new Set<string>(asList(u.sends)) : undefined;
  const notHosts = u.notHost ? ctx.expandLists(asList(u.notHost)).map(hostRegex) : undefined;
  const via = u.via ? nameMatcher(asList(u.via), false) : undefined;
  return (facts) => {
    const hits: MatchedFact[] = [];
    for (const url of facts.urls) {
      let matched = 'any destination';
      if (hosts) {
        const h = hosts.find(([, re]) => re.test(url.host));
        if (!h) continue;
        matched = h[0];
      }
      if (notHosts?.some((re) => re.test(url.host))) continue;
      if (via && !via(url.via.split(/[ .]/)[0]!)) continue;
      if (schemes && !schemes.has(url.scheme)) continue;
      if (sends && !(url.sends && sends.has(url.sends))) continue;
      hits.push({ kind: 'url', text: `${url.sends ? `sends ${url.sends} data to` : 'contacts'} ${truncate(url.url)} (${url.via})`, matched });
    }
    return hits.length ? hits : null;
  };
}

function contextMatcher(c: ContextConditionDoc, ctx: Ctx): Matcher {
  const modes = c.permissionMode ? new Set(asList(c.permissionMode)) : undefined;
  const agentTypes = c.agentType ? nameMatcher(asList(c.agentType), false) : undefined;
  const agentIds = c.agentId ? nameMatcher(asList(c.agentId), false) : undefined;
  const hookEvents = c.hookEvent ? new Set(asList(c.hookEvent)) : undefined;
  const cwd = c.cwd ? new GlobSet(ctx.expandLists(asList(c.cwd)), ctx.vars, { caseInsensitive: ctx.env.caseInsensitive }) : undefined;
  const ws = c.workspace ? new GlobSet(ctx.expandLists(asList(c.workspace)), ctx.vars, { caseInsensitive: ctx.env.caseInsensitive }) : undefined;
  return (facts) => {
    const x = facts.context;
    const hits: MatchedFact[] = [];
    if (modes) {
      if (!x.permissionMode || !modes.has(x.permissionMode)) return null;
      hits.push({ kind: 'context', text: `permission mode ${x.permissionMode}`, matched: x.permissionMode });
    }
    if (agentTypes) {
      if (!x.agentType || !agentTypes(x.agentType)) return null;
      hits.push({ kind: 'context', text: `agent type ${x.agentType}`, matched: x.agentType });
    }
    if (agentIds) {
      if (!x.agentId || !agentIds(x.agentId)) return null;
      hits.push({ kind: 'context', text: `agent ${x.agentId}`, matched: x.agentId });
    }
    if (c.subagent !== undefined) {
      if (!!x.agentId !== c.subagent) return null;
      hits.push({ kind: 'context', text: c.subagent ? 'call made by a subagent' : 'call made by the main agent', matched: 'subagent' });
    }
    if (hookEvents) {
      if (!x.hookEvent || !hookEvents.has(x.hookEvent)) return null;
      hits.push({ kind: 'context', text: `hook event ${x.hookEvent}`, matched: x.hookEvent });
    }
    if (cwd) {
      const g = cwd.test(x.cwd);
      if (!g) return null;
      hits.push({ kind: 'context', text: `cwd ${x.cwd}`, matched: g });
    }
    if (ws) {
      const g = ws.test(x.workspace);
      if (!g) return null;
      hits.push({ kind: 'context', text: `workspace ${x.workspace}`, matched: g });
    }
    return hits;
  };
}

/** A fact path with partially unknown segments (`.⟪dynamic⟫`) as a pattern; whole unknown segments stay opaque. */
function dynamicPattern(path: string): string | null {
  const segs = path.split('/');
  let changed = false;
  const out = segs.map((s) => {
    if (!s.includes(DYN) || s === DYN) return s.replace(/[*?[\]{}()!@+\\]/g, '\\$&');
    changed = true;
    return s
      .split(DYN)
      .map((x) => x.replace(/[*?[\]{}()!@+\\]/g, '\\$&'))
      .join('*');
  });
  return changed ? out.join('/') : null;
}

function pathMatcher(c: PathConditionDoc, ctx: Ctx): Matcher {
  const accesses = c.access ? new Set<Access>(asList(c.access)) : undefined;
  const opts = { caseInsensitive: ctx.env.caseInsensitive };
  const include = new GlobSet(ctx.expandLists(asList(c.glob)), ctx.vars, opts);
  const exclude = c.exclude ? new GlobSet(ctx.expandLists(asList(c.exclude)), ctx.vars, opts) : undefined;
  const via = c.via ? nameMatcher(asList(c.via), false) : undefined;
  const notVia = c.notVia ? nameMatcher(asList(c.notVia), false) : undefined;
  return (facts) => {
    const hits: MatchedFact[] = [];
    for (const p of facts.paths) {
      if (accesses && !accesses.has(p.access)) continue;
      if (via && !via(p.via)) continue;
      if (notVia && notVia(p.via)) continue;
      if (c.recursive !== undefined && !!p.recursive !== c.recursive) continue;
      const dynamic = !!p.dynamic || p.path.includes(DYN);
      if (c.dynamic !== undefined && dynamic !== c.dynamic) continue;
      let hit: string | undefined;
      if (p.pattern) {
        hit = include.intersects(p.path, p.access === 'write' || p.access === 'delete');
        if (hit && exclude?.test(staticPrefix(p.path))) hit = undefined;
      } else {
        hit = p.recursive ? include.testTree(p.path) : include.test(p.path);
        if (!hit && dynamic) {
          const pat = dynamicPattern(p.path);
          if (pat) hit = include.intersects(pat);
        }
        if (hit && exclude?.test(p.path)) hit = undefined;
      }
      if (!hit) continue;
      hits.push({
        kind: 'path',
        text: `${p.access} ${p.path}${p.recursive ? ' (recursively)' : ''}${p.linkFrom ? ` (symlink ${p.linkFrom})` : ''} (${p.via})`,
        matched: hit,
      });
    }
    return hits.length ? hits : null;
  };
}

function truncate(s: string, n = 160): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}
