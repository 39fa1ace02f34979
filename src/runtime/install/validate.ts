/**
 * Our own validation of a Claude Code settings object, for the keys Agent Warden writes or relies on
 * (research/claude-code-hooks.md §2.1, §3.3). Claude Code drops an invalid settings file as a whole,
 * silently, hooks and permission rules included, so the installer refuses to write anything that fails
 * here, and `warden doctor` reports it.
 *
 * `error`: Claude Code would reject the whole file. `warning`: Claude Code ignores that item only
 * (an unknown event name, an invalid permission rule), or the item does not do what it looks like.
 */
import { isObject } from './guardHooks';

export interface SettingsIssue {
  severity: 'error' | 'warning';
  /** JSON path, e.g. `hooks.PreToolUse[0].hooks[1].timeout`. */
  path: string;
  message: string;
}

/** Hook events known to the pinned Claude Code versions (2.1.197; 2.1.329 adds the last three). */
export const KNOWN_EVENTS = new Set([
  'PreToolUse', 'PostToolUse', 'PostToolUseFailure', 'PostToolBatch', 'Notification', 'UserPromptSubmit',
  'UserPromptExpansion', 'SessionStart', 'SessionEnd', 'Stop', 'StopFailure', 'SubagentStart', 'SubagentStop',
  'PreCompact', 'PostCompact', 'PermissionRequest', 'PermissionDenied', 'Setup', 'TeammateIdle', 'TaskCreated',
  'TaskCompleted', 'Elicitation', 'ElicitationResult', 'ConfigChange', 'WorktreeCreate', 'WorktreeRemove',
  'InstructionsLoaded', 'CwdChanged', 'FileChanged', 'MessageDisplay', 'PreModelSwitch', 'PostModelSwitch',
  'DirectoryAdded',
]);

export const PERMISSION_MODES = ['acceptEdits', 'auto', 'bypassPermissions', 'default', 'dontAsk', 'plan'];

const HOOK_TYPES = ['command', 'prompt', 'agent', 'http', 'mcp_tool'];
const FILE_TOOLS = ['Read', 'Edit', 'Write', 'NotebookEdit', 'Glob', 'Grep', 'MultiEdit'];

type Check = (v: unknown) => string | undefined;
const str: Check = (v) => (typeof v === 'string' ? undefined : 'must be a string');
const nonEmptyStr: Check = (v) => (typeof v === 'string' && v.length > 0 ? undefined : 'must be a non-empty string');
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'must be a positive number (seconds)');
const strArray: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'must be an array of strings');
const oneOf = (...vals: string[]): Check => (v) => (typeof v === 'string' && vals.includes(v) ? undefined : `must be one of ${vals.map((x) => JSON.stringify(x)).join(', ')}`);
const strRecord: Check = (v) => (isObject(v) && Object.values(v).every((x) => typeof x === 'string') ? undefined : 'must be an object of strings');
const object: Check = (v) => (isObject(v) ? undefined : 'must be an object');

const HOOK_FIELDS: Record<string, { required: Record<string, Check>; optional: Record<string, Check> }> = {
  command: {
    required: { command: str },
    optional: {
      args: strArray, if: str, shell: oneOf('bash', 'powershell'), timeout: positive, statusMessage: str, once: bool,
      async: bool, asyncRewake: bool, onFailure: oneOf('continue', 'block'), rewakeMessage: nonEmptyStr, rewakeSummary: nonEmptyStr,
    },
  },
  prompt: { required: { prompt: str }, optional: { model: str, timeout: positive, statusMessage: str, once: bool, if: str } },
  agent: { required: { prompt: str }, optional: { model: str, timeout: positive, statusMessage: str, once: bool, if: str } },
  http: { required: { url: str }, optional: { headers: strRecord, allowedEnvVars: strArray, timeout: positive, statusMessage: str, once: bool, if: str, onFailure: oneOf('continue', 'block') } },
  mcp_tool: { required: { server: str, tool: str }, optional: { input: object, timeout: positive, statusMessage: str, once: bool, if: str, onFailure: oneOf('continue', 'block') } },
};

export function validateSettings(settings: unknown): SettingsIssue[] {
  const issues: SettingsIssue[] = [];
  const err = (path: string, message: string): void => void issues.push({ severity: 'error', path, message });
  const warn = (path: string, message: string): void => void issues.push({ severity: 'warning', path, message });
  if (!isObject(settings)) {
    err('', 'the settings file must hold a JSON object');
    return issues;
  }
  for (const k of ['disableAllHooks', 'allowManagedHooksOnly']) {
    if (k in settings) {
      const m = bool(settings[k]);
      if (m) err(k, m);
    }
  }
  if ('hooks' in settings) validateHooks(settings.hooks, err, warn);
  if ('permissions' in settings) validatePermissions(settings.permissions, err, warn);
  return issues;
}

function validateHooks(hooks: unknown, err: (p: string, m: string) => void, warn: (p: string, m: string) => void): void {
  if (!isObject(hooks)) return err('hooks', 'must be an object of event name → matcher groups');
  for (const [event, groups] of Object.entries(hooks)) {
    const ep = `hooks.${event}`;
    if (!KNOWN_EVENTS.has(event)) warn(ep, `"${event}" is not a hook event Claude Code knows; it is ignored`);
    if (!Array.isArray(groups)) {
      err(ep, 'must be an array of matcher groups');
      continue;
    }
    groups.forEach((g, gi) => {
      const gp = `${ep}[${gi}]`;
      if (!isObject(g)) return err(gp, 'must be an object {matcher?, hooks}');
      if ('matcher' in g && g.matcher !== undefined) {
        if (typeof g.matcher !== 'string') err(`${gp}.matcher`, 'must be a string');
        else if (!/^[A-Za-z0-9_|, ]*$/.test(g.matcher) && g.matcher !== '*') {
          try {
            new RegExp(g.matcher);
          } catch {
            warn(`${gp}.matcher`, `"${g.matcher}" is neither a list of names nor a valid regular expression; it never matches`);
          }
        }
      }
      if (!Array.isArray(g.hooks)) return err(`${gp}.hooks`, 'must be an array of hooks');
      g.hooks.forEach((h, hi) => validateHook(h, `${gp}.hooks[${hi}]`, err));
    });
  }
}

function validateHook(h: unknown, p: string, err: (p: string, m: string) => void): void {
  if (!isObject(h)) return err(p, 'must be an object');
  if (typeof h.type !== 'string' || !HOOK_TYPES.includes(h.type)) return err(`${p}.type`, `must be one of ${HOOK_TYPES.map((t) => JSON.stringify(t)).join(', ')}`);
  const spec = HOOK_FIELDS[h.type]!;
  for (const [k, check] of Object.entries(spec.required)) {
    if (!(k in h)) err(`${p}.${k}`, 'is required');
    else {
      const m = check(h[k]);
      if (m) err(`${p}.${k}`, m);
    }
  }
  for (const [k, check] of Object.entries(spec.optional)) {
    if (k in h && h[k] !== undefined) {
      const m = check(h[k]);
      if (m) err(`${p}.${k}`, m);
    }
  }
  if (h.type === 'command' && typeof h.command === 'string' && /\$\{CLAUDE_PLUGIN_ROOT\}/.test(h.command)) {
    err(`${p}.command`, '${CLAUDE_PLUGIN_ROOT} is only valid in plugin hooks');
  }
}

function validatePermissions(perms: unknown, err: (p: string, m: string) => void, warn: (p: string, m: string) => void): void {
  if (!isObject(perms)) return err('permissions', 'must be an object');
  for (const list of ['allow', 'deny', 'ask'] as const) {
    if (!(list in perms)) continue;
    const rules = perms[list];
    if (!Array.isArray(rules)) {
      err(`permissions.${list}`, 'must be an array of permission rules');
      continue;
    }
    rules.forEach((r, i) => {
      if (typeof r !== 'string') return err(`permissions.${list}[${i}]`, 'must be a string');
      const m = permissionRuleError(r);
      if (m) warn(`permissions.${list}[${i}]`, `${JSON.stringify(r)}: ${m} (Claude Code ignores this rule)`);
    });
  }
  if ('defaultMode' in perms) {
    const m = oneOf(...PERMISSION_MODES)(perms.defaultMode);
    if (m) err('permissions.defaultMode', m);
  }
  if ('disableBypassPermissionsMode' in perms) {
    const m = oneOf('disable')(perms.disableBypassPermissionsMode);
    if (m) err('permissions.disableBypassPermissionsMode', m);
  }
  if ('additionalDirectories' in perms) {
    const m = strArray(perms.additionalDirectories);
    if (m) err('permissions.additionalDirectories', m);
  }
}

/**
 * Why a permission rule is invalid (research §3.3), or undefined. `Tool`, `Tool(specifier)`, MCP rules
 * without parentheses, the legacy `:*` prefix form only at the end of Bash rules, never in file rules.
 */
export function permissionRuleError(rule: string): string | undefined {
  if (!rule.trim()) return 'a permission rule cannot be empty';
  const opens = rule.split('(').length - 1;
  const closes = rule.split(')').length - 1;
  if (opens !== closes) return 'mismatched parentheses';
  const open = rule.indexOf('(');
  const tool = open < 0 ? rule : rule.slice(0, open);
  const content = open < 0 ? undefined : rule.slice(open + 1, rule.endsWith(')') ? -1 : undefined);
  if (open >= 0 && !rule.endsWith(')')) return 'text after the closing parenthesis';
  if (content !== undefined && content === '') return `empty parentheses: use "${tool}" alone`;
  if (!tool) return 'the tool name is missing';
  if (tool.startsWith('mcp__')) {
    if (content !== undefined) return 'MCP rules take no parentheses (mcp__server, mcp__server__*, mcp__server__tool)';
    return undefined;
  }
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(tool)) return `"${tool}" is not a tool name`;
  if (!tool.includes('_') && tool[0] !== tool[0]!.toUpperCase()) return 'tool names start with an uppercase letter';
  if (content === undefined) return undefined;
  if (tool === 'Bash' || tool === 'PowerShell') {
    if (content.includes(':*') && !content.endsWith(':*')) return 'the legacy ":*" prefix form must be at the end';
    if (content === ':*') return 'an empty prefix before ":*"';
  }
  if (FILE_TOOLS.includes(tool) && content.includes(':*')) return 'the ":*" form is only for Bash prefix rules; use globs for files';
  if (tool === 'WebFetch' && !content.startsWith('domain:')) return 'WebFetch rules take "domain:<host>", not a URL';
  return undefined;
}
