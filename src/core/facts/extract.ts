/**
 * From a hook payload to the facts the policy matches: whatever the tool, every path it touches, every
 * program it runs, every destination it contacts. A payload the analyser cannot make sense of yields
 * `unanalyzable` reasons instead of a guess.
 */
import { expandHome, normalizeAbs, procAlias, resolveLexical, resolvePhysical, toPosix, type FsProbe, type Platform } from '../paths/paths';
import { analyzeShell } from '../shell/analyze';
import { urlFacts } from '../shell/programs';
import { secretFactsOf } from '../scan/inputs';
import type { Access, Facts, HookInput, McpStatus, PathFact, TaintFact } from '../types';

/** Session state the hook read from the guard's state directory (taint, MCP inventory) for this call. */
export interface SessionFacts {
  /** What tainted this session (already filtered for expiry). */
  taint?: TaintFact[];
  /** MCP server name → how it compares with the recorded definition. */
  mcp?: Record<string, { status: McpStatus; scope?: string }>;
}

export interface AnalysisEnv {
  home: string;
  user: string;
  platform: Platform;
  /** Project root (CLAUDE_PROJECT_DIR); the session cwd when unknown. */
  workspace?: string;
  /** Environment variables the agent's commands see (a safe subset). */
  vars: Readonly<Record<string, string>>;
  fs?: FsProbe;
  homeOf?(user: string): string | undefined;
  /** Absolute time (ms) after which analysis gives up. */
  deadline?: number;
  /** Scan the input for credentials (secret facts). Default true. */
  secrets?: boolean;
  /** Session state for taint and MCP facts. */
  session?: SessionFacts;
}

/** Keys whose string values MCP and unknown tools use for file system locations. */
const PATH_KEY = /(^|_|-)(path|paths|file|files|filename|filepath|file_path|dir|dirs|directory|folder|root|cwd|target|source|src|dest|destination|location|notebook_path|uri)$/i;
const WRITE_VERB = /(write|edit|create|update|save|put|append|insert|patch|replace|move|rename|upload|set|modify|mkdir|copy|apply)/i;
/** Tools that walk a directory: a path argument covers the whole tree. */
const TREE_VERB = /(search|grep|find|glob|list|tree|walk|directory|dir|ls|index)/i;
/** Tools that run a shell command given as an argument. */
const SHELL_TOOL = /(^|_)(run_command|run_shell|run_terminal_cmd|execute_command|exec_command|start_process|spawn_process|run_process|interact_with_process|spawn|run|exec|execute|shell|bash|terminal|command|cmd|sh)($|_)/i;
const SHELL_KEY = /^(command|cmd|script|commandline|command_line|shell_command|bash_command)$/i;
/** Keys whose values name a network destination. */
const URL_KEY = /(^|_|-)(url|urls|href|endpoint|link|host|hostname)$/i;
/** Keys whose values are text, never locations (file contents, messages, queries). */
const CONTENT_KEY = /^(content|contents|text|body|message|messages|query|sql|prompt|description|title|comment|comments|data|code|value|new_string|old_string|new_source|patch|diff|html|markdown|summary|note|notes|input|instructions|pattern|regex)$/i;
const DELETE_VERB = /(delete|remove|unlink|rm|trash|drop|purge|erase)/i;
const MAX_WALK_STRINGS = 512;
const MAX_WALK_DEPTH = 12;

function emptyFacts(tool: string, context: Facts['context']): Facts {
  return { tool, paths: [], commands: [], urls: [], env: [], risks: [], unanalyzable: [], context };
}

export function extractFacts(input: HookInput, env: AnalysisEnv): Facts {
  const facts = extractToolFacts(input, env);
  if (env.session?.taint?.length) facts.taint = env.session.taint;
  if (facts.tool.startsWith('mcp__')) {
    const [, server = '', ...rest] = facts.tool.split('__');
    const known = env.session?.mcp?.[server];
    facts.mcp = { server, tool: rest.join('__'), status: known?.status ?? 'unconfigured', ...(known?.scope ? { scope: known.scope } : {}) };
  }
  const ti = input.tool_input;
  if (env.secrets !== false && facts.tool && ti && typeof ti === 'object' && !Array.isArray(ti)) {
    const secrets = secretFactsOf(facts.tool, ti as Record<string, unknown>, facts);
    if (secrets.length) facts.secrets = secrets;
  }
  return facts;
}

function extractToolFacts(input: HookInput, env: AnalysisEnv): Facts {
  const tool = typeof input.tool_name === 'string' ? input.tool_name : '';
  const rawCwd = typeof input.cwd === 'string' && input.cwd ? toPosix(input.cwd, env.platform) : undefined;
  const workspace = env.workspace ? normalizeAbs(toPosix(env.workspace, env.platform)) : rawCwd && rawCwd.startsWith('/') ? normalizeAbs(rawCwd) : env.home;
  const cwd = rawCwd && rawCwd.startsWith('/') ? normalizeAbs(rawCwd) : workspace;
  const context: Facts['context'] = { cwd, workspace };
  if (typeof input.permission_mode === 'string') context.permissionMode = input.permission_mode;
  if (typeof input.session_id === 'string') context.sessionId = input.session_id;
  if (typeof input.agent_id === 'string') context.agentId = input.agent_id;
  if (typeof input.agent_type === 'string') context.agentType = input.agent_type;
  if (typeof input.hook_event_name === 'string') context.hookEvent = input.hook_event_name;
  const facts = emptyFacts(tool, context);
  if (!tool) {
    facts.unanalyzable.push('the hook input has no tool_name');
    return facts;
  }
  if (rawCwd !== undefined && !rawCwd.startsWith('/')) facts.unanalyzable.push(`the session cwd is not an absolute path: ${JSON.stringify(input.cwd)}`);
  const ti = input.tool_input;
  if (ti === null || typeof ti !== 'object' || Array.isArray(ti)) {
    facts.unanalyzable.push(`tool_input of ${tool} is not an object`);
    return facts;
  }
  const args = ti as Record<string, unknown>;
  const pathOf = (value: unknown, field: string): string | null => {
    if (typeof value !== 'string' || value === '') {
      facts.unanalyzable.push(`${tool}.${field} is missing or not a string`);
      return null;
    }
    return resolveToolPath(value, cwd, env);
  };
  const add = (path: string, access: Access, via: string, extra: Partial<PathFact> = {}): void => {
    addPath(facts, env, path, access, via, extra);
  };

  switch (tool) {
    case 'Bash': {
      const command = args.command;
      if (typeof command !== 'string') {
        facts.unanalyzable.push('Bash.command is missing or not a string');
        break;
      }
      if (args.dangerouslyDisableSandbox === true) facts.risks.push({ kind: 'sandbox-disable', detail: 'Bash call asks to run outside the sandbox' });
      addShellFacts(facts, env, command, cwd, { ...env.vars, CLAUDE_PROJECT_DIR: workspace });
      break;
    }
    case 'Read': {
      const p = pathOf(args.file_path, 'file_path');
      if (p) add(p, 'read', 'Read.file_path');
      break;
    }
    case 'Write':
    case 'Edit':
    case 'MultiEdit': {
      const p = pathOf(args.file_path, 'file_path');
      if (p) add(p, 'write', `${tool}.file_path`);
      break;
    }
    case 'NotebookEdit': {
      const p = pathOf(args.notebook_path, 'notebook_path');
      if (p) add(p, 'write', 'NotebookEdit.notebook_path');
      break;
    }
    case 'NotebookRead': {
      const p = pathOf(args.notebook_path, 'notebook_path');
      if (p) add(p, 'read', 'NotebookRead.notebook_path');
      break;
    }
    case 'Glob': {
      if (typeof args.pattern !== 'string' || !args.pattern) {
        facts.unanalyzable.push('Glob.pattern is missing or not a string');
        break;
      }
      const base = typeof args.path === 'string' && args.path ? resolveToolPath(args.path, cwd, env) : cwd;
      add(base, 'list', 'Glob.path', { recursive: true });
      add(joinPattern(base, args.pattern), 'list', 'Glob.pattern', { pattern: true });
      break;
    }
    case 'Grep': {
      const base = typeof args.path === 'string' && args.path ? resolveToolPath(args.path, cwd, env) : cwd;
      add(base, 'read', 'Grep.path', { recursive: true });
      if (typeof args.glob === 'string' && args.glob) add(joinPattern(base, args.glob), 'read', 'Grep.glob', { pattern: true });
      if (args.path !== undefined && typeof args.path !== 'string') facts.unanalyzable.push('Grep.path is not a string');
      break;
    }
    case 'LS': {
      const p = pathOf(args.path, 'path');
      if (p) add(p, 'list', 'LS.path');
      break;
    }
    case 'WebFetch': {
      if (typeof args.url !== 'string' || !args.url) {
        facts.unanalyzable.push('WebFetch.url is missing or not a string');
        break;
      }
      const us = urlFacts(args.url, 'WebFetch.url', 'https');
      if (!us.length) facts.unanalyzable.push(`WebFetch.url is not a URL: ${args.url.slice(0, 200)}`);
      else {
        for (const u of us) {
          if (/[?#]/.test(args.url) && /[?&][^=]+=[^&]{24,}/.test(args.url)) u.sends = 'literal';
          facts.urls.push(u);
        }
        if (us[0]!.scheme === 'file') add(resolveToolPath(args.url, cwd, env), 'read', 'WebFetch file://');
      }
      break;
    }
    case 'WebSearch':
      if (typeof args.query !== 'string') facts.unanalyzable.push('WebSearch.query is missing or not a string');
      break;
    default:
      walkArguments(facts, env, tool, args, cwd);
  }
  return facts;
}

function addPath(facts: Facts, env: AnalysisEnv, path: string, access: Access, via: string, extra: Partial<PathFact>): void {
  facts.paths.push({ path, access, via, ...extra });
  if (extra.pattern) return;
  const physical = procAlias(resolvePhysical(path, env.fs), '/');
  if (physical !== path) facts.paths.push({ path: physical, access, via, ...extra, linkFrom: path });
}

/** Tool paths: absolute, `~`-relative, `file://` URIs or Windows spellings; relative ones against the cwd. */
export function resolveToolPath(raw: string, cwd: string, env: AnalysisEnv): string {
  const p = toPosix(expandHome(raw.trim(), env.home), env.platform);
  // /proc/<pid>/root/x is /x, /proc/<pid>/cwd/x is x in the session's cwd (the tool's own process view).
  return procAlias(resolveLexical(cwd, p), cwd);
}

function joinPattern(base: string, pattern: string): string {
  if (pattern.startsWith('/')) return pattern;
  const p = pattern.startsWith('**') || pattern.includes('/') ? pattern : `**/${pattern}`;
  return `${base.replace(/\/$/, '')}/${p}`;
}

/** A shell command's facts (the Bash tool's, or a shell-running MCP tool's), run from `cwd`. */
function addShellFacts(facts: Facts, env: AnalysisEnv, command: string, cwd: string, vars: Record<string, string>): void {
  const shell = analyzeShell(command, {
    home: env.home,
    user: env.user,
    platform: env.platform,
    cwd,
    vars,
    ...(env.fs ? { fs: env.fs } : {}),
    ...(env.homeOf ? { homeOf: env.homeOf } : {}),
    ...(env.deadline !== undefined ? { deadline: env.deadline } : {}),
  });
  facts.paths.push(...shell.paths);
  facts.commands.push(...shell.commands);
  facts.urls.push(...shell.urls);
  facts.env.push(...shell.env);
  facts.risks.push(...shell.risks);
  facts.unanalyzable.push(...shell.unanalyzable);
}

/**
 * MCP and unknown tools: every string argument under a path-like key, or that looks like a path or a
 * file URI, is a path fact; the access is guessed from the tool name's verb; URLs become URL facts.
 */
function walkArguments(facts: Facts, env: AnalysisEnv, tool: string, args: Record<string, unknown>, cwd: string): void {
  const verb = tool.startsWith('mcp__') ? tool.split('__').slice(2).join('__') : tool;
  const access: Access = DELETE_VERB.test(verb) ? 'delete' : WRITE_VERB.test(verb) ? 'write' : 'read';
  const tree = access === 'read' && TREE_VERB.test(verb);
  // A shell-running tool's command is analysed like a Bash call.
  if (SHELL_TOOL.test(verb)) {
    for (const [key, value] of Object.entries(args)) {
      if (!SHELL_KEY.test(key) || typeof value !== 'string') continue;
      const dir = ['cwd', 'workdir', 'working_directory', 'directory', 'dir'].map((k) => args[k]).find((v): v is string => typeof v === 'string');
      addShellFacts(facts, env, value, dir ? resolveToolPath(dir, cwd, env) : cwd, env.vars);
    }
  }
  let count = 0;
  const visit = (value: unknown, key: string, depth: number): void => {
    if (count > MAX_WALK_STRINGS) return;
    if (depth > MAX_WALK_DEPTH) {
      facts.unanalyzable.push(`${tool} arguments are nested deeper than ${MAX_WALK_DEPTH} levels`);
      count = MAX_WALK_STRINGS + 1;
      return;
    }
    if (typeof value === 'string') {
      count++;
      const v = value.trim();
      if (!v || v.length > 4096) return;
      const keyed = PATH_KEY.test(key);
      if (!keyed && CONTENT_KEY.test(key)) return;
      // URLs in any spelling a fetcher accepts (`HTTP:/\host`); a bare host under a URL-named key too.
      if (/^(https?|wss?|ftp):/i.test(v) || (URL_KEY.test(key) && !/\s/.test(v) && !looksLikeAbsolutePath(v))) {
        const us = urlFacts(v, `${tool}.${key}`);
        facts.urls.push(...us);
        if (us.length || !keyed) return;
      }
      if (keyed || (looksLikeAbsolutePath(v) && !/\s/.test(v))) {
        if (/\n/.test(v)) return;
        const p = resolveToolPath(v, cwd, env);
        addPath(facts, env, p, access, `${tool}.${key}`, /[*?[]/.test(v) ? { pattern: true } : tree ? { recursive: true } : {});
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((item) => visit(item, key, depth + 1));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k, depth + 1);
  };
  for (const [k, v] of Object.entries(args)) visit(v, k, 0);
}

function looksLikeAbsolutePath(v: string): boolean {
  return /^(\/|~\/|~$|file:\/\/|[A-Za-z]:[\\/]|\\\\)/.test(v) && !/\s{2,}/.test(v);
}
