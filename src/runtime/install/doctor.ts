/**
 * `warden doctor`: is Agent Warden actually guarding Claude Code here? Reads every settings layer (user,
 * project, local, managed + drop-ins), checks the guard hooks in each (present for every event, runtime and
 * script reachable, and the hook really denies a known-bad call when run exactly as Claude Code runs it),
 * the switches that turn hooks off (disableAllHooks, allowManagedHooksOnly), whether bypass-permissions
 * mode can be used, the installed Claude Code version and what it supports, the active policy and the audit
 * spool's backlog. Machine-readable with --json for the extension.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spoolStatus } from '../audit/spool';
import { activePolicy } from '../bundleActive';
import type { ClaudeFeatures, ClaudeInfo } from './claudeVersion';
import { GUARD_EVENTS, guardHooksIn, isObject, matchesAll, parseGuardCommand } from './guardHooks';
import { backstopRules, readInstallRecord } from './install';
import { managedDropInDir, settingsPath, SCOPES, type LayerPathOptions, type Scope } from './paths';
import { readSettings, SettingsFileError } from './settingsFile';
import { validateSettings, type SettingsIssue } from './validate';

export type Severity = 'error' | 'warning' | 'info';

export interface DoctorIssue {
  severity: Severity;
  message: string;
}

export interface ProbeResult {
  /** The hook answered the synthetic known-bad call with a deny. */
  denied: boolean;
  /** The hook did not deny an ordinary call (reading a file in the project). */
  ordinaryAllowed: boolean;
  ordinaryReason?: string;
  decision?: string;
  reason?: string;
  exitCode: number | null;
  ms: number;
  error?: string;
}

export interface GuardCommandReport {
  command: string;
  events: string[];
  runtime?: string;
  runtimeOk: boolean;
  hookScript?: string;
  hookScriptOk: boolean;
  onFailure?: string;
  probe?: ProbeResult;
}

export interface LayerReport {
  scope: Scope;
  file: string;
  exists: boolean;
  /** Parsed and no validation errors: Claude Code loads it. */
  valid: boolean;
  error?: string;
  issues: SettingsIssue[];
  disableAllHooks: boolean;
  allowManagedHooksOnly: boolean;
  disableBypassPermissionsMode?: string;
  defaultMode?: string;
  guardEvents: string[];
  missingEvents: string[];
  commands: GuardCommandReport[];
  backstop: { present: string[]; missing: string[] };
  installRecord: boolean;
  /** Hooks in this layer run (valid file; not switched off by disableAllHooks or allowManagedHooksOnly). */
  hooksRun: boolean;
}

export interface PolicyReport {
  source: 'builtin' | 'bundle' | 'file';
  id?: string;
  bundle?: { bundleId: string; epoch: number; version: number; sha256: string; state: string; expiresAt: string };
  detail: string;
  warning?: string;
}

export interface SpoolReport {
  available: boolean;
  stateDir: string;
  detail: string;
  /** Events not yet acknowledged by the server. */
  backlog?: number;
  status?: ReturnType<typeof spoolStatus>;
  warning?: string;
}

function policyReport(ref: string | undefined, stateDir: string): PolicyReport {
  if (ref && !ref.startsWith('builtin:')) {
    return fs.existsSync(ref)
      ? { source: 'file', id: ref, detail: `local policy file ${ref} (--policy in the hook command)` }
      : { source: 'file', id: ref, detail: `local policy file ${ref}`, warning: `the hook's --policy file ${ref} does not exist: every call is denied` };
  }
  if (ref) return { source: 'builtin', id: ref, detail: `${ref} (--policy in the hook command)` };
  try {
    const a = activePolicy(stateDir);
    if (a.source === 'bundle') {
      const b = a.bundle;
      return {
        source: 'bundle',
        id: b.bundleId,
        bundle: { bundleId: b.bundleId, epoch: b.epoch, version: b.version, sha256: b.sha256, state: a.state, expiresAt: b.expiresAt },
        detail: `signed bundle ${b.bundleId} epoch ${b.epoch} v${b.version} (${a.state}, expires ${b.expiresAt})`,
        ...(a.state !== 'fresh' ? { warning: `the policy bundle is ${a.state}${a.graceEndsAt ? ` (the baseline takes over at ${a.graceEndsAt})` : ''}: run \`warden sync\`` } : {}),
      };
    }
    const quiet = a.reason === 'not-configured' || a.reason === 'no-bundle';
    return { source: 'builtin', id: 'builtin:baseline', detail: `built-in baseline (${a.message})`, ...(quiet ? {} : { warning: `the configured policy bundle is not used: ${a.message}` }) };
  } catch (e) {
    return { source: 'builtin', id: 'builtin:baseline', detail: 'built-in baseline', warning: `cannot check the policy bundle: ${(e as Error).message}` };
  }
}

function spoolReport(stateDir: string): SpoolReport {
  try {
    const st = spoolStatus(stateDir);
    const pct = Math.round(st.usedRatio * 1000) / 10;
    const rep: SpoolReport = {
      available: true,
      stateDir,
      backlog: st.backlog,
      status: st,
      detail: `${st.lastSeq} event${st.lastSeq === 1 ? '' : 's'} recorded, ${st.backlog} not yet acknowledged by the server; ${st.bytesUsed} bytes (${pct}% of the cap, ${st.level}) in ${st.dir}`,
    };
    if (st.level !== 'ok') rep.warning = `the audit spool is ${pct}% full (${st.level}): events are not reaching the server; once it is full, allowed calls are denied`;
    if (st.tornTailBytes) rep.warning = `${rep.warning ? rep.warning + '; ' : ''}the spool ends in a torn line (${st.tornTailBytes} bytes; repaired by the next append)`;
    return rep;
  } catch (e) {
    return { available: false, stateDir, detail: `cannot read the audit spool in ${stateDir}: ${(e as Error).message}`, warning: `cannot read the audit spool in ${stateDir}: ${(e as Error).message}` };
  }
}

export interface DoctorReport {
  /** Agent Warden guards every tool call: some layer whose hooks run has a working PreToolUse guard. */
  ok: boolean;
  summary: string;
  projectDir: string;
  layers: LayerReport[];
  claude: { found: boolean; path?: string; version?: string; raw?: string; features?: ClaudeFeatures };
  bypassPermissionsMode: 'disabled' | 'allowed';
  policy: PolicyReport;
  spool: SpoolReport;
  issues: DoctorIssue[];
}

export interface DoctorOptions extends LayerPathOptions {
  claude?: ClaudeInfo;
  /** Run each distinct guard command with a synthetic PreToolUse (default true). */
  probe?: boolean;
  /** The state directory the hooks use when they have no --home (default ~/.agent-warden). */
  defaultStateDir?: string;
}

/** A PreToolUse Read call for the probes: the SSH private key (every policy Agent Warden ships denies it), or a project file. */
export function probeInput(projectDir: string, file: string): Record<string, unknown> {
  return {
    session_id: 'warden-doctor-probe',
    transcript_path: '',
    cwd: projectDir,
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: 'Read',
    tool_input: { file_path: file },
    tool_use_id: 'toolu_warden_doctor_probe',
  };
}

interface OneProbe {
  decision?: string;
  reason?: string;
  exitCode: number | null;
  error?: string;
}

function runProbe(command: string, projectDir: string, env: NodeJS.ProcessEnv, input: Record<string, unknown>): OneProbe {
  const shell = process.platform === 'win32' ? true : fs.existsSync('/bin/bash') ? '/bin/bash' : true;
  const r = spawnSync(command, {
    shell,
    cwd: fs.existsSync(projectDir) ? projectDir : undefined,
    input: JSON.stringify(input) + '\n',
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...env, CLAUDE_PROJECT_DIR: projectDir },
  });
  if (r.error) return { exitCode: r.status, error: r.error.message };
  const text = (r.stdout || '').trim();
  try {
    const hso = (JSON.parse(text) as { hookSpecificOutput?: { permissionDecision?: string; permissionDecisionReason?: string } }).hookSpecificOutput;
    const res: OneProbe = { exitCode: r.status };
    if (hso?.permissionDecision) res.decision = hso.permissionDecision;
    if (hso?.permissionDecisionReason) res.reason = hso.permissionDecisionReason;
    return res;
  } catch {
    return { exitCode: r.status, error: `no JSON answer (exit ${r.status}, stdout ${JSON.stringify(text.slice(0, 200))}, stderr ${JSON.stringify((r.stderr || '').trim().slice(0, 200))})` };
  }
}

/**
 * Run a hook command the way Claude Code does (through the shell, in the project directory, JSON on stdin)
 * twice: a known-bad call must be denied, an ordinary one must not be.
 */
export function probeCommand(command: string, projectDir: string, env: NodeJS.ProcessEnv): ProbeResult {
  const started = Date.now();
  const bad = runProbe(command, projectDir, env, probeInput(projectDir, path.join(env.HOME || '/', '.ssh', 'id_rsa')));
  const ms = Date.now() - started;
  const ok = bad.error ? undefined : runProbe(command, projectDir, env, probeInput(projectDir, path.join(projectDir, 'README.md')));
  const res: ProbeResult = { denied: bad.decision === 'deny', ordinaryAllowed: !!ok && !ok.error && ok.decision !== 'deny', exitCode: bad.exitCode, ms };
  if (bad.decision) res.decision = bad.decision;
  if (bad.reason) res.reason = bad.reason;
  if (bad.error) res.error = bad.error;
  if (ok?.decision === 'deny' && ok.reason) res.ordinaryReason = ok.reason;
  else if (ok?.error) res.ordinaryReason = ok.error;
  return res;
}

function fileOk(p: string | undefined, exec: boolean): boolean {
  if (!p || !path.isAbsolute(p.replace(/^\/([a-z]):/i, '$1:'))) return false;
  try {
    const st = fs.statSync(p);
    return st.isFile() && (!exec || process.platform === 'win32' || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

function layerReport(scope: Scope, file: string, env: NodeJS.ProcessEnv): LayerReport {
  const rep: LayerReport = {
    scope, file, exists: false, valid: false, issues: [], disableAllHooks: false, allowManagedHooksOnly: false,
    guardEvents: [], missingEvents: [...GUARD_EVENTS], commands: [], backstop: { present: [], missing: [] }, installRecord: false, hooksRun: false,
  };
  let data: Record<string, unknown>;
  try {
    const r = readSettings(file);
    rep.exists = r.exists;
    data = r.data;
  } catch (e) {
    rep.exists = fs.existsSync(file);
    rep.error = e instanceof SettingsFileError ? e.message : (e as Error).message;
    return rep;
  }
  rep.issues = validateSettings(data);
  rep.valid = !rep.issues.some((i) => i.severity === 'error');
  rep.installRecord = !!readInstallRecord(file);
  if (!rep.valid) return rep;
  rep.disableAllHooks = data.disableAllHooks === true;
  rep.allowManagedHooksOnly = data.allowManagedHooksOnly === true;
  if (isObject(data.permissions)) {
    if (typeof data.permissions.disableBypassPermissionsMode === 'string') rep.disableBypassPermissionsMode = data.permissions.disableBypassPermissionsMode;
    if (typeof data.permissions.defaultMode === 'string') rep.defaultMode = data.permissions.defaultMode;
  }
  const hooks = guardHooksIn(data);
  const toolEvents = new Set(['PreToolUse', 'PostToolUse', 'PostToolUseFailure']);
  rep.guardEvents = [...new Set(hooks.filter((h) => !toolEvents.has(h.event) || matchesAll(h.matcher)).map((h) => h.event))];
  rep.missingEvents = GUARD_EVENTS.filter((e) => !rep.guardEvents.includes(e));
  const byCommand = new Map<string, GuardCommandReport>();
  for (const h of hooks) {
    let c = byCommand.get(h.command);
    if (!c) {
      const parts = parseGuardCommand(h.command);
      c = { command: h.command, events: [], runtimeOk: fileOk(parts?.node, true), hookScriptOk: fileOk(parts?.hook, false) };
      if (parts) {
        c.runtime = parts.node;
        c.hookScript = parts.hook;
      }
      byCommand.set(h.command, c);
    }
    c.events.push(h.event);
    if (h.event === 'PreToolUse' && h.onFailure) c.onFailure = h.onFailure;
  }
  rep.commands = [...byCommand.values()];
  const deny = isObject(data.permissions) && Array.isArray(data.permissions.deny) ? data.permissions.deny : [];
  const wanted = backstopRules({ env });
  rep.backstop = { present: wanted.filter((r) => deny.includes(r)), missing: wanted.filter((r) => !deny.includes(r)) };
  return rep;
}

export function runDoctor(o: DoctorOptions = {}): DoctorReport {
  const env = o.env ?? process.env;
  const projectDir = path.resolve(o.projectDir ?? process.cwd());
  const files: { scope: Scope; file: string }[] = SCOPES.map((scope) => ({ scope, file: settingsPath(scope, { ...o, env, projectDir }) }));
  const managedFile = files.find((f) => f.scope === 'managed')!.file;
  try {
    const dir = managedDropInDir(managedFile);
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) files.push({ scope: 'managed', file: path.join(dir, f) });
  } catch {
    /* no drop-ins */
  }
  const layers = files.map(({ scope, file }) => layerReport(scope, file, env));
  const issues: DoctorIssue[] = [];
  const managed = layers.filter((l) => l.scope === 'managed' && l.valid);
  const managedDisableAll = managed.some((l) => l.disableAllHooks);
  const managedOnly = managed.some((l) => l.allowManagedHooksOnly);
  // disableAllHooks in user/project/local: the highest of those layers that sets it decides for their hooks.
  let userDisableAll = false;
  for (const l of layers) if (l.scope !== 'managed' && l.valid && l.exists) {
    const r = readSettings(l.file).data;
    if (typeof r.disableAllHooks === 'boolean') userDisableAll = r.disableAllHooks;
  }
  for (const l of layers) {
    l.hooksRun = l.valid && l.exists && !managedDisableAll && (l.scope === 'managed' ? true : !managedOnly && !userDisableAll);
  }

  // Probe each distinct guard command once.
  if (o.probe !== false) {
    const seen = new Map<string, ProbeResult>();
    for (const l of layers) for (const c of l.commands) {
      if (!c.events.includes('PreToolUse')) continue;
      let p = seen.get(c.command);
      if (!p) {
        p = c.runtimeOk && c.hookScriptOk ? probeCommand(c.command, projectDir, env) : { denied: false, ordinaryAllowed: false, exitCode: null, ms: 0, error: `${!c.runtimeOk ? `runtime ${c.runtime ?? '?'} not found or not executable` : `hook script ${c.hookScript ?? '?'} not found`}` };
        seen.set(c.command, p);
      }
      c.probe = p;
    }
  }

  const guarding = layers.filter((l) => l.hooksRun && l.commands.some((c) => c.events.includes('PreToolUse') && c.runtimeOk && c.hookScriptOk && (o.probe === false || (c.probe?.denied && c.probe.ordinaryAllowed))));
  for (const l of layers) {
    const where = `${l.scope} settings ${l.file}`;
    if (l.error) issues.push({ severity: 'error', message: `${where}: ${l.error}` });
    for (const i of l.issues) issues.push({ severity: i.severity, message: `${where}: ${i.path || '(top level)'}: ${i.message}${i.severity === 'error' ? ' — Claude Code ignores this whole file' : ''}` });
    if (!l.commands.length) continue;
    if (!l.hooksRun) issues.push({ severity: 'warning', message: `${where}: Agent Warden hooks are present but do not run (${managedDisableAll ? 'disableAllHooks in managed settings' : managedOnly && l.scope !== 'managed' ? 'allowManagedHooksOnly in managed settings' : userDisableAll ? 'disableAllHooks is set' : 'file not loaded'})` });
    if (l.missingEvents.length) issues.push({ severity: l.missingEvents.includes('PreToolUse') ? 'error' : 'warning', message: `${where}: no Agent Warden hook (matcher "*") for ${l.missingEvents.join(', ')}; run \`warden install --scope ${l.scope === 'local' ? 'project' : l.scope}\`` });
    for (const c of l.commands) {
      if (!c.runtimeOk) issues.push({ severity: 'error', message: `${where}: the hook runtime ${c.runtime ?? '(unparsable command)'} does not exist or is not executable: the hook fails and Claude Code lets the call through` });
      if (!c.hookScriptOk) issues.push({ severity: 'error', message: `${where}: the hook script ${c.hookScript ?? '(unparsable command)'} does not exist: the hook fails and Claude Code lets the call through` });
      if (c.probe && !c.probe.denied && c.runtimeOk && c.hookScriptOk) {
        issues.push({ severity: 'error', message: `${where}: the hook did not deny a known-bad call (read ~/.ssh/id_rsa): ${c.probe.error ?? `answered ${c.probe.decision ?? 'no decision'}${c.probe.reason ? ` (${c.probe.reason})` : ''}`}` });
      }
      if (c.probe && c.probe.denied && !c.probe.ordinaryAllowed) {
        issues.push({ severity: 'error', message: `${where}: the hook denies even an ordinary call (reading a project file), so it blocks everything: ${c.probe.ordinaryReason ?? 'no reason given'}` });
      }
    }
  }
  if (managedDisableAll) issues.push({ severity: 'error', message: 'managed settings set disableAllHooks: no hook runs at all, Agent Warden included' });
  else if (userDisableAll) issues.push({ severity: managed.some((l) => l.commands.length) ? 'warning' : 'error', message: 'disableAllHooks is set in user/project/local settings: only managed hooks run' });
  if (!guarding.length) issues.push({ severity: 'error', message: 'no settings layer runs a working Agent Warden PreToolUse hook: tool calls are not guarded. Run `warden install --scope user` (or project / managed).' });

  const bypassDisabled = [...managed, ...layers.filter((l) => l.scope !== 'managed' && l.valid)].some((l) => l.disableBypassPermissionsMode === 'disable');
  if (!bypassDisabled) issues.push({ severity: 'info', message: 'bypass-permissions mode is allowed (set permissions.disableBypassPermissionsMode: "disable" in managed settings to forbid it); Agent Warden\'s hook still denies in that mode' });
  for (const l of layers) if (l.valid && l.defaultMode === 'bypassPermissions') issues.push({ severity: 'warning', message: `${l.scope} settings ${l.file}: defaultMode is bypassPermissions` });

  const claude: DoctorReport['claude'] = { found: !!o.claude };
  if (o.claude) {
    claude.path = o.claude.path;
    claude.raw = o.claude.raw;
    if (o.claude.version) claude.version = o.claude.version.join('.');
    if (o.claude.features) {
      const f = o.claude.features;
      claude.features = f;
      if (f.untested) issues.push({ severity: 'warning', message: `Claude Code ${claude.version} is older than any version Agent Warden was tested with (2.1.197)` });
      const pre = layers.flatMap((l) => (l.hooksRun ? l.commands : [])).filter((c) => c.events.includes('PreToolUse'));
      if (f.onFailureBlock && pre.length && !pre.some((c) => c.onFailure === 'block')) issues.push({ severity: 'warning', message: `Claude Code ${claude.version} supports onFailure: "block" but the guard hooks do not set it (re-run \`warden install\`): a crashed hook would let the call through` });
      if (!f.onFailureBlock) issues.push({ severity: 'info', message: `Claude Code ${claude.version} has no fail-closed hook option (onFailure needs 2.1.295+): a crashed or timed-out hook lets the call through; the permissions.deny backstop still applies` });
      if (!f.bareKeepsManagedHooks) issues.push({ severity: 'info', message: `Claude Code ${claude.version}: \`claude --bare\` skips all hooks, managed ones included` });
    } else issues.push({ severity: 'warning', message: `cannot tell the Claude Code version of ${o.claude.path}: ${o.claude.raw}` });
  } else issues.push({ severity: 'info', message: 'Claude Code not found on PATH (pass --claude <path>): version checks skipped' });

  // The state directory and policy of the guard that decides (the first running PreToolUse guard).
  const deciding = (guarding[0] ?? layers.find((l) => l.commands.length))?.commands.find((c) => c.events.includes('PreToolUse'));
  const parts = deciding ? parseGuardCommand(deciding.command) : undefined;
  const argOf = (name: string): string | undefined => {
    const i = parts ? parts.args.indexOf(name) : -1;
    return i >= 0 ? parts!.args[i + 1] : undefined;
  };
  const stateDir = argOf('--home') ?? o.defaultStateDir ?? path.join(env.HOME || os.homedir(), '.agent-warden');
  const policy = policyReport(argOf('--policy'), stateDir);
  const spool = spoolReport(stateDir);
  if (policy.warning) issues.push({ severity: 'warning', message: policy.warning });
  if (spool.warning) issues.push({ severity: 'warning', message: spool.warning });

  const errors = issues.filter((i) => i.severity === 'error');
  const ok = guarding.length > 0 && !managedDisableAll;
  const summary = ok
    ? `Agent Warden guards Claude Code here (${guarding.map((l) => l.scope).join(', ')} settings)${errors.length ? `, with ${errors.length} problem${errors.length > 1 ? 's' : ''}` : ''}`
    : 'Agent Warden is NOT guarding Claude Code here';
  return { ok, summary, projectDir, layers, claude, bypassPermissionsMode: bypassDisabled ? 'disabled' : 'allowed', policy, spool, issues };
}
