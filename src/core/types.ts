/**
 * Shared vocabulary of the core: hook inputs, the facts extracted from a tool call, and decisions.
 * Pure types only; nothing here performs I/O.
 */

export type Effect = 'allow' | 'deny' | 'ask';
export type Mode = 'enforce' | 'observe';

/** The subset of a Claude Code hook payload the core reads. Unknown fields are kept but ignored. */
export interface HookInput {
  session_id?: string;
  transcript_path?: string;
  cwd?: string;
  permission_mode?: string;
  hook_event_name?: string;
  tool_name?: string;
  tool_input?: unknown;
  tool_use_id?: string;
  agent_id?: string;
  agent_type?: string;
  [key: string]: unknown;
}

/** How a tool call touches a path. */
export type Access = 'read' | 'write' | 'delete' | 'exec' | 'list';

/** Text that stands for a part of a path or argument the analyser cannot know statically. */
export const DYN = '\u27eadynamic\u27eb';

export interface PathFact {
  /** Normalised absolute path (POSIX separators). When `pattern` is set it is a glob. */
  path: string;
  access: Access;
  /** Where the fact came from, e.g. `Read.file_path`, `cat operand`, `redirect >`. */
  via: string;
  /** The operation covers everything below the path (rm -r, grep -r, cp -r source). */
  recursive?: boolean;
  /** `path` is a glob (unexpanded shell glob, find -name, Grep glob) rather than one file. */
  pattern?: boolean;
  /** Part of the path could not be resolved statically (it contains DYN). */
  dynamic?: boolean;
  /** Set when this fact is the resolved target of a symlink; holds the path as written. */
  linkFrom?: string;
}

export interface CommandFact {
  /** Program name without directory, e.g. `rm`, `git`, `python3`. DYN when unknown. */
  program: string;
  /** The command word as written after expansion, e.g. `/bin/rm`. */
  invokedAs: string;
  /** Arguments after expansion (DYN inside where unknown), excluding the program. */
  args: string[];
  /** Subcommand words for programs that have them (git push → ["push"]). */
  subcommand: string[];
  /** Every flag spelling seen, plus canonical long names where the program is known (-rf → -r -f --recursive --force). */
  flags: string[];
  /** Positional operands (non-flag arguments after the subcommand). */
  operands: string[];
  /** Wrapper chain this command ran through, outermost first (e.g. ["sudo", "bash -c"]). */
  via: string[];
  /** Environment assignments in effect for this command only (prefix assignments, env VAR=x). */
  env: Record<string, string>;
  /** Nesting depth (0 = top level of the tool call). */
  depth: number;
}

export interface UrlFact {
  url: string;
  host: string;
  scheme: string;
  port?: number;
  via: string;
  /** The call sends data to this destination, and from where. */
  sends?: 'file' | 'env' | 'substitution' | 'stdin' | 'literal';
}

export interface EnvFact {
  name: string;
  /** Value when static; DYN otherwise. Never recorded in audit logs. */
  value: string;
  via: 'prefix' | 'export' | 'env' | 'assignment';
}

/**
 * A risk the analyser recognised that is not a path, command or URL on its own:
 * everything it could not resolve statically and known-dangerous shapes.
 */
export type RiskKind =
  | 'dynamic-program'
  | 'dynamic-eval'
  | 'dynamic-shell-input'
  | 'download-to-shell'
  | 'decoded-to-shell'
  | 'interpreter-inline'
  | 'interpreter-inline-fs'
  | 'interpreter-inline-net'
  | 'interpreter-inline-exec'
  | 'dynamic-path-delete'
  | 'env-dump'
  | 'git-config-exec'
  | 'nested-agent'
  | 'sandbox-disable'
  | 'network-shell'
  | 'shell-state-change';

export interface RiskFact {
  kind: RiskKind;
  detail: string;
}

export interface ContextFacts {
  cwd: string;
  workspace: string;
  permissionMode?: string;
  sessionId?: string;
  agentId?: string;
  agentType?: string;
  hookEvent?: string;
}

/** Where in a tool input a secret was found: file content written, a shell command, a URL, other arguments. */
export type SecretWhere = 'content' | 'command' | 'url' | 'arguments';

/** A credential in the tool input (src/core/scan/secrets.ts). Never holds the value. */
export interface SecretFact {
  /** Format or rule, e.g. `github-token`, `aws-access-key`, `credential` (key/value), `high-entropy`. */
  kind: string;
  detector: 'format' | 'keyed' | 'entropy';
  in: SecretWhere;
  /** JSON pointer into tool_input (`/content`, `/command`, `/edits/0/new_string`). */
  field: string;
  /** How it was hidden: plain, expanded (shell variables), base64, url-encoded, invisible-chars, unicode-compat, hex. */
  encoding: string;
  /** First 12 hex characters of the sha256 of the value. */
  fingerprint: string;
  length: number;
  /** A documented example or an obvious placeholder (test fixtures, documentation). */
  placeholder: boolean;
}

/** Why a session is tainted (src/core/session/taint.ts). */
export type TaintKind = 'injection' | 'untrusted-fetch' | 'secret-read';

/** One thing the agent read earlier in this session that makes its next sensitive action suspect. */
export interface TaintFact {
  kind: TaintKind;
  /** The tool whose output tainted the session, and where it came from (URL, path, server). */
  tool: string;
  source: string;
  /** ISO time. */
  at: string;
  /** The audit event id of the PostToolUse record that found it. */
  eventId?: string;
  /** Signal kinds (e.g. hidden-comment, role-marker) or the host. */
  signals: string[];
  severity?: string;
}

/** How an MCP server compares with what Agent Warden recorded at session start (src/core/session/mcp.ts). */
export type McpStatus = 'known' | 'new' | 'changed' | 'unconfigured';

export interface McpFact {
  server: string;
  tool: string;
  status: McpStatus;
  /** The settings layer the server is configured in, when known. */
  scope?: string;
}

/** Everything a tool call does, as far as the analyser can tell. */
export interface Facts {
  tool: string;
  paths: PathFact[];
  commands: CommandFact[];
  urls: UrlFact[];
  env: EnvFact[];
  risks: RiskFact[];
  /** Reasons the call could not be analysed. Non-empty means the policy's `unanalyzable` effect applies. */
  unanalyzable: string[];
  context: ContextFacts;
  /** Credentials in the input (content written, command, URL, arguments). */
  secrets?: SecretFact[];
  /** What tainted this session (read from the guard's state by the hook). */
  taint?: TaintFact[];
  /** For MCP tools: the server, the tool and how the server compares with its recorded definition. */
  mcp?: McpFact;
}

/** One fact that made a rule match, for explanations. */
export interface MatchedFact {
  kind: 'tool' | 'path' | 'command' | 'url' | 'env' | 'risk' | 'context' | 'unanalyzable' | 'secret' | 'taint' | 'mcp';
  /** Short human text, e.g. `read /home/u/project/.env (cat operand)`. */
  text: string;
  /** The condition that matched, e.g. the glob or program name. */
  matched: string;
}

export interface RuleMatch {
  ruleId: string;
  effect: Effect;
  mode: Mode;
  reason: string;
  remediation?: string;
  exceptable: boolean;
  facts: MatchedFact[];
}

export interface Decision {
  /** What is enforced now. In observe mode, observe rules never change it. */
  effect: Effect;
  /** What the policy would decide with every rule enforced. Equal to `effect` in enforce mode. */
  verdict: Effect;
  /** Rules that produced `verdict` (empty when the default effect or an unanalysable call decided). */
  ruleIds: string[];
  reason: string;
  remediation?: string;
  /** True when a matching rule (not the default effect) produced `effect`. */
  explicit: boolean;
  mode: Mode;
  /** Every rule that matched, enforced or observed. */
  matches: RuleMatch[];
  /** Why the call could not be analysed, when it could not. */
  unanalyzable: string[];
  policy: { id: string; version: string };
  /** Set when exception grants lifted matched rules (src/core/exceptions). */
  exception?: ExceptionUse;
}

/** The use of exception grants in a decision: which grants lifted which rules, and what it would have been. */
export interface ExceptionUse {
  /** The first grant used (audit events record it as `exceptionId`). */
  grantId: string;
  requestId: string;
  /** Every grant used. */
  grantIds: string[];
  /** Rules the grants lifted. */
  ruleIds: string[];
  /** When the earliest of the grants used expires (ISO). */
  expiresAt: string;
  approvedBy: string[];
  /** The decision without the grants. */
  original: { effect: Effect; verdict: Effect; ruleIds: string[] };
}
