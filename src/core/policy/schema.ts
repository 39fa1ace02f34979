/**
 * The policy-as-code format. The zod schemas here are the single source of truth: the JSON Schema in
 * `schemas/policy.schema.json` is generated from them (a test fails when it drifts), the loader validates
 * YAML with them, and the evaluator compiles what they accept.
 */
import { z } from 'zod';

const oneOrMany = <T extends z.ZodTypeAny>(item: T) => z.union([item, z.array(item).min(1)]);

export const EFFECTS = ['allow', 'deny', 'ask'] as const;
export const MODES = ['enforce', 'observe'] as const;
export const ACCESSES = ['read', 'write', 'delete', 'exec', 'list'] as const;
export const SENDS = ['file', 'env', 'substitution', 'stdin', 'literal'] as const;
export const RISKS = [
  'dynamic-program',
  'dynamic-eval',
  'dynamic-shell-input',
  'download-to-shell',
  'decoded-to-shell',
  'interpreter-inline',
  'interpreter-inline-fs',
  'interpreter-inline-net',
  'interpreter-inline-exec',
  'dynamic-path-delete',
  'env-dump',
  'git-config-exec',
  'nested-agent',
  'sandbox-disable',
  'network-shell',
  'shell-state-change',
] as const;

export const Effect = z.enum(EFFECTS).describe('allow, deny or ask');
export const Mode = z
  .enum(MODES)
  .describe('enforce: decisions are applied. observe: decisions are recorded as "would have" but not applied');

/** Durations such as `15m`, `8h`, `7d`. */
export const Duration = z
  .string()
  .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 15m, 8h or 7d')
  .describe('A duration: a positive number followed by s, m, h or d');

const Globs = oneOrMany(z.string().min(1)).describe(
  'Glob pattern(s). Paths: minimatch globs over absolute paths; `~/` is the home directory, `${WORKSPACE}` the project root, ' +
    '`${STATE_DIR}` the guard state directory; a glob that starts with neither `/`, `~` nor `**` is relative to the workspace. ' +
    '`@name` refers to a list in `lists`. A trailing `/**` also matches the directory itself.',
);

export const PathCondition = z
  .object({
    access: oneOrMany(z.enum(ACCESSES))
      .optional()
      .describe('Which kind of access counts (read, write, delete, exec, list). Default: any.'),
    glob: Globs.describe('Paths that match. Required.'),
    exclude: Globs.optional().describe('Paths that never match even when `glob` does.'),
    recursive: z.boolean().optional().describe('Only operations on a whole tree (rm -r, grep -r, cp -r).'),
    dynamic: z
      .boolean()
      .optional()
      .describe('true: only paths with a part unknown until run time ($VAR, $(…)); false: only fully known paths.'),
    via: oneOrMany(z.string().min(1))
      .optional()
      .describe('Only accesses made this way (globs over the fact source, e.g. "redirect *", "Write.*", "git *").'),
    notVia: oneOrMany(z.string().min(1)).optional().describe('Accesses made this way never match (e.g. "git *" for git\'s own writes).'),
  })
  .strict()
  .describe('Matches when the call touches a path that matches `glob`, not `exclude`, with a listed access.');

export const FlagCondition = z
  .object({
    all: oneOrMany(z.string().min(1)).optional().describe('Every one of these flags is present (any spelling).'),
    any: oneOrMany(z.string().min(1)).optional().describe('At least one of these flags is present (any spelling).'),
    none: oneOrMany(z.string().min(1)).optional().describe('None of these flags is present.'),
  })
  .strict();

export const CommandCondition = z
  .object({
    program: oneOrMany(z.string().min(1)).describe('Program names or globs (basename, e.g. rm, git, python*).'),
    subcommand: oneOrMany(z.string().min(1))
      .optional()
      .describe('Subcommand, e.g. `push` or `stash drop` (space separated words, globs per word).'),
    flags: FlagCondition.optional().describe(
      'Flags in any spelling: -rf, -fr, -r -f and --recursive --force are the same for known programs.',
    ),
    args: oneOrMany(z.string().min(1)).optional().describe('Globs; at least one argument matches.'),
    argsAll: oneOrMany(z.string().min(1)).optional().describe('Globs; each is matched by some argument.'),
    via: oneOrMany(z.string().min(1)).optional().describe('Only when run through one of these wrappers.'),
  })
  .strict()
  .describe('Matches a program run by a shell command, however deeply nested or wrapped.');

export const UrlCondition = z
  .object({
    host: oneOrMany(z.string().min(1))
      .optional()
      .describe('Host globs: `example.com`, `*.example.com` (subdomains only), `**.example.com` (domain and subdomains), IPs.'),
    scheme: oneOrMany(z.string().min(1)).optional(),
    sends: oneOrMany(z.enum(SENDS))
      .optional()
      .describe('Only when the call sends data there, from one of these sources (file, env, substitution, stdin, literal).'),
    notHost: oneOrMany(z.string().min(1)).optional().describe('Host globs that never match (e.g. loopback).'),
    via: oneOrMany(z.string().min(1)).optional().describe('Only destinations reached by these programs or tools (curl, WebFetch…).'),
    any: z.boolean().optional().describe('Set to true to match any network destination.'),
  })
  .strict()
  .describe('Matches network destinations: WebFetch URLs and curl/wget/ssh/git… destinations in shell commands.');

export const EnvCondition = z
  .object({
    name: oneOrMany(z.string().min(1)).describe('Variable names or globs.'),
    value: oneOrMany(z.string().min(1)).optional().describe('Value globs; the variable matches only when its value matches one.'),
  })
  .strict();

export const ContextCondition = z
  .object({
    permissionMode: oneOrMany(z.string().min(1)).optional(),
    agentType: oneOrMany(z.string().min(1)).optional(),
    agentId: oneOrMany(z.string().min(1)).optional(),
    subagent: z.boolean().optional().describe('true: only calls made by a subagent; false: only the main agent.'),
    cwd: Globs.optional(),
    workspace: Globs.optional(),
    hookEvent: oneOrMany(z.string().min(1)).optional(),
  })
  .strict();

export const SECRET_WHERE = ['content', 'command', 'url', 'arguments'] as const;
export const SECRET_DETECTORS = ['format', 'keyed', 'entropy'] as const;
export const TAINT_KINDS = ['injection', 'untrusted-fetch', 'secret-read'] as const;
export const MCP_STATUSES = ['known', 'new', 'changed', 'unconfigured'] as const;
export const SCAN_ACTIONS = ['record', 'warn', 'taint'] as const;

export const SecretCondition = z
  .object({
    kind: oneOrMany(z.string().min(1))
      .optional()
      .describe('Secret kinds or globs (github-token, aws-access-key, *-token, credential, high-entropy). Default: any.'),
    detector: oneOrMany(z.enum(SECRET_DETECTORS))
      .optional()
      .describe('format (a known credential format), keyed (key/value whose key names a credential), entropy (random-looking token). Default: format, keyed.'),
    in: oneOrMany(z.enum(SECRET_WHERE))
      .optional()
      .describe('Where in the input: content (file content written), command (shell), url, arguments (MCP and other tools). Default: anywhere.'),
    placeholders: z
      .boolean()
      .optional()
      .describe('true: documented example values and obvious placeholders match too (default false: test fixtures and docs do not).'),
  })
  .strict()
  .describe('Matches when the tool input carries a credential: written to a file, in a command, in a URL or in MCP arguments.');

export const TaintCondition = z
  .object({
    by: oneOrMany(z.enum(TAINT_KINDS))
      .optional()
      .describe('injection (the agent read content with prompt-injection signals), untrusted-fetch (fetched from a host outside scan.taint.trustedHosts), secret-read (read a credential). Default: any.'),
  })
  .strict()
  .describe('Matches when this session is tainted: earlier in it the agent read untrusted content.');

export const McpCondition = z
  .object({
    server: oneOrMany(z.string().min(1)).optional().describe('MCP server names or globs (`github`, `@approved_mcp_servers`).'),
    tool: oneOrMany(z.string().min(1)).optional().describe('MCP tool names (without the mcp__server__ prefix) or globs.'),
    status: oneOrMany(z.enum(MCP_STATUSES))
      .optional()
      .describe('known (same definition as first recorded), new (first seen this session), changed (definition changed since first recorded: possible rug pull), unconfigured (in no settings file Agent Warden can read).'),
  })
  .strict()
  .describe('Matches calls to MCP tools (mcp__<server>__<tool>).');

export const MatchBlock = z
  .object({
    tool: oneOrMany(z.string().min(1))
      .optional()
      .describe('Tool names or globs: Bash, Read, Write, Edit, WebFetch, mcp__github__*, mcp__*…'),
    path: PathCondition.optional(),
    command: oneOrMany(CommandCondition).optional().describe('One condition, or a list of which any may match.'),
    url: UrlCondition.optional(),
    env: z
      .union([oneOrMany(z.string().min(1)), EnvCondition])
      .optional()
      .describe('Environment variables set by the command (prefix, export, env): names or globs, or {name, value}.'),
    risk: oneOrMany(z.enum(RISKS)).optional().describe('Risks the shell analyser recognised.'),
    context: ContextCondition.optional(),
    secret: SecretCondition.optional(),
    taint: TaintCondition.optional(),
    mcp: McpCondition.optional(),
  })
  .strict()
  .describe('Every condition given must hold (AND). Within a condition, lists are alternatives (OR).');

export const Match = z.union([MatchBlock, z.array(MatchBlock).min(1)]).describe('A block, or a list of blocks of which any may match.');

export const ExceptionPolicy = z
  .object({
    allowed: z.boolean().describe('Whether a temporary exception may be granted for this rule.'),
    maxDuration: Duration.optional().describe('Longest exception that may be granted (default 8h, at most 14d).'),
  })
  .strict();

export const Rule = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, dots, dashes and underscores')
      .describe('Stable identifier, shown in decisions and audit events.'),
    description: z.string().optional(),
    effect: Effect,
    mode: Mode.optional().describe('Overrides nothing when the policy is in observe mode; otherwise defaults to enforce.'),
    reason: z.string().min(1).describe('Why the call is blocked or questioned, in words a developer understands.'),
    remediation: z.string().optional().describe('What to do instead.'),
    exception: ExceptionPolicy.optional(),
    match: Match,
    unless: Match.optional().describe('The rule does not apply when this matches.'),
  })
  .strict();

export const Metadata = z
  .object({
    id: z.string().min(1).describe('Policy identifier, e.g. acme/default or builtin:baseline.'),
    version: z.string().min(1).describe('Version of this policy (any string; bundles carry their own counter).'),
    description: z.string().optional(),
  })
  .strict();

const ScanAction = z.enum(SCAN_ACTIONS).describe('record (audit only), warn (also tell the model through additionalContext), taint (also mark the session)');

export const ScanSettings = z
  .object({
    maxChars: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .optional()
      .describe('Characters of one tool output scanned (default 1048576). Beyond it the first 3/4 and the last 1/4 of the budget are scanned and the audit record says so.'),
    secrets: z
      .object({
        outputs: z.enum(['record', 'warn']).optional().describe('A tool output holding a credential: record it, or also warn the model not to repeat or send it (default warn).'),
        taint: z.boolean().optional().describe('Reading a credential taints the session (kind secret-read). Default false.'),
        ignore: oneOrMany(z.string().min(1))
          .optional()
          .describe('Values never reported: literal values or their fingerprints (12 hex characters, as shown in decisions and audit records).'),
      })
      .strict()
      .optional(),
    injection: z
      .object({
        tools: oneOrMany(z.string().min(1))
          .optional()
          .describe('Tools whose outputs are scanned for prompt injection (names or globs; default Read, Bash, WebFetch, WebSearch, Grep, Glob, Agent, Task, TaskOutput, BashOutput, mcp__*).'),
        high: ScanAction.optional().describe('Action for high-severity signals (default taint).'),
        medium: ScanAction.optional().describe('Action for medium-severity signals (default warn).'),
        low: ScanAction.optional().describe('Action for low-severity signals (default record).'),
      })
      .strict()
      .optional(),
    taint: z
      .object({
        trustedHosts: oneOrMany(z.string().min(1))
          .optional()
          .describe('Host globs (or @lists) content may be fetched from without tainting the session. When set, a WebFetch or curl/wget download from any other host taints it (untrusted-fetch); when absent, fetches never taint.'),
        expires: Duration.optional().describe('How long a taint lasts (default: the rest of the session).'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .describe('Scanning of tool inputs and outputs for secrets and prompt injection, and session taint.');

export const Policy = z
  .object({
    apiVersion: z.literal('agentwarden.dev/v1'),
    kind: z.literal('Policy'),
    metadata: Metadata,
    defaultEffect: Effect.describe('Effect when no rule matches. Unknown tools get it too, never an implicit allow.'),
    mode: Mode.default('enforce'),
    unanalyzable: z
      .enum(['deny', 'ask'])
      .default('deny')
      .describe('Effect for calls the evaluator cannot analyse (unparseable command, malformed input).'),
    lists: z
      .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]*$/), z.array(z.string().min(1)))
      .optional()
      .describe('Named lists of globs or names, referenced from conditions as "@name".'),
    scan: ScanSettings.optional(),
    rules: z.array(Rule),
  })
  .strict()
  .describe('An Agent Warden policy.');

export type PolicyDoc = z.infer<typeof Policy>;
export type RuleDoc = z.infer<typeof Rule>;
export type MatchBlockDoc = z.infer<typeof MatchBlock>;
export type PathConditionDoc = z.infer<typeof PathCondition>;
export type CommandConditionDoc = z.infer<typeof CommandCondition>;
export type UrlConditionDoc = z.infer<typeof UrlCondition>;
export type ContextConditionDoc = z.infer<typeof ContextCondition>;
export type EnvConditionDoc = z.infer<typeof EnvCondition>;
export type SecretConditionDoc = z.infer<typeof SecretCondition>;
export type TaintConditionDoc = z.infer<typeof TaintCondition>;
export type McpConditionDoc = z.infer<typeof McpCondition>;
export type ScanSettingsDoc = z.infer<typeof ScanSettings>;

/** A virtual file system for tests: which paths exist and which are symlinks. */
export const VirtualFs = z
  .object({
    files: z.array(z.string()).optional().describe('Existing regular files (parent directories exist implicitly).'),
    dirs: z.array(z.string()).optional(),
    symlinks: z.record(z.string(), z.string()).optional().describe('link path → target (absolute or relative to the link).'),
    contents: z.record(z.string(), z.string()).optional().describe('Files with their text (e.g. a package.json whose scripts a command runs).'),
    caseInsensitive: z.boolean().optional(),
  })
  .strict();

export const TestEnv = z
  .object({
    home: z.string().optional(),
    user: z.string().optional(),
    workspace: z.string().optional(),
    cwd: z.string().optional(),
    stateDir: z.string().optional(),
    platform: z.enum(['linux', 'darwin', 'win32']).optional(),
    vars: z.record(z.string(), z.string()).optional().describe('Environment variables the command sees.'),
    fs: VirtualFs.optional(),
  })
  .strict();

export const TestExpect = z
  .object({
    effect: Effect.describe('The verdict: what the policy decides with every rule enforced.'),
    enforced: Effect.optional().describe('What is enforced (differs from effect in observe mode).'),
    ruleIds: z.array(z.string()).optional().describe('Rules that must be among those that decided.'),
    notRuleIds: z.array(z.string()).optional().describe('Rules that must not have matched at all.'),
    unanalyzable: z.boolean().optional(),
  })
  .strict();

export const TestCase = z
  .object({
    name: z.string().min(1),
    tool: z.string().min(1).optional().describe('Shorthand for input.tool_name.'),
    input: z.unknown().describe('tool_input, or a whole hook payload when `tool` is absent.'),
    hook: z.record(z.string(), z.unknown()).optional().describe('Extra hook payload fields (cwd, permission_mode, agent_id…).'),
    env: TestEnv.optional(),
    session: z
      .object({
        taint: z
          .array(
            z
              .object({
                kind: z.enum(TAINT_KINDS),
                tool: z.string().min(1).optional(),
                source: z.string().optional(),
                signals: z.array(z.string()).optional(),
              })
              .strict(),
          )
          .optional()
          .describe('What tainted the session before this call.'),
        mcp: z.record(z.string(), z.enum(MCP_STATUSES)).optional().describe('MCP server name → recorded status.'),
      })
      .strict()
      .optional()
      .describe('Session state the guard would have read for this call (taint, MCP inventory).'),
    expect: TestExpect,
  })
  .strict();

export const TestSuite = z
  .object({
    suite: z.string().min(1),
    policy: z.string().min(1).describe('Policy file relative to this suite, or builtin:baseline.'),
    env: TestEnv.optional(),
    cases: z.array(TestCase).min(1),
  })
  .strict();

export type TestSuiteDoc = z.infer<typeof TestSuite>;
export type TestCaseDoc = z.infer<typeof TestCase>;
export type TestEnvDoc = z.infer<typeof TestEnv>;
