/**
 * One-click setup and its exact undo.
 *
 * Setup: detect Claude Code; install the guard hooks (user or workspace scope; skipped when the
 * organisation installs them through managed settings); connect to the server (URL + enrollment token,
 * both tokens kept in SecretStorage); pin the trust root; write the sync configuration; first sync; offer
 * "Try it". Every step is safe to repeat: what is already in place is left as it is.
 *
 * What setup changed is recorded (global state); "Remove" undoes exactly that, in reverse order, and keeps
 * the audit log.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import type { InstallResult } from '../../runtime/install/install';
import { deferred } from '../lazy';
import { errorText } from '../log';
import { checkServerUrl } from '../model/settings';
import { SECRET_ENROLLMENT_TOKEN, type Warden } from '../warden';

export interface SetupOptions {
  /** Where to install the hooks (default: the installScope setting, asked when interactive). */
  scope?: 'user' | 'workspace';
  /** Server to connect to; '' = stay offline; undefined = the setting, or asked when interactive. */
  serverUrl?: string;
  enrollmentToken?: string;
  /** Bundle to enforce, when the enrollment does not say. */
  bundleId?: string;
  /** The trust root, out of band: a file (trust.json), or its sha256 (then fetched from the server and checked). */
  trustRootFile?: string;
  trustRootSha256?: string;
  /** Run "Try it" at the end. */
  tryIt?: boolean;
  /** Ask for what is missing (default: true when the command is run without arguments). */
  interactive?: boolean;
}

export interface SetupRecord {
  version: 1;
  at: string;
  stateDir: string;
  hooks?: { scope: 'user' | 'project'; file: string; projectDir?: string; installedBySetup: boolean };
  serverSetting?: { url: string; previous: string | undefined };
  syncConfig?: { file: string; previous: string | null };
  enrollmentFile?: { file: string; previous: string | null };
  trust?: { file: string; pinnedBySetup: boolean };
  secrets: string[];
  enrolled?: { server: string; deviceId: string };
}

export interface SetupResult {
  steps: { step: string; ok: boolean; detail: string }[];
  record: SetupRecord;
  install?: Pick<InstallResult, 'file' | 'changed' | 'command' | 'warnings'>;
  sync?: { result: string; message?: string };
}

const RECORD_KEY = 'agentWarden.setupRecord';

export function setupRecord(w: Warden): SetupRecord | undefined {
  return w.context.globalState.get<SetupRecord>(RECORD_KEY);
}

/** Claude Code on PATH, and its version. */
export function detectClaude(): { found: boolean; text: string; info?: import('../../runtime/install/claudeVersion').ClaudeInfo } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { claudeInfo } = require('../../runtime/install/claudeVersion') as typeof import('../../runtime/install/claudeVersion');
  const info = claudeInfo(undefined, process.env);
  if (!info) return { found: false, text: 'Claude Code was not found on PATH. The hooks are installed anyway and take effect when Claude Code runs.' };
  return { found: true, info, text: `Claude Code ${info.version ? info.version.join('.') : `(${info.raw})`} at ${info.path}` };
}

class Cancelled extends Error {}

async function ask<T>(p: Thenable<T | undefined>): Promise<T> {
  const v = await p;
  if (v === undefined) throw new Cancelled('setup cancelled');
  return v;
}

export async function runSetup(w: Warden, opts: SetupOptions = {}): Promise<SetupResult | undefined> {
  const interactive = opts.interactive ?? false;
  const prev = setupRecord(w);
  const record: SetupRecord = { version: 1, at: new Date().toISOString(), stateDir: w.stateDir, secrets: [...(prev?.secrets ?? [])], ...(prev?.hooks ? { hooks: prev.hooks } : {}), ...(prev?.serverSetting ? { serverSetting: prev.serverSetting } : {}), ...(prev?.syncConfig ? { syncConfig: prev.syncConfig } : {}), ...(prev?.trust ? { trust: prev.trust } : {}), ...(prev?.enrolled ? { enrolled: prev.enrolled } : {}) };
  const result: SetupResult = { steps: [], record };
  const step = (name: string, ok: boolean, detail: string): void => {
    result.steps.push({ step: name, ok, detail });
    (ok ? w.log.info : w.log.warn).call(w.log, `setup: ${name}: ${detail}`);
  };
  const save = (): Thenable<void> => w.context.globalState.update(RECORD_KEY, record);

  try {
    // 1. Claude Code
    const claude = detectClaude();
    step('detect Claude Code', claude.found, claude.text);

    // 2. Hooks
    const settings = w.config.settings;
    if (settings.installScope.value === 'managed') {
      step('install hooks', true, `managed by your organisation (${settings.installScope.lockedBy ?? 'Claude Code managed settings'}): nothing to install`);
    } else {
      let scope = opts.scope ?? (settings.installScope.value === 'workspace' ? 'workspace' : 'user');
      if (interactive && !opts.scope) {
        const pick = await ask(
          vscode.window.showQuickPick(
            [
              { label: 'User settings', description: '~/.claude/settings.json', detail: 'Guard every Claude Code session of this user, in every project', scope: 'user' as const },
              { label: 'This workspace', description: '.claude/settings.json', detail: 'Guard Claude Code sessions in this project only (the file can be committed for the team)', scope: 'workspace' as const },
            ].sort((a) => (a.scope === scope ? -1 : 1)),
            { title: 'Agent Warden Setup (1/3): where to install the hooks', placeHolder: 'Install the Agent Warden hooks in…', ignoreFocusOut: true },
          ),
        );
        scope = pick.scope;
      }
      if (scope === 'workspace' && !w.projectDir) throw new Error('installing in the workspace needs an open folder; open the project folder, or install in the user settings');
      if (!fs.existsSync(w.hookScript)) throw new Error(`the hook runner ${w.hookScript} is missing from the extension; reinstall Agent Warden`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { installGuard } = require('../../runtime/install/install') as typeof import('../../runtime/install/install');
      const inst = installGuard({ scope: scope === 'user' ? 'user' : 'project', ...(w.projectDir ? { projectDir: w.projectDir } : {}), hookScript: w.hookScript, env: process.env, ...(claude.info ? { claude: claude.info } : {}) });
      result.install = { file: inst.file, changed: inst.changed, command: inst.command, warnings: inst.warnings };
      const same = prev?.hooks && prev.hooks.file === inst.file;
      record.hooks = { scope: inst.scope === 'user' ? 'user' : 'project', file: inst.file, ...(w.projectDir && inst.scope === 'project' ? { projectDir: w.projectDir } : {}), installedBySetup: (same && prev!.hooks!.installedBySetup) || inst.changed };
      await save();
      step('install hooks', true, `${inst.changed ? 'installed in' : 'already in'} ${inst.file}${inst.warnings.length ? ` (${inst.warnings.join('; ')})` : ''}`);
    }

    // 3. Server
    let server = opts.serverUrl ?? w.config.get('serverUrl');
    const locked = settings.serverUrl.locked;
    if (interactive && opts.serverUrl === undefined && !locked) {
      server = await ask(
        vscode.window.showInputBox({
          title: 'Agent Warden Setup (2/3): policy server',
          prompt: 'URL of your organisation\'s Agent Warden server. Leave empty to use the built-in baseline policy offline.',
          value: server,
          placeHolder: 'https://warden.example.com',
          ignoreFocusOut: true,
          validateInput: (v) => (v.trim() ? checkServerUrl(v.trim()) : undefined),
        }),
      );
      server = server.trim();
    }
    if (server) {
      const bad = checkServerUrl(server);
      if (bad) throw new Error(`server URL ${bad}`);
      await connect(w, server, opts, interactive, record, step, save);
    } else step('connect to server', true, 'no server: the built-in baseline policy is enforced offline');

    await save();
    await w.refresh();
    w.readSpoolNow();
    const s = w.snapshot;
    if (s && !s.install.installed) step('verify', false, `the guard is not active yet: ${s.install.problem ?? 'unknown reason'}`);
    else step('verify', true, `guarding Claude Code (${s?.install.scopes.join(', ')}); policy ${s?.policy.id} ${s?.policy.version}`);
    if (opts.tryIt) await vscode.commands.executeCommand('agentWarden.tryIt');
    return result;
  } catch (e) {
    if (e instanceof Cancelled) {
      w.log.info('setup cancelled');
      return undefined;
    }
    throw e;
  }
}

async function connect(
  w: Warden,
  server: string,
  opts: SetupOptions,
  interactive: boolean,
  record: SetupRecord,
  step: (name: string, ok: boolean, detail: string) => void,
  save: () => Thenable<void>,
): Promise<void> {
  const settings = w.config.settings;
  // The setting (unless the organisation manages it).
  if (!settings.serverUrl.locked && w.config.get('serverUrl') !== server) {
    const cfg = vscode.workspace.getConfiguration('agentWarden');
    const previous = cfg.inspect<string>('serverUrl')?.globalValue;
    await cfg.update('serverUrl', server, vscode.ConfigurationTarget.Global);
    if (!record.serverSetting) record.serverSetting = { url: server, previous };
    else record.serverSetting.url = server;
    w.config.reload();
    await save();
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { storePaths, resolveManagedDir, readClientConfig, writeClientConfig } = require('../../runtime/bundleStore') as typeof import('../../runtime/bundleStore');
  const { anchorLocation } = require('../../runtime/trustStore') as typeof import('../../runtime/trustStore');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { enroll, enrollmentPath } = deferred();
  const stateDir = w.stateDir;
  const paths = storePaths(stateDir);
  const existing = w.enrollment();

  if (existing && existing.server === server) {
    step('enroll', true, `already enrolled with ${server} as device ${existing.deviceId} (user ${existing.userId}, tenant ${existing.tenant})`);
    const anchor = anchorLocation(stateDir, resolveManagedDir(undefined));
    step('pin trust root', !!anchor, anchor ? `${anchor.managed ? 'managed by your organisation' : 'pinned'} (${anchor.file})` : 'no trust root is pinned');
  } else {
    // The trust root must come out of band: the organisation's managed trust.json, a file, or its fingerprint.
    const managedAnchor = anchorLocation(stateDir, resolveManagedDir(undefined));
    let trustRoot: Buffer | undefined = opts.trustRootFile ? fs.readFileSync(opts.trustRootFile) : undefined;
    let trustRootSha256 = opts.trustRootSha256;
    if (!trustRoot && !trustRootSha256 && !managedAnchor?.managed && interactive) {
      const how = await ask(
        vscode.window.showQuickPick(
          [
            { label: 'Enter the trust root fingerprint', detail: 'The sha256 your administrator published (64 hex digits)', v: 'sha' as const },
            { label: 'Choose the trust root file…', detail: 'trust.json from your administrator', v: 'file' as const },
          ],
          { title: 'Agent Warden Setup: trust root', placeHolder: 'Bundles are only accepted when they chain to a root you received out of band', ignoreFocusOut: true },
        ),
      );
      if (how.v === 'file') {
        const pick = await ask(vscode.window.showOpenDialog({ title: 'The trust root (trust.json) your administrator published', canSelectMany: false, filters: { 'Trust root': ['json'] } }));
        if (!pick[0]) throw new Cancelled('no file chosen');
        trustRoot = fs.readFileSync(pick[0].fsPath);
      } else {
        trustRootSha256 = (await ask(vscode.window.showInputBox({ title: 'Agent Warden Setup: trust root fingerprint', prompt: 'sha256 of the trust root, as your administrator published it', ignoreFocusOut: true, validateInput: (v) => (/^[0-9a-fA-F]{64}$/.test(v.trim()) ? undefined : '64 hex digits') }))).trim().toLowerCase();
      }
    }
    let token = opts.enrollmentToken ?? (await w.context.secrets.get(SECRET_ENROLLMENT_TOKEN));
    if (!token && interactive) {
      token = await ask(
        vscode.window.showInputBox({
          title: 'Agent Warden Setup (3/3): enrollment token',
          prompt: `The one-time enrollment token your administrator gave you for ${server}. It is kept in VS Code's secret storage.`,
          password: true,
          ignoreFocusOut: true,
          validateInput: (v) => (v.trim().length >= 8 ? undefined : 'Paste the enrollment token'),
        }),
      );
    }
    if (!token) throw new Error(`an enrollment token is needed to connect to ${server}`);
    token = token.trim();
    await w.context.secrets.store(SECRET_ENROLLMENT_TOKEN, token);
    if (!record.secrets.includes(SECRET_ENROLLMENT_TOKEN)) record.secrets.push(SECRET_ENROLLMENT_TOKEN);
    await save();
    // What enrolment writes, so "Remove" can put it back exactly.
    const before = (f: string): string | null => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null);
    const prevSync = before(paths.config);
    const prevEnrollment = before(enrollmentPath(stateDir));
    const hadAnchor = fs.existsSync(paths.anchor);
    const r = await enroll({ stateDir, server, token, deviceName: os.hostname(), ...(trustRoot ? { trustRoot } : {}), ...(trustRootSha256 ? { trustRootSha256 } : {}) });
    if (!record.syncConfig) record.syncConfig = { file: paths.config, previous: prevSync };
    if (!record.enrollmentFile) record.enrollmentFile = { file: enrollmentPath(stateDir), previous: prevEnrollment };
    if (!r.trust.managed) record.trust = { file: paths.anchor, pinnedBySetup: (record.trust?.pinnedBySetup ?? false) || !hadAnchor };
    record.enrolled = { server, deviceId: r.enrollment.deviceId };
    await save();
    w.resetSync();
    step('enroll', true, `enrolled as device ${r.enrollment.deviceId} (user ${r.enrollment.userId}, tenant ${r.enrollment.tenant})`);
    step('pin trust root', true, `${r.trust.managed ? 'managed by your organisation' : hadAnchor ? 'already pinned' : 'pinned'}: tenant ${r.trust.tenant} trust v${r.trust.version} (root sha256 ${r.trust.anchorSha256.slice(0, 16)}…)`);
  }

  // Sync configuration: enrolment writes it when the server names the bundle; otherwise ask.
  let cfg = readClientConfig(stateDir, null);
  let bundleId = cfg.bundleId ?? opts.bundleId;
  if (!bundleId && interactive) {
    bundleId = (await ask(vscode.window.showInputBox({ title: 'Agent Warden Setup: policy bundle', prompt: 'The policy bundle this machine enforces (e.g. acme/default)', ignoreFocusOut: true, validateInput: (v) => (/^[a-z0-9][a-z0-9._/-]*$/.test(v.trim()) ? undefined : 'lower-case letters, digits and . _ / -') }))).trim();
  }
  if (bundleId && (cfg.bundleId !== bundleId || cfg.server !== server)) {
    if (!record.syncConfig) record.syncConfig = { file: paths.config, previous: fs.existsSync(paths.config) ? fs.readFileSync(paths.config, 'utf8') : null };
    writeClientConfig(stateDir, { ...cfg, server, bundleId });
    cfg = readClientConfig(stateDir, null);
    await save();
  }
  step('configure sync', !!cfg.bundleId, cfg.bundleId ? `server ${server}, bundle ${cfg.bundleId} (${paths.config})` : 'no bundle id: the server did not name one');

  // First sync.
  if (cfg.bundleId) {
    try {
      const run = await w.syncNow();
      const ok = run.result === 'updated' || run.result === 'unchanged' || run.result === 'not-modified';
      step('first sync', ok, `${run.result}${run.message ? `: ${run.message}` : ''}`);
    } catch (e) {
      step('first sync', false, errorText(e));
    }
  }
}

export interface RemoveResult {
  undone: string[];
  kept: string[];
}

/** Undo exactly what setup recorded, newest first. */
export async function runRemove(w: Warden): Promise<RemoveResult | undefined> {
  const rec = setupRecord(w);
  const out: RemoveResult = { undone: [], kept: [] };
  if (!rec) return undefined;
  for (const key of rec.secrets) {
    await w.context.secrets.delete(key);
    out.undone.push(`deleted secret ${key}`);
  }
  w.resetSync();
  if (rec.enrollmentFile) {
    if (rec.enrollmentFile.previous === null) fs.rmSync(rec.enrollmentFile.file, { force: true });
    else fs.writeFileSync(rec.enrollmentFile.file, rec.enrollmentFile.previous, { mode: 0o600 });
    out.undone.push(`${rec.enrollmentFile.previous === null ? 'removed the enrollment' : 'restored the previous enrollment'} (${rec.enrollmentFile.file})`);
  }
  if (rec.syncConfig) {
    if (rec.syncConfig.previous === null) fs.rmSync(rec.syncConfig.file, { force: true });
    else fs.writeFileSync(rec.syncConfig.file, rec.syncConfig.previous);
    out.undone.push(`${rec.syncConfig.previous === null ? 'removed' : 'restored'} ${rec.syncConfig.file}`);
  }
  if (rec.trust?.pinnedBySetup) {
    fs.rmSync(rec.trust.file, { force: true });
    out.undone.push(`unpinned the trust root ${rec.trust.file}`);
  }
  if (rec.serverSetting) {
    await vscode.workspace.getConfiguration('agentWarden').update('serverUrl', rec.serverSetting.previous, vscode.ConfigurationTarget.Global);
    out.undone.push(`restored the agentWarden.serverUrl setting`);
  }
  if (rec.hooks?.installedBySetup) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { uninstallGuard } = require('../../runtime/install/install') as typeof import('../../runtime/install/install');
    const u = uninstallGuard({ scope: rec.hooks.scope, ...(rec.hooks.projectDir ? { projectDir: rec.hooks.projectDir } : {}), env: process.env });
    out.undone.push(`${u.removedFile ? 'removed' : 'took the Agent Warden hooks out of'} ${u.file}${u.removedDenyRules.length ? ` (and ${u.removedDenyRules.length} deny rules)` : ''}`);
    for (const wmsg of u.warnings) out.kept.push(wmsg);
  } else if (rec.hooks) out.kept.push(`the hooks in ${rec.hooks.file} were there before setup`);
  out.kept.push(`the audit log in ${rec.stateDir}`);
  await w.context.globalState.update(RECORD_KEY, undefined);
  w.config.reload();
  await w.refresh();
  for (const u of out.undone) w.log.info(`remove: ${u}`);
  return out;
}
