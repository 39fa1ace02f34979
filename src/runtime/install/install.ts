/**
 * `warden install` / `warden uninstall`: put Agent Warden's hook entries (and a permissions.deny backstop)
 * into a Claude Code settings file, or take exactly those out again.
 *
 * - One matcher group per event, matcher "*", one command hook: absolute runtime + absolute hook.js,
 *   quoted, with the `--agent-warden` marker, so neither a `cd` nor a missing `node` on PATH can break it.
 *   For user and project scope the hook runs a stable copy of the runner in the state directory
 *   (runtimeCopy.ts), so an update of the extension or package never leaves the hooks pointing at nothing.
 * - Idempotent; every other setting and hook of the user survives, in order.
 * - The resulting object is validated (validate.ts) before an atomic replace; the previous file is backed up.
 * - A corrupt or already-invalid settings file is reported, never overwritten.
 * - What we added beyond our hook entries (deny rules, allowManagedHooksOnly) is recorded in an install
 *   record beside the settings file (`<file>.agent-warden-record`), so uninstall removes only that.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClaudeInfo } from './claudeVersion';
import { which } from './claudeVersion';
import {
  FAIL_CLOSED_EVENTS,
  GUARD_EVENTS,
  guardCommand,
  guardHooksIn,
  guardTimeout,
  installRecordFile,
  isGuardCommand,
  isObject,
  legacyInstallRecordFile,
  type GuardEvent,
} from './guardHooks';
import { defaultStateDir } from '../context';
import { settingsPath, type InstallScope, type LayerPathOptions } from './paths';
import { stageHookRuntime } from './runtimeCopy';
import { atomicWrite, readSettings, removeFile, settingsText, SettingsFileError } from './settingsFile';
import { permissionRuleError, validateSettings, type SettingsIssue } from './validate';

export class InstallError extends Error {}

export type OnFailureChoice = 'auto' | 'block' | 'continue' | 'omit';

export interface InstallOptions extends LayerPathOptions {
  scope: InstallScope;
  /** Runtime to run the hook with (default: `node` on PATH, else the running runtime). */
  node?: string;
  /** The hook script (default: dist/hook.js beside the running CLI). */
  hookScript?: string;
  /**
   * Run the hook script where it is instead of from a stable copy in the state directory
   * (runtimeCopy.ts). Managed scope always runs it in place: the admin puts it where every user can read it.
   */
  inPlace?: boolean;
  /** Hook arguments. */
  policy?: string;
  home?: string;
  /** `onFailure: "block"` on the guard events: auto = only when the installed Claude Code supports it. */
  onFailure?: OnFailureChoice;
  /** The installed Claude Code, as detected by the caller (claudeInfo); undefined = not found. */
  claude?: ClaudeInfo;
  /** Add the permissions.deny backstop (default true). */
  backstop?: boolean;
  dryRun?: boolean;
}

export interface InstallRecord {
  tool: 'agent-warden';
  version: 1;
  scope: InstallScope;
  settingsFile: string;
  installedAt: string;
  /** The exact guard command per event at install time (ConfigChange checks they are still there). */
  commands: Partial<Record<GuardEvent, string>>;
  /** Deny rules that were not there before and that we added. */
  addedDenyRules: string[];
  /** We set allowManagedHooksOnly (it was not set before). */
  setAllowManagedHooksOnly: boolean;
  /** The settings file did not exist before the first install. */
  createdFile: boolean;
}

export interface InstallResult {
  file: string;
  scope: InstallScope;
  changed: boolean;
  dryRun: boolean;
  createdFile: boolean;
  /** `.claude/` did not exist before (project scope): Claude Code 2.1.197 sessions already running will not see the hooks until restarted. */
  createdClaudeDir: boolean;
  backup?: string;
  command: string;
  runtime: { path: string; source: 'option' | 'path' | 'running' };
  /** The hook script the hooks run (the stable copy unless installed in place). */
  hookScript: string;
  /** Where it was copied from. */
  sourceHookScript: string;
  events: GuardEvent[];
  onFailure: { set: boolean; reason: string };
  addedDenyRules: string[];
  recordFile: string;
  warnings: string[];
  /** The resulting settings object (also for --dry-run). */
  settings: Record<string, unknown>;
}

export interface UninstallResult {
  file: string;
  changed: boolean;
  dryRun: boolean;
  removedHooks: number;
  removedDenyRules: string[];
  removedFile: boolean;
  backup?: string;
  warnings: string[];
}

export const recordFileFor = installRecordFile;

export function readInstallRecord(settingsFile: string): InstallRecord | undefined {
  for (const file of [recordFileFor(settingsFile), legacyInstallRecordFile(settingsFile)]) {
    try {
      const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as InstallRecord;
      if (rec && rec.tool === 'agent-warden') return rec;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

/** Where dist/hook.js is, seen from the running code (dist/cli.js, or out/src/… in tests). */
export function defaultHookScript(): string {
  const candidates = [path.join(__dirname, 'hook.js'), path.resolve(__dirname, '../../../../dist/hook.js'), path.resolve(__dirname, '../../../dist/hook.js')];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}

/** The runtime the hook command starts: explicit, else `node` on PATH, else this process's own runtime. */
export function resolveRuntime(opt: string | undefined, env: NodeJS.ProcessEnv = process.env): { path: string; source: 'option' | 'path' | 'running'; env: Record<string, string> } {
  if (opt) {
    const p = path.resolve(opt);
    if (!isExecutable(p)) throw new InstallError(`--node ${opt}: no executable file there`);
    return { path: p, source: 'option', env: {} };
  }
  const onPath = which('node', env);
  if (onPath) return { path: onPath, source: 'path', env: {} };
  // Inside VS Code (or another Electron app) the running runtime is the editor binary: it acts as Node
  // only with ELECTRON_RUN_AS_NODE=1.
  return { path: process.execPath, source: 'running', env: process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {} };
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    return st.isFile() && (process.platform === 'win32' || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** Paths in hook commands: forward slashes on Windows (Git Bash and Windows both accept them). */
const cmdPath = (p: string): string => (process.platform === 'win32' ? p.replace(/\\/g, '/') : p);

/** The permissions.deny backstop: the worst cases stay blocked even if the hook is removed or crashes. */
export function backstopRules(o: { env?: NodeJS.ProcessEnv; stateDir?: string; hookScript?: string } = {}): string[] {
  const env = o.env ?? process.env;
  const rules = [
    'Read(~/.ssh/**)',
    'Read(~/.aws/credentials)',
    'Read(~/.gnupg/**)',
    'Read(~/.claude/.credentials.json)',
    'Read(**/.env)',
    'Edit(~/.claude/settings.json)',
    'Edit(~/.claude/settings.local.json)',
    'Edit(**/.claude/settings.json)',
    'Edit(**/.claude/settings.local.json)',
  ];
  const home = env.HOME || os.homedir();
  const absRule = (tool: string, p: string, suffix: string): string | undefined => {
    if (process.platform === 'win32' || !path.isAbsolute(p) || /[()*?[\]\\!#]/.test(p)) return undefined;
    const rel = path.relative(home, p);
    const spec = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? `~/${rel}` : `/${p}`;
    return `${tool}(${spec}${suffix})`;
  };
  if (env.CLAUDE_CONFIG_DIR) {
    for (const f of ['settings.json', 'settings.local.json']) {
      const r = absRule('Edit', path.join(path.resolve(env.CLAUDE_CONFIG_DIR), f), '');
      if (r) rules.push(r);
    }
  }
  const state = absRule('Edit', path.resolve(o.stateDir ?? path.join(home, '.agent-warden')), '/**');
  if (state) rules.push(state);
  if (o.hookScript) {
    const guard = absRule('Edit', path.dirname(path.resolve(o.hookScript)), '/**');
    if (guard) rules.push(guard);
  }
  return [...new Set(rules)];
}

function issuesText(issues: SettingsIssue[]): string {
  return issues.map((i) => `  ${i.path || '(top level)'}: ${i.message}`).join('\n');
}

function readForUpdate(file: string): ReturnType<typeof readSettings> {
  try {
    return readSettings(file);
  } catch (e) {
    if (e instanceof SettingsFileError) throw new InstallError(e.message);
    throw e;
  }
}

/** A deep copy with every guard hook entry removed (empty groups and events dropped). Returns the count. */
export function withoutGuardHooks(settings: Record<string, unknown>, dropEmptyHooks = true): { settings: Record<string, unknown>; removed: number } {
  const copy = JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;
  let removed = 0;
  if (!isObject(copy.hooks)) return { settings: copy, removed };
  const hooks = copy.hooks;
  for (const event of Object.keys(hooks)) {
    const groups = hooks[event];
    if (!Array.isArray(groups)) continue;
    const kept: unknown[] = [];
    for (const g of groups) {
      if (!isObject(g) || !Array.isArray(g.hooks)) {
        kept.push(g);
        continue;
      }
      const before = g.hooks.length;
      g.hooks = g.hooks.filter((h) => !(isObject(h) && h.type === 'command' && isGuardCommand(h.command)));
      removed += before - (g.hooks as unknown[]).length;
      if ((g.hooks as unknown[]).length > 0 || before === 0) kept.push(g);
    }
    if (kept.length) hooks[event] = kept;
    else delete hooks[event];
  }
  if (dropEmptyHooks && Object.keys(hooks).length === 0) delete copy.hooks;
  return { settings: copy, removed };
}

export function installGuard(o: InstallOptions): InstallResult {
  const env = o.env ?? process.env;
  const file = settingsPath(o.scope, o);
  const warnings: string[] = [];
  const sourceHookScript = path.resolve(o.hookScript ?? defaultHookScript());
  if (!fs.existsSync(sourceHookScript)) throw new InstallError(`the hook script ${sourceHookScript} does not exist (run \`npm run build\`, or pass --hook <path to dist/hook.js>)`);
  let hookScript = sourceHookScript;
  if (o.scope !== 'managed' && !o.inPlace) {
    try {
      hookScript = stageHookRuntime(sourceHookScript, path.resolve(o.home ?? defaultStateDir(env)), o.dryRun).hookScript;
    } catch (e) {
      throw new InstallError(`cannot copy the hook runner into the state directory: ${(e as Error).message}`);
    }
  }
  const runtime = resolveRuntime(o.node, env);
  if (runtime.source === 'running') warnings.push(`no \`node\` on PATH: the hooks run with this process's own runtime ${runtime.path}${runtime.env.ELECTRON_RUN_AS_NODE ? ' (as Node, ELECTRON_RUN_AS_NODE=1)' : ''}`);

  const before = readForUpdate(file);
  const existingErrors = validateSettings(before.data).filter((i) => i.severity === 'error');
  if (existingErrors.length) {
    throw new InstallError(`${file} is already invalid for Claude Code, which ignores the whole file (its hooks and permission rules too):\n${issuesText(existingErrors)}\nFix it by hand; it was left untouched.`);
  }
  const record = readInstallRecord(file);

  const args: string[] = [];
  if (o.policy) args.push('--policy', o.policy.startsWith('builtin:') ? o.policy : cmdPath(path.resolve(o.policy)));
  if (o.home) args.push('--home', cmdPath(path.resolve(o.home)));
  const command = guardCommand({ env: runtime.env, node: cmdPath(runtime.path), hook: cmdPath(hookScript), args });

  // onFailure: only where the installed Claude Code understands it (verified: ≥ 2.1.295; older ones ignore
  // the key, but an invalid value makes 2.1.329 drop the whole file, so we never guess a value).
  const choice = o.onFailure ?? 'auto';
  let onFailure: { set: boolean; reason: string };
  if (choice === 'block') onFailure = { set: true, reason: 'requested with --on-failure block' };
  else if (choice === 'omit' || choice === 'continue') onFailure = { set: false, reason: `requested with --on-failure ${choice}` };
  else if (!o.claude) onFailure = { set: false, reason: 'Claude Code not found (pass --claude <path>): onFailure not set, a crashed hook fails open' };
  else if (!o.claude.features) onFailure = { set: false, reason: `cannot tell the version of ${o.claude.path} (${o.claude.raw}): onFailure not set` };
  else if (o.claude.features.onFailureBlock) onFailure = { set: true, reason: `Claude Code ${o.claude.version!.join('.')} supports onFailure: "block"` };
  else onFailure = { set: false, reason: `Claude Code ${o.claude.version!.join('.')} predates onFailure (2.1.295): a crashed or timed-out hook fails open; the permissions.deny backstop still applies` };
  if (!onFailure.set && choice === 'auto') warnings.push(onFailure.reason);

  const { settings: next } = withoutGuardHooks(before.data, false);
  const hooks = isObject(next.hooks) ? next.hooks : {};
  const commands: Partial<Record<GuardEvent, string>> = {};
  for (const event of GUARD_EVENTS) {
    const entry: Record<string, unknown> = { type: 'command', command, timeout: guardTimeout(event) };
    if (onFailure.set && FAIL_CLOSED_EVENTS.includes(event)) entry.onFailure = 'block';
    const groups = Array.isArray(hooks[event]) ? (hooks[event] as unknown[]) : [];
    groups.push({ matcher: '*', hooks: [entry] });
    hooks[event] = groups;
    commands[event] = command;
  }
  next.hooks = hooks;

  const addedDenyRules = new Set(record?.addedDenyRules ?? []);
  if (o.backstop !== false) {
    const rules = backstopRules({ env, ...(o.home ? { stateDir: path.resolve(o.home) } : {}), hookScript });
    for (const r of rules) if (permissionRuleError(r)) throw new InstallError(`internal error: backstop rule ${r} is invalid (${permissionRuleError(r)})`);
    const perms = isObject(next.permissions) ? next.permissions : {};
    const deny = Array.isArray(perms.deny) ? (perms.deny as unknown[]) : [];
    for (const r of rules) {
      if (!deny.includes(r)) {
        deny.push(r);
        addedDenyRules.add(r);
      }
    }
    perms.deny = deny;
    next.permissions = perms;
  }
  let setAllowManagedHooksOnly = record?.setAllowManagedHooksOnly ?? false;
  if (o.scope === 'managed' && next.allowManagedHooksOnly !== true) {
    next.allowManagedHooksOnly = true;
    setAllowManagedHooksOnly = true;
  }
  // Keep only recorded rules that are still present (the user may have removed some by hand).
  const denyNow = isObject(next.permissions) && Array.isArray(next.permissions.deny) ? next.permissions.deny : [];
  const keptAdded = [...addedDenyRules].filter((r) => denyNow.includes(r));

  const resultErrors = validateSettings(next).filter((i) => i.severity === 'error');
  if (resultErrors.length) throw new InstallError(`internal error: the settings Agent Warden would write fail validation; nothing was written:\n${issuesText(resultErrors)}`);
  const installed = guardHooksIn(next).filter((h) => h.command === command).map((h) => h.event);
  for (const ev of GUARD_EVENTS) if (!installed.includes(ev)) throw new InstallError(`internal error: the ${ev} hook is missing from the result; nothing was written`);

  const claudeDir = path.dirname(file);
  const createdClaudeDir = o.scope === 'project' && !fs.existsSync(claudeDir);
  const changed = !before.exists || settingsText(next) !== settingsText(before.data);
  const newRecord: InstallRecord = {
    tool: 'agent-warden',
    version: 1,
    scope: o.scope,
    settingsFile: file,
    installedAt: record && !changed ? record.installedAt : new Date().toISOString(),
    commands,
    addedDenyRules: keptAdded,
    setAllowManagedHooksOnly,
    createdFile: record ? record.createdFile : !before.exists,
  };
  const result: InstallResult = {
    file,
    scope: o.scope,
    changed,
    dryRun: !!o.dryRun,
    createdFile: !before.exists,
    createdClaudeDir,
    command,
    runtime: { path: runtime.path, source: runtime.source },
    hookScript,
    sourceHookScript,
    events: [...GUARD_EVENTS],
    onFailure,
    addedDenyRules: keptAdded.filter((r) => !(record?.addedDenyRules ?? []).includes(r)),
    recordFile: recordFileFor(file),
    warnings,
    settings: next,
  };
  if (o.dryRun) return result;
  if (changed) {
    try {
      const w = atomicWrite(file, settingsText(next));
      if (w.backup) result.backup = w.backup;
    } catch (e) {
      throw new InstallError(`cannot write ${file}: ${(e as Error).message}`);
    }
  }
  const recText = JSON.stringify(newRecord, null, 2) + '\n';
  let oldRec = '';
  try {
    oldRec = fs.readFileSync(recordFileFor(file), 'utf8');
  } catch {
    /* none yet */
  }
  if (oldRec !== recText) atomicWrite(recordFileFor(file), recText, { backup: false });
  fs.rmSync(legacyInstallRecordFile(file), { force: true });
  return result;
}

export interface UninstallOptions extends LayerPathOptions {
  scope: InstallScope;
  dryRun?: boolean;
}

export function uninstallGuard(o: UninstallOptions): UninstallResult {
  const file = settingsPath(o.scope, o);
  const warnings: string[] = [];
  const before = readForUpdate(file);
  const record = readInstallRecord(file);
  const result: UninstallResult = { file, changed: false, dryRun: !!o.dryRun, removedHooks: 0, removedDenyRules: [], removedFile: false, warnings };
  if (!before.exists) {
    if (record && !o.dryRun) for (const f of [recordFileFor(file), legacyInstallRecordFile(file)]) fs.rmSync(f, { force: true });
    return result;
  }
  const { settings: next, removed } = withoutGuardHooks(before.data);
  result.removedHooks = removed;
  if (record) {
    if (isObject(next.permissions) && Array.isArray(next.permissions.deny)) {
      const perms = next.permissions;
      const deny = perms.deny as unknown[];
      perms.deny = deny.filter((r) => !(typeof r === 'string' && record.addedDenyRules.includes(r)));
      result.removedDenyRules = record.addedDenyRules.filter((r) => deny.includes(r));
      if ((perms.deny as unknown[]).length === 0) delete perms.deny;
      if (Object.keys(perms).length === 0) delete next.permissions;
    }
    if (record.setAllowManagedHooksOnly && next.allowManagedHooksOnly === true) delete next.allowManagedHooksOnly;
  } else if (removed > 0) {
    warnings.push(`no install record (${recordFileFor(file)}): only the hook entries were removed; permissions.deny rules were left in place`);
  }
  result.changed = settingsText(next) !== settingsText(before.data);
  if (o.dryRun) return result;
  if (result.changed) {
    if (record?.createdFile && Object.keys(next).length === 0) {
      removeFile(file);
      result.removedFile = true;
    } else {
      const errors = validateSettings(next).filter((i) => i.severity === 'error');
      if (errors.length) throw new InstallError(`internal error: the settings after uninstall fail validation; nothing was written:\n${issuesText(errors)}`);
      const w = atomicWrite(file, settingsText(next));
      if (w.backup) result.backup = w.backup;
    }
  }
  if (record) for (const f of [recordFileFor(file), legacyInstallRecordFile(file)]) fs.rmSync(f, { force: true });
  return result;
}
