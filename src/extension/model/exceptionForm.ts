/**
 * The "request a temporary exception" form (pure): which scopes a blocked call allows, which durations the
 * rule allows, validation of each field, and the request draft sent to the server.
 *
 * Scopes (research/bundles-audit-server.md §4.2): this exact call (SHA-256 of the tool input), a command
 * prefix (argv words, Bash only, for a single simple command), a path (a file, or a folder and everything
 * below it), an MCP tool. The server and the evaluator decide what a grant really covers; the form only
 * offers what makes sense and refuses what cannot be granted.
 */
import { canonicalInputSha256 } from '../../core/exceptions/grant';
import type { DecisionEntry } from './decisions';
import { mcpParts } from './summary';

export type Matcher =
  | { kind: 'exact'; inputSha256: string }
  | { kind: 'commandPrefix'; argv: string[] }
  | { kind: 'pathGlob'; glob: string }
  | { kind: 'mcpTool'; name: string };

export interface ScopeChoice {
  matcher: Matcher;
  label: string;
  detail: string;
}

export interface ScopeOptions {
  choices: ScopeChoice[];
  /** Scope kinds that are not offered for this call, and why. */
  unavailable: { kind: Matcher['kind']; why: string }[];
}

/** Exception settings of a rule, as the policy states them. */
export interface RuleExceptionPolicy {
  allowed: boolean;
  /** e.g. "1h"; default 8h. */
  maxDuration?: string;
}

export const MIN_JUSTIFICATION = 15;
export const MAX_JUSTIFICATION = 1000;
export const DEFAULT_MAX_MS = 8 * 3600_000;
export const HARD_CAP_MS = 14 * 86_400_000;
const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PRESETS = ['15m', '1h', '4h', '8h', '1d', '7d'];

export function parseDuration(text: string): number | undefined {
  const m = /^\s*([1-9][0-9]{0,6})\s*(s|m|h|d)\s*$/i.exec(text);
  return m ? Number(m[1]) * UNIT[m[2]!.toLowerCase()]! : undefined;
}

/** "15 minutes", "1 hour", "2 days". */
export function durationWords(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']];
  for (const [u, w] of units) if (ms % u === 0 && ms >= u) return `${ms / u} ${w}${ms / u === 1 ? '' : 's'}`;
  return `${Math.round(ms / 1000)} seconds`;
}

/** ISO 8601 duration (PT1H30M) of whole seconds. */
export function isoDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const t = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  return `P${d ? `${d}D` : ''}${t ? `T${t}` : ''}` || 'PT0S';
}

/** The longest exception the rule allows, or a reason why it allows none. */
export function maxDurationFor(rule: RuleExceptionPolicy | undefined): { ms: number } | { why: string } {
  if (!rule || !rule.allowed) return { why: 'the policy does not allow exceptions for this rule' };
  const ms = rule.maxDuration ? parseDuration(rule.maxDuration) : DEFAULT_MAX_MS;
  if (ms === undefined) return { why: `the rule's maxDuration ${JSON.stringify(rule.maxDuration)} is not a duration` };
  return { ms: Math.min(ms, HARD_CAP_MS) };
}

/** Duration presets up to the maximum (the maximum itself is always offered). */
export function durationChoices(maxMs: number): { text: string; ms: number }[] {
  const out = PRESETS.map((t) => ({ text: t, ms: parseDuration(t)! })).filter((p) => p.ms <= maxMs);
  if (!out.some((p) => p.ms === maxMs)) out.push({ text: compactDuration(maxMs), ms: maxMs });
  return out;
}

export function compactDuration(ms: number): string {
  for (const [u, unit] of [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm']] as const) if (ms % u === 0) return `${ms / u}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

export function validateDuration(text: string, maxMs: number): string | undefined {
  const ms = parseDuration(text);
  if (ms === undefined) return 'Enter a duration such as 15m, 1h or 2d';
  if (ms > maxMs) return `At most ${durationWords(maxMs)} for this rule`;
  if (ms < 60_000) return 'At least 1 minute';
  return undefined;
}

export function validateJustification(text: string): string | undefined {
  const t = text.trim();
  if (t.length < MIN_JUSTIFICATION) return `Say why (at least ${MIN_JUSTIFICATION} characters; ${t.length} so far)`;
  if (t.length > MAX_JUSTIFICATION) return `At most ${MAX_JUSTIFICATION} characters`;
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(t)) return 'Control characters are not allowed';
  return undefined;
}

const SHELL_META = /[;&|<>`$(){}\n\\*?[\]!#~'"]/;

/** The words of a simple command (no operators, quoting, substitution, globs), or why it is not one. */
export function simpleArgv(command: string): { argv: string[] } | { why: string } {
  if (command.includes('[REDACTED') || command.includes('[erased]')) return { why: 'the recorded command was redacted' };
  if (SHELL_META.test(command)) return { why: 'the command is not a single simple command (operators, quotes or substitutions)' };
  const argv = command.trim().split(/\s+/).filter(Boolean);
  if (!argv.length) return { why: 'the command is empty' };
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0]!)) return { why: 'the command starts with a variable assignment' };
  return { argv };
}

const PATH_FACT = /^(?:read|write|delete|exec|list) (\/.*?)(?: \(recursively\))?(?: \(symlink [^)]*\))? \([^()]*\)$/;

/** Absolute paths the deciding rules matched, from their fact texts ("read /p/.env (cat operand)"). */
export function matchedPaths(e: DecisionEntry): string[] {
  const out = new Set<string>();
  for (const m of e.matched) {
    if (e.ruleIds.length && !e.ruleIds.includes(m.ruleId)) continue;
    for (const f of m.facts) {
      const hit = PATH_FACT.exec(f);
      if (hit && !hit[1]!.includes('\u27ea')) out.add(hit[1]!);
    }
  }
  return [...out];
}

function parentDir(p: string): string | undefined {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i > 0 ? p.slice(0, i) : undefined;
}

export function scopeOptions(e: DecisionEntry): ScopeOptions {
  const choices: ScopeChoice[] = [];
  const unavailable: ScopeOptions['unavailable'] = [];
  // An exact grant names the sha256 of the input's canonical JSON: computable only from a complete record.
  if (e.inputComplete) choices.push({ matcher: { kind: 'exact', inputSha256: canonicalInputSha256(e.input) }, label: 'This exact call', detail: `Only ${e.tool} with exactly this input${e.summary ? `: ${e.summary}` : ''}` });
  else unavailable.push({ kind: 'exact', why: 'the recorded input was redacted or cut, so the exact call cannot be named' });

  if (e.tool === 'Bash') {
    const cmd = e.input && typeof e.input === 'object' ? (e.input as Record<string, unknown>).command : undefined;
    const parsed = typeof cmd === 'string' ? simpleArgv(cmd) : { why: 'the recorded command is not available' };
    if ('argv' in parsed) {
      const n = parsed.argv.length;
      // The program alone is too broad for anything but the least risky programs; offer 2+ words first.
      for (let k = Math.min(n, 3); k >= 1; k--) {
        if (k === 1 && n > 1) continue;
        const argv = parsed.argv.slice(0, k);
        choices.push({ matcher: { kind: 'commandPrefix', argv }, label: `Commands starting with \`${argv.join(' ')}\``, detail: 'Any single command with these first words (never chained commands)' });
      }
    } else unavailable.push({ kind: 'commandPrefix', why: parsed.why });
  } else unavailable.push({ kind: 'commandPrefix', why: 'only shell commands (Bash) have a command prefix' });

  const paths = matchedPaths(e);
  if (paths.length) {
    for (const p of paths.slice(0, 3)) {
      choices.push({ matcher: { kind: 'pathGlob', glob: p }, label: `The path ${p}`, detail: 'Any tool call touching exactly this path' });
      const dir = parentDir(p);
      if (dir && dir !== '/' && dir.split('/').length > 2) choices.push({ matcher: { kind: 'pathGlob', glob: `${dir}/**` }, label: `Everything under ${dir}/`, detail: 'Any tool call touching a path in this folder' });
    }
  } else unavailable.push({ kind: 'pathGlob', why: 'the deciding rule matched no path' });

  const mcp = mcpParts(e.tool);
  if (mcp) choices.push({ matcher: { kind: 'mcpTool', name: e.tool }, label: `The MCP tool ${mcp.tool} (server ${mcp.server})`, detail: 'Any call of this MCP tool' });
  else unavailable.push({ kind: 'mcpTool', why: 'this is not an MCP tool' });
  return { choices, unavailable };
}

export interface ExceptionDraft {
  ruleIds: string[];
  tool: string;
  matcher: Matcher;
  durationMs: number;
  justification: string;
  sourceEventId: string;
  sessionId: string | null;
  cwd: string | null;
  policy: { id: string; version: string };
}

export interface FormInput {
  entry: DecisionEntry;
  matcher: Matcher;
  duration: string;
  justification: string;
  rule: RuleExceptionPolicy | undefined;
}

/** Validate the whole form; returns the draft or every problem. */
export function buildDraft(f: FormInput): { draft: ExceptionDraft } | { errors: string[] } {
  const errors: string[] = [];
  if (!f.entry.ruleIds.length) errors.push('No rule decided this call: there is nothing to make an exception from');
  const max = maxDurationFor(f.rule);
  let ms: number | undefined;
  if ('why' in max) errors.push(`No exception possible: ${max.why}`);
  else {
    const bad = validateDuration(f.duration, max.ms);
    if (bad) errors.push(bad);
    else ms = parseDuration(f.duration);
  }
  const allowed = scopeOptions(f.entry).choices.some((c) => JSON.stringify(c.matcher) === JSON.stringify(f.matcher));
  if (!allowed) errors.push('That scope is not available for this call');
  const j = validateJustification(f.justification);
  if (j) errors.push(j);
  if (errors.length || ms === undefined) return { errors };
  return {
    draft: {
      ruleIds: [...f.entry.ruleIds],
      tool: f.entry.tool,
      matcher: f.matcher,
      durationMs: ms,
      justification: f.justification.trim(),
      sourceEventId: f.entry.id,
      sessionId: f.entry.sessionId || null,
      cwd: f.entry.cwd,
      policy: { id: f.entry.policy.id, version: f.entry.policy.version },
    },
  };
}

export function describeMatcher(m: Matcher): string {
  switch (m.kind) {
    case 'exact':
      return `exact call (input sha256 ${m.inputSha256.slice(0, 12)}…)`;
    case 'commandPrefix':
      return `commands starting with "${m.argv.join(' ')}"`;
    case 'pathGlob':
      return `path ${m.glob}`;
    case 'mcpTool':
      return `MCP tool ${m.name}`;
  }
}
