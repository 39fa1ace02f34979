/**
 * What Agent Warden's own hook entries in a Claude Code settings file look like, and how to recognise them.
 * Shared by the installer, `warden doctor` and the hook runner (ConfigChange tamper check), so it stays
 * dependency-free and cheap to load.
 */

/** The argument every guard hook command carries; uninstall removes exactly the entries that have it. */
export const GUARD_MARKER = '--agent-warden';

/**
 * Every event the guard is installed for. PreToolUse decides; ConfigChange can veto; the rest record.
 * PostToolBatch is there for completeness of the audit trail: it lists every call of a batch, including
 * calls Claude Code refused before any PreToolUse hook ran (permissions.deny rules, e.g. the backstop).
 */
export const GUARD_EVENTS = [
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'PostToolBatch',
  'UserPromptSubmit',
  'SessionStart',
  'SessionEnd',
  'ConfigChange',
  'SubagentStart',
  'SubagentStop',
  'Stop',
] as const;
export type GuardEvent = (typeof GUARD_EVENTS)[number];

/**
 * Events whose failure (crash, timeout, bad output) should count as a block when the installed Claude Code
 * supports `onFailure: "block"`: the guard decisions. A failing recorder must never block a prompt or a
 * session, so the recording events keep Claude Code's default ("continue").
 */
export const FAIL_CLOSED_EVENTS: readonly GuardEvent[] = ['PreToolUse', 'ConfigChange'];

/** Per-event hook `timeout` in seconds: generous, far above the hook's own deadline (5 s by default). */
export function guardTimeout(event: GuardEvent): number {
  // SessionEnd holds Claude Code's exit for up to the largest SessionEnd timeout; keep that short.
  return event === 'SessionEnd' ? 10 : 30;
}

/** A tokenised shell word: true when the word is our marker (quoted or not). */
export function isGuardCommand(command: unknown): boolean {
  if (typeof command !== 'string') return false;
  return /(^|\s)["']?--agent-warden["']?(\s|$)/.test(command);
}

export interface GuardHookRef {
  event: string;
  matcher: string | undefined;
  command: string;
  timeout?: number;
  onFailure?: string;
}

/** Every guard hook entry in a parsed settings object (no validation: anything not shaped right is skipped). */
export function guardHooksIn(settings: unknown): GuardHookRef[] {
  const out: GuardHookRef[] = [];
  if (!isObject(settings) || !isObject(settings.hooks)) return out;
  for (const [event, groups] of Object.entries(settings.hooks)) {
    if (!Array.isArray(groups)) continue;
    for (const g of groups) {
      if (!isObject(g) || !Array.isArray(g.hooks)) continue;
      for (const h of g.hooks) {
        if (!isObject(h) || h.type !== 'command' || !isGuardCommand(h.command)) continue;
        const ref: GuardHookRef = { event, matcher: typeof g.matcher === 'string' ? g.matcher : undefined, command: h.command as string };
        if (typeof h.timeout === 'number') ref.timeout = h.timeout;
        if (typeof h.onFailure === 'string') ref.onFailure = h.onFailure;
        out.push(ref);
      }
    }
  }
  return out;
}

/** True when a matcher string matches every tool name as Claude Code reads it (missing, "" or "*"). */
export function matchesAll(matcher: string | undefined): boolean {
  return matcher === undefined || matcher === '' || matcher === '*';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Quote one word for the POSIX shell Claude Code runs hook commands through (bash, or Git Bash on
 * Windows). Double quotes with `\`, `"`, `$` and backquote escaped: safe for spaces and every other byte.
 */
export function shellQuote(word: string): string {
  return '"' + word.replace(/["\\$`]/g, (c) => '\\' + c) + '"';
}

/** Split a guard command back into words (the inverse of how `guardCommand` writes it). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === '"') {
      inWord = true;
      for (i++; i < command.length && command[i] !== '"'; i++) {
        if (command[i] === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) i++;
        cur += command[i];
      }
    } else if (c === "'") {
      inWord = true;
      for (i++; i < command.length && command[i] !== "'"; i++) cur += command[i];
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      if (c === '\\' && i + 1 < command.length) i++;
      cur += command[i];
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export interface GuardCommandParts {
  /** `VAR=value` prefixes (ELECTRON_RUN_AS_NODE=1 when the runtime is an Electron binary). */
  env: Record<string, string>;
  node: string;
  hook: string;
  args: string[];
}

/** The parts of a guard command: runtime, hook script, and the hook's own arguments. */
export function parseGuardCommand(command: string): GuardCommandParts | undefined {
  const words = shellWords(command);
  const env: Record<string, string> = {};
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
    const w = words.shift()!;
    const eq = w.indexOf('=');
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  if (words.length < 2) return undefined;
  return { env, node: words[0]!, hook: words[1]!, args: words.slice(2).filter((w) => w !== GUARD_MARKER) };
}

/** Build the command line Claude Code runs: absolute runtime and script, quoted, marker first. */
export function guardCommand(p: GuardCommandParts): string {
  const env = Object.entries(p.env).map(([k, v]) => `${k}=${/^[A-Za-z0-9_.\/:-]*$/.test(v) ? v : shellQuote(v)}`);
  return [...env, shellQuote(p.node), shellQuote(p.hook), GUARD_MARKER, ...p.args.map(shellQuote)].join(' ');
}

/**
 * The install record beside a settings file: what `warden install` added beyond its hook entries, so
 * uninstall removes only that. Not named *.json: Claude Code reads every *.json in managed-settings.d/.
 */
export const installRecordFile = (settingsFile: string): string => `${settingsFile}.agent-warden-record`;
/** Where records were kept before (read for upgrades, removed on the next write). */
export const legacyInstallRecordFile = (settingsFile: string): string => `${settingsFile}.agent-warden.json`;
