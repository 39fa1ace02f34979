/**
 * What the hook does with one payload, without process plumbing (so the CLI's `warden hook` and tests
 * share it). Returns the hook output; throws only on internal errors, which the caller turns into the
 * event's fail-closed answer.
 *
 * - PreToolUse: decide with the policy, append the decision to the audit spool, then answer. If the audit
 *   append fails the call is denied (nothing is allowed that is not on disk).
 * - ConfigChange: veto a settings reload that would remove or disable the guard (configChange.ts), record,
 *   refresh the MCP inventory (mcp.ts).
 * - PostToolUse / PostToolUseFailure: scan the output for credentials and prompt injection, warn the model,
 *   taint the session as the policy says, record (post.ts). Never blocks.
 * - SessionStart: also record the configured MCP servers and flag new or changed ones (mcp.ts).
 * - PostToolUse, PostToolUseFailure, UserPromptSubmit, SessionStart, SessionEnd, SubagentStart,
 *   SubagentStop, Stop and any other event: record, answer `{}` (or a warning), never block.
 * Subagent calls carry agent_id / agent_type and go through exactly the same path.
 */
import type { Decision, HookInput } from '../core/types';
import { canonicalInputSha256 } from '../core/exceptions/grant';
import { defaultStateDir, machineContext } from '../runtime/context';
import { activeGrants } from '../runtime/grants';
import { Engine } from '../runtime/engine';
import { nodeFsProbe } from '../runtime/fsProbe';
import { GUARD_MARKER } from '../runtime/install/guardHooks';
import type { DecisionMeta } from '../core/audit/event';
import { AuditError } from '../runtime/audit/spool';
import { AuditLog, capWarning } from './audit';
import { checkConfigChange, layerFiles, readSettingsState } from './configChange';
import { selectPolicy, type SelectedPolicy } from './policy';
import { blocksOnFailure, configBlockOutput, denyOutput, failureOutput, preToolUseOutput, recordOutput, type HookOutput } from './output';
import { evaluate } from '../core/evaluate/evaluate';
import { extractFacts, type SessionFacts } from '../core/facts/extract';
import { activeTaint } from '../core/session/taint';
import { analysisEnv } from '../runtime/context';
import { pruneTaint, readTaint } from '../runtime/sessionTaint';
import type { HookExtra } from '../core/audit/event';
import { mcpStatus, updateMcpInventory, type McpRecord } from './mcp';
import { postToolUse } from './post';
import { inputSignals, secretErasePointers } from './signals';

export const MAX_DEPTH = 64;

export interface HookArgs {
  policy?: string;
  home?: string;
}

export interface HookTiming {
  started: number;
  deadline: number;
}

export function parseHookArgs(argv: string[]): HookArgs {
  const out: HookArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === GUARD_MARKER) continue; // marks installed hook commands; no meaning at run time
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const val = eq > 0 ? a.slice(eq + 1) : argv[i + 1];
    if (name === '--policy' || name === '--home') {
      if (val === undefined) throw new Error(`${name} needs a value`);
      if (eq < 0) i++;
      if (name === '--policy') out.policy = val;
      else out.home = val;
    } else throw new Error(`unknown hook argument ${JSON.stringify(a)}`);
  }
  return out;
}

function depthOf(v: unknown, limit: number): number {
  const stack: [unknown, number][] = [[v, 1]];
  let max = 0;
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (x && typeof x === 'object') for (const y of Object.values(x)) if (y && typeof y === 'object') stack.push([y, d + 1]);
  }
  return max;
}

/** The event name of a payload we could not parse, when it is plainly there (so the answer fits the event). */
export function sniffEvent(raw: string): string | undefined {
  const m = /"hook_event_name"\s*:\s*"([A-Za-z]{1,64})"/.exec(raw.slice(0, 64 * 1024));
  return m ? m[1] : undefined;
}

/** A decision for a call the policy could not judge: denied, and recorded like any other. */
function internalDeny(reason: string, policy: Decision['policy'] = { id: 'unavailable', version: '0' }): Decision {
  return {
    effect: 'deny',
    verdict: 'deny',
    ruleIds: [],
    reason,
    explicit: false,
    mode: 'enforce',
    matches: [],
    unanalyzable: [reason],
    policy,
  };
}

/**
 * For a deny/ask that an exception could lift: the canonical sha256 of the tool input, which an exact-call
 * exception request names (`warden exception request --input-sha256 …`, or the editor's request form).
 */
function exceptionHint(input: HookInput, d: Decision): string | undefined {
  if (d.effect === 'allow' || !d.ruleIds.length) return undefined;
  const deciding = d.matches.filter((m) => d.ruleIds.includes(m.ruleId));
  if (!deciding.length || !deciding.every((m) => m.exceptable)) return undefined;
  try {
    return canonicalInputSha256(input.tool_input);
  } catch {
    return undefined;
  }
}

export interface RunEnv {
  env: NodeJS.ProcessEnv;
  /** Override of the managed settings path (tests; also AGENT_WARDEN_MANAGED_SETTINGS). */
  managedSettings?: string;
}

/**
 * Record a call the hook denied before it could evaluate it (empty, malformed, oversized or too deeply nested
 * input, a misconfigured install, its own deadline), so that every deny is in the audit trail. Best effort:
 * the reason may be that nothing can be read or written. Only what can be read safely from the raw text is
 * kept (event, session, tool, cwd); the input itself is recorded by size. Returns the event id.
 */
export function recordRejectedCall(argv: string[], env: NodeJS.ProcessEnv, raw: string, reason: string, totalBytes = Buffer.byteLength(raw), timeoutMs = 1000): string | undefined {
  try {
    let home: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--home') home = argv[i + 1];
      else if (a.startsWith('--home=')) home = a.slice('--home='.length);
    }
    const head = raw.slice(0, 64 * 1024);
    const field = (k: string): string | undefined => new RegExp(`"${k}"\\s*:\\s*"([^"\\\\]{1,256})"`).exec(head)?.[1];
    const input: HookInput = {
      hook_event_name: 'PreToolUse',
      session_id: field('session_id') ?? '',
      cwd: field('cwd') ?? '',
      tool_name: field('tool_name') ?? '(unreadable)',
      tool_input: { unreadable: `${totalBytes} bytes of hook input that could not be evaluated` },
    };
    const machine = machineContext({ env, ...(home ? { stateDir: home } : {}) });
    return new AuditLog(home ?? defaultStateDir(env), machine.user, env).decision(input, internalDeny(reason), { latencyMs: 0 }, timeoutMs).id;
  } catch {
    return undefined;
  }
}

/** The fail-closed answer for input the hook could not evaluate; a deny is recorded first. */
function rejected(argv: string[], env: NodeJS.ProcessEnv, raw: string, event: string | undefined, reason: string): HookOutput {
  if (!blocksOnFailure(event) || event === 'ConfigChange') return failureOutput(event, reason);
  const id = recordRejectedCall(argv, env, raw, reason);
  return failureOutput(event, id ? `${reason} (audit event ${id})` : `${reason} (the audit record could not be written either)`);
}

export function runHook(argv: string[], raw: string, timing: HookTiming, runEnv: RunEnv = { env: process.env }): HookOutput {
  const fail = (event: string | undefined, reason: string): HookOutput => rejected(argv, runEnv.env, raw, event, reason);
  if (!raw.trim()) return fail(undefined, 'empty hook input');
  let input: HookInput;
  try {
    input = JSON.parse(raw) as HookInput;
  } catch (e) {
    return fail(sniffEvent(raw), `hook input is not valid JSON (${(e as Error).message})`);
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) return fail(undefined, 'hook input is not a JSON object');
  const event = typeof input.hook_event_name === 'string' ? input.hook_event_name : 'PreToolUse';
  if (depthOf(input, MAX_DEPTH) > MAX_DEPTH) return fail(event, `hook input is nested deeper than ${MAX_DEPTH} levels`);
  let args: HookArgs;
  try {
    args = parseHookArgs(argv);
  } catch (e) {
    return fail(event, `the hook is misconfigured: ${(e as Error).message}`);
  }
  const env = runEnv.env;
  const machine = machineContext({ env, ...(args.home ? { stateDir: args.home } : {}) });
  const cap = Number(env.AGENT_WARDEN_SPOOL_CAP);
  const audit = new AuditLog(machine.stateDir, machine.user, env, Number.isSafeInteger(cap) && cap > 0 ? { capBytes: cap } : undefined);

  const managedSettings = runEnv.managedSettings ?? env.AGENT_WARDEN_MANAGED_SETTINGS;
  if (event === 'PreToolUse') return preToolUse(input, args, timing, machine, audit, env);
  const stateDir = args.home ?? defaultStateDir(env);
  if (event === 'PostToolUse' || event === 'PostToolUseFailure') return postToolUse(input, { args, stateDir, machine, audit, env, deadline: timing.deadline });
  if (event === 'ConfigChange') return configChange(input, audit, env, managedSettings, stateDir);
  return record(input, audit, env, managedSettings, stateDir);
}

function preToolUse(input: HookInput, args: HookArgs, timing: HookTiming, machine: ReturnType<typeof machineContext>, audit: AuditLog, env: NodeJS.ProcessEnv): HookOutput {
  let decision: Decision;
  let selected: SelectedPolicy | undefined;
  let signals: ReturnType<typeof inputSignals> = [];
  let erase: string[] = [];
  // The state dir as the OS spells it (machine.stateDir is its POSIX form, for policy paths).
  const stateDir = args.home ?? defaultStateDir(env);
  try {
    selected = selectPolicy(args.policy, stateDir);
    const fsProbe = nodeFsProbe();
    const engine = new Engine(selected.policy, machine, fsProbe, env.CLAUDE_PROJECT_DIR);
    const workspace = engine.workspaceFor(input);
    const compiled = engine.compiledFor(workspace);
    // Session state, only when a rule can use it: the taint file (one open; none exists for an untainted
    // session) and, for MCP calls, the server's recorded status.
    const session: SessionFacts = {};
    if (compiled.uses.taint && typeof input.session_id === 'string' && input.session_id) {
      const records = readTaint(stateDir, input.session_id);
      if (records.length) session.taint = activeTaint(records, Date.now(), compiled.scan.taintExpiresMs);
    }
    const tool = typeof input.tool_name === 'string' ? input.tool_name : '';
    if (compiled.uses.mcp && tool.startsWith('mcp__')) {
      const server = tool.split('__')[1] ?? '';
      const st = mcpStatus(stateDir, workspace, server);
      if (st) session.mcp = { [server]: st };
    }
    // Signed exception grants for this user and device; none when not enrolled or the list is stale.
    const grants = activeGrants(stateDir, Date.now(), { caseInsensitive: machine.platform !== 'linux' });
    const facts = extractFacts(input, { ...analysisEnv(machine, workspace, fsProbe, timing.deadline), secrets: compiled.uses.secret, session });
    decision = evaluate(compiled, facts, grants.contextFor(input));
    signals = inputSignals(facts);
    erase = secretErasePointers(facts);
  } catch (e) {
    decision = internalDeny(`the policy could not be evaluated: ${(e as Error).message}`);
  }
  if (selected?.events.length) {
    try {
      audit.bundleEvents(selected.events, { id: decision.policy.id, version: decision.policy.version, info: selected.info });
    } catch (e) {
      return denyOutput(`the audit record could not be written (${(e as Error).message})`);
    }
  }
  const meta = (): DecisionMeta => ({ latencyMs: Date.now() - timing.started, exceptionId: decision.exception?.grantId ?? null, ...(selected ? { policy: selected.info } : {}), ...(signals.length ? { signals } : {}) });
  // The spool lock wait may use what is left of the hook's own deadline, never more.
  const budget = (): number => Math.max(50, timing.deadline - Date.now());
  let stored: ReturnType<AuditLog['decision']>;
  try {
    stored = audit.decision(input, decision, meta(), budget(), erase);
  } catch (e) {
    const why = `the audit record could not be written (${(e as Error).message})`;
    if (e instanceof AuditError && e.code === 'CRITICAL') {
      // Past 95 % of the cap only deny/ask decisions are stored: record the deny that replaces this allow.
      const denied = internalDeny(`the audit spool is nearly full, so calls that would be allowed are denied until the forwarder drains it (${e.message})`, decision.policy);
      try {
        stored = audit.decision(input, denied, meta(), budget(), erase);
      } catch (e2) {
        return denyOutput(`${why}; ${(e2 as Error).message}`);
      }
      return preToolUseOutput(denied, stored.id);
    }
    return decision.effect === 'allow' && decision.verdict === 'allow' ? denyOutput(why) : denyOutput(`${why}; the policy also says: ${decision.reason}`);
  }
  const out = preToolUseOutput(decision, stored.id, exceptionHint(input, decision));
  const warn = [capWarning(stored), selected?.fallbackReason ? `the synced policy bundle is not used (${selected.fallbackReason}); the built-in baseline applies.` : undefined].filter(Boolean).join(' ');
  if (warn) out.systemMessage = out.systemMessage ? `${out.systemMessage}\nAgent Warden: ${warn}` : `Agent Warden: ${warn}`;
  return out;
}

/**
 * Fields the hook adds to SessionStart/SessionEnd records: where the session was started from (Claude Code's
 * entrypoint, e.g. `cli`, `sdk-cli`, and the project directory) and, because Claude Code sends no
 * permission_mode on these events, the permission mode its settings select (a command-line flag can still
 * override it; the first UserPromptSubmit/PreToolUse record carries the real one). Never the environment.
 */
function withOrigin(input: HookInput, env: NodeJS.ProcessEnv, managedSettings: string | undefined): HookInput {
  const extra: Record<string, string> = {};
  if (env.CLAUDE_CODE_ENTRYPOINT) extra.entrypoint = env.CLAUDE_CODE_ENTRYPOINT;
  const projectDir = env.CLAUDE_PROJECT_DIR || (typeof input.cwd === 'string' ? input.cwd : '');
  if (env.CLAUDE_PROJECT_DIR) extra.project_dir = env.CLAUDE_PROJECT_DIR;
  if (input.hook_event_name === 'SessionStart' && projectDir) {
    let mode: string | undefined;
    let bypassDisabled = false;
    for (const { file } of layerFiles({ env, projectDir, ...(managedSettings ? { managedSettings } : {}) })) {
      const st = readSettingsState(file);
      if (st.kind !== 'ok' || !st.data.permissions || typeof st.data.permissions !== 'object') continue;
      const p = st.data.permissions as Record<string, unknown>;
      if (typeof p.defaultMode === 'string') mode = p.defaultMode; // later layers take precedence
      if (p.disableBypassPermissionsMode === 'disable') bypassDisabled = true;
    }
    extra.settings_permission_mode = mode ?? 'default';
    extra.bypass_permissions_mode = bypassDisabled ? 'disabled' : 'allowed';
  }
  return Object.keys(extra).length ? { ...extra, ...input } : input;
}

/**
 * SessionStart / ConfigChange: fold the configured MCP servers into the inventory. Returns what to record and,
 * for new or changed servers, what to tell the user. Advisory: a failure is reported, never fatal.
 */
function mcpInventory(input: HookInput, env: NodeJS.ProcessEnv, managedSettings: string | undefined, stateDir: string): { mcp?: McpRecord; message?: string } {
  const projectDir = env.CLAUDE_PROJECT_DIR || (typeof input.cwd === 'string' ? input.cwd : '');
  if (!projectDir) return {};
  try {
    const rec = updateMcpInventory(stateDir, { env, projectDir, ...(managedSettings ? { managedSettings } : {}) }, typeof input.session_id === 'string' ? input.session_id : undefined);
    const changed = rec.changes.filter((c) => c.status === 'changed');
    const unpinned = rec.servers.filter((s) => s.pinned === false && rec.changes.some((c) => c.name === s.name));
    const notes: string[] = [];
    if (changed.length) notes.push(`MCP server definition changed since it was first recorded (possible rug pull): ${changed.map((c) => `${c.name} (${c.scope})`).join(', ')}; calls to it follow the policy for changed servers`);
    if (unpinned.length) notes.push(`MCP server runs a package without an exact version, which can change at any start: ${unpinned.map((s) => s.name).join(', ')}`);
    return { ...(rec.servers.length || rec.changes.length ? { mcp: rec } : {}), ...(notes.length ? { message: notes.join('; ') } : {}) };
  } catch (e) {
    return { message: `could not record the MCP servers (${(e as Error).message})` };
  }
}

function record(input: HookInput, audit: AuditLog, env: NodeJS.ProcessEnv, managedSettings: string | undefined, stateDir: string): HookOutput {
  const event = String(input.hook_event_name);
  let extra: HookExtra | undefined;
  let note: string | undefined;
  if (event === 'SessionStart') {
    const inv = mcpInventory(input, env, managedSettings, stateDir);
    if (inv.mcp) extra = { mcp: inv.mcp };
    note = inv.message;
    try {
      pruneTaint(stateDir, Date.now());
    } catch {
      /* housekeeping */
    }
  }
  try {
    const stored = audit.hook(event === 'SessionStart' || event === 'SessionEnd' ? withOrigin(input, env, managedSettings) : input, extra);
    return recordOutput([note, capWarning(stored)].filter(Boolean).join('; ') || undefined);
  } catch (e) {
    return recordOutput([note, `could not record ${event} (${(e as Error).message})`].filter(Boolean).join('; '));
  }
}

function configChange(input: HookInput, audit: AuditLog, env: NodeJS.ProcessEnv, managedSettings: string | undefined, stateDir: string): HookOutput {
  const projectDir = env.CLAUDE_PROJECT_DIR || (typeof input.cwd === 'string' ? input.cwd : process.cwd());
  const check = checkConfigChange(input, { env, projectDir, ...(managedSettings ? { managedSettings } : {}) });
  const veto = check.tampering && check.vetoable;
  const outcome = !check.tampering ? 'accepted' : veto ? 'blocked' : 'not-vetoable';
  // A vetoed change does not take effect: the inventory is only refreshed for changes Claude Code applies.
  const inv = veto ? {} : mcpInventory(input, env, managedSettings, stateDir);
  let warning: string | undefined = inv.message;
  try {
    audit.hook({ ...input, warden_outcome: outcome, ...(check.reasons.length ? { warden_reasons: check.reasons.join('; ') } : {}) }, inv.mcp ? { mcp: inv.mcp } : undefined);
  } catch (e) {
    warning = [warning, `could not record ConfigChange (${(e as Error).message})`].filter(Boolean).join('; ');
  }
  if (veto) return configBlockOutput(check.reasons);
  if (check.tampering) return recordOutput(`managed settings changed in a way that disables Agent Warden: ${check.reasons.join('; ')}`);
  return recordOutput(warning);
}
