/**
 * The extension's context object: owns the log, the settings, the decision store fed by the spool watcher,
 * the latest snapshot of install/policy/server state, the sync loop and the exception tracker, and tells
 * the views when something changed. Created by `activate`, disposed with the extension.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AuditRecord } from '../runtime/audit/spool';
import type { Forwarder } from '../runtime/forward';
import type { SyncLoop, SyncRun } from '../runtime/sync';
import { Config } from './config';
import { deferred } from './lazy';
import { Disposable, toDisposable } from './lifecycle';
import { errorText, type Log } from './log';
import { DecisionStore, entryFromEvent, type DecisionEntry } from './model/decisions';
import type { WardenState } from './model/state';
import { collectSnapshot, defaultStateDirFor, type Snapshot } from './services/collect';
import { ExceptionTracker } from './services/exceptions';
import { SpoolWatcher } from './services/spoolWatcher';

export const SECRET_ENROLLMENT_TOKEN = 'agentWarden.enrollmentToken';

export interface DecisionsAdded {
  added: DecisionEntry[];
  /** Read at start-up (the spool's recent history), not live. */
  initial: boolean;
}

export class Warden extends Disposable {
  readonly config: Config;
  readonly decisions: DecisionStore;
  readonly exceptions: ExceptionTracker;
  private snap: Snapshot | undefined;
  private readonly watcher: SpoolWatcher;
  private syncLoop: SyncLoop | undefined;
  private syncKey = '';
  private forwarder: Forwarder | undefined;
  private enrolled: import('./deferred').Enrollment | null = null;
  private repaired = new Set<string>();
  private readonly runnerTarget = new Map<string, string>();
  private lastEnrollmentError = '';
  private forwardKey = '';
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly stateChanged = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeState = this.stateChanged.event;
  private readonly decisionsChanged = this._register(new vscode.EventEmitter<DecisionsAdded>());
  readonly onDidChangeDecisions = this.decisionsChanged.event;
  readonly activatedAt = Date.now();

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly log: Log,
  ) {
    super();
    this.config = this._register(new Config(log));
    this.decisions = new DecisionStore({ maxEntries: this.config.get('maxDecisions') }, this.activatedAt);
    this.exceptions = this._register(new ExceptionTracker(this));
    this.watcher = new SpoolWatcher(defaultStateDirFor(process.env), (recs, initial) => this.onRecords(recs, initial), {
      onError: (e) => this.log.warn(`audit spool: ${errorText(e)}`),
    });
    this._register(toDisposable(() => this.watcher.stop()));
    this._register(toDisposable(() => this.syncLoop?.stop()));
    this._register(toDisposable(() => this.forwarder?.stop()));
    this._register(toDisposable(() => this.refreshTimer && clearInterval(this.refreshTimer)));
    this._register(this.config.onDidChange(() => void this.refresh()));
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refresh()));
  }

  /** Heavy start-up work, run after activation returned: first snapshot, spool history, sync loop. */
  async start(): Promise<void> {
    await this.refresh();
    this.watcher.start();
    this.refreshTimer = setInterval(() => void this.refresh(), 30_000);
    this.refreshTimer.unref?.();
    this.exceptions.start();
  }

  get snapshot(): Snapshot | undefined {
    return this.snap;
  }

  get stateDir(): string {
    return this.snap?.stateDir ?? defaultStateDirFor(process.env);
  }

  /** The project folder Claude Code runs in: the first workspace folder. */
  get projectDir(): string | undefined {
    const f = vscode.workspace.workspaceFolders?.[0];
    return f && f.uri.scheme === 'file' ? f.uri.fsPath : f?.uri.path;
  }

  get workspaceFolders(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).map((f) => (f.uri.scheme === 'file' ? f.uri.fsPath : f.uri.path));
  }

  /** Hook script shipped with the extension. */
  get hookScript(): string {
    return path.join(this.context.extensionPath, 'dist', 'hook.js');
  }

  /** This machine's enrolment with the server (src/runtime/enroll.ts: `<stateDir>/enrollment.json`), if any. */
  enrollment(): import('./deferred').Enrollment | null {
    // Not enrolled (the common offline case): do not load the deferred half just to find that out.
    // The file name is src/runtime/enroll.ts's ENROLLMENT_FILE.
    if (!fs.existsSync(path.join(this.stateDir, 'enrollment.json'))) return null;
    try {
      const { readEnrollment } = deferred();
      return readEnrollment(this.stateDir);
    } catch (e) {
      const msg = `enrollment: ${errorText(e)}`;
      if (msg !== this.lastEnrollmentError) this.log.warn(msg);
      this.lastEnrollmentError = msg;
      return null;
    }
  }

  get deviceId(): string | undefined {
    return this.enrolled?.deviceId;
  }

  /** The device token for the server (kept by the enrolment, mode 0600, so headless forwarding works too). */
  async deviceToken(): Promise<string | undefined> {
    return this.enrollment()?.deviceToken;
  }

  /** The server URL in effect: the setting (or its managed value), else the state dir's sync.json. */
  get serverUrl(): string | undefined {
    return this.config.get('serverUrl') || this.snap?.server.url || undefined;
  }

  /** Re-read install, policy and server state now (joins a refresh in progress). */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          const before = this.snap?.stateDir;
          this.snap = collectSnapshot({ ...(this.projectDir ? { projectDir: this.projectDir } : {}), serverUrl: this.config.get('serverUrl') });
          if (before !== this.snap.stateDir) this.watcher.setStateDir(this.snap.stateDir);
          this.enrolled = this.enrollment();
          this.updateSyncLoop();
          this.updateForwarder();
          this.repairHooks();
          void vscode.commands.executeCommand('setContext', 'agentWarden.installed', this.snap.install.installed);
          void vscode.commands.executeCommand('setContext', 'agentWarden.serverConfigured', this.snap.server.configured);
        } catch (e) {
          this.log.error(`cannot read Agent Warden's state: ${errorText(e)}`);
        } finally {
          this.refreshing = undefined;
          this.stateChanged.fire();
          resolve();
        }
      });
    });
    return this.refreshing;
  }

  state(): WardenState | undefined {
    const s = this.snap;
    if (!s) return undefined;
    const ex = this.exceptions.counts();
    return {
      install: s.install,
      policy: s.policy,
      server: { ...s.server, enrolled: !!this.deviceId },
      deniesThisSession: this.decisions.deniesThisSession,
      pendingExceptions: ex.pending,
      activeExceptions: ex.active,
      ...(s.audit ? { audit: { backlog: s.audit.backlog, level: s.audit.level } } : {}),
      now: Date.now(),
    };
  }

  /** Read the spool now (tests and "refresh" use it; the watcher does it by itself). */
  readSpoolNow(): void {
    this.watcher.readNow(false);
  }

  clearDecisions(): void {
    this.decisions.clear();
    this.decisionsChanged.fire({ added: [], initial: false });
  }

  private onRecords(recs: AuditRecord[], initial: boolean): void {
    const added: DecisionEntry[] = [];
    let policyEvent = false;
    for (const r of recs) {
      const e = entryFromEvent(r.event, this.decisions.maxInputBytes);
      if (e) {
        if (this.decisions.add(e)) added.push(e);
      } else if (r.event?.type === 'dev.agentwarden.policy.v1') policyEvent = true;
    }
    if (added.length || initial) this.decisionsChanged.fire({ added, initial });
    if (policyEvent) void this.refresh();
    else if (added.some((e) => e.kind === 'deny')) this.stateChanged.fire();
  }

  // -------------------------------------------------------------------------------------------------------
  // sync

  private updateSyncLoop(): void {
    const url = this.serverUrl;
    const interval = this.config.get('syncInterval');
    const key = url ? `${url}|${interval}|${this.stateDir}` : '';
    if (key === this.syncKey) return;
    this.syncKey = key;
    this.syncLoop?.stop();
    this.syncLoop = undefined;
    if (!url) return;
    void this.createLoop(url, interval).then((loop) => {
      if (this.syncKey !== key || this.isDisposed) return loop.stop();
      this.syncLoop = loop;
      loop.start(5_000);
    });
  }

  private async createLoop(server: string, intervalS: number): Promise<SyncLoop> {
    // The sync client validates trust documents with zod: loaded on first use, not at activation.
    const { SyncLoop: Loop } = deferred();
    const token = await this.deviceToken();
    return new Loop({
      stateDir: this.stateDir,
      server,
      ...(token ? { token } : {}),
      limits: { pollMinMs: Math.round(intervalS * 1000 * 0.75), pollMaxMs: Math.round(intervalS * 1000 * 1.25) },
      onRun: (run) => this.onSyncRun(run),
      onError: (e) => this.log.error(`sync: ${errorText(e)}`),
    });
  }

  /**
   * Keep the hooks that setup installed on this version's runner. They run a copy of dist/hook.js in the
   * state directory (src/runtime/install/runtimeCopy.ts), so an update never leaves them pointing at a
   * deleted folder; after an update they still run the previous version's copy until they are moved to
   * this one, which happens here, once per activation. Hooks installed by an older version straight into
   * its extension folder (gone after the update: Claude Code would fail open) are repaired the same way.
   * Hooks the user removed are left removed.
   */
  private repairHooks(): void {
    const rec = this.context.globalState.get<{ hooks?: { scope: 'user' | 'project'; file: string; projectDir?: string; installedBySetup: boolean } }>('agentWarden.setupRecord');
    const h = rec?.hooks;
    if (!h?.installedBySetup) return;
    const missing = (this.snap?.install.missingScripts ?? []).find((m) => m.file === h.file);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { installGuard } = require('../runtime/install/install') as typeof import('../runtime/install/install');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { guardHooksIn, parseGuardCommand } = require('../runtime/install/guardHooks') as typeof import('../runtime/install/guardHooks');
      const opts = { scope: h.scope, ...(h.projectDir ? { projectDir: h.projectDir } : {}), hookScript: this.hookScript, env: process.env };
      let running: (string | undefined)[] = [];
      try {
        running = guardHooksIn(JSON.parse(fs.readFileSync(h.file, 'utf8'))).map((g) => parseGuardCommand(g.command)?.hook);
      } catch {
        return; // no settings file, or one the doctor reports: nothing of ours to move
      }
      if (!running.length) return;
      // Where this version's runner is copied to (hashing it once per activation and state dir).
      const key = `${h.scope}|${h.file}|${this.stateDir}`;
      let target = this.runnerTarget.get(key);
      if (!target) this.runnerTarget.set(key, (target = installGuard({ ...opts, dryRun: true }).hookScript));
      if (running.every((p) => p === target)) return;
      const attempt = `${h.file}|${running.join('|')}`;
      if (this.repaired.has(attempt)) return; // tried this exact state already (and said so)
      this.repaired.add(attempt);
      const r = installGuard(opts);
      const from = [...new Set(running.filter((p) => p && p !== target))].join(', ');
      this.log.info(`the hooks in ${r.file} ran ${from}; they now run ${r.hookScript} (a copy of ${this.hookScript})`);
      if (missing) void vscode.window.showInformationMessage(`Agent Warden pointed its Claude Code hooks (${r.file}) at this version: the previous version's hook runner was removed by an update.`);
      setTimeout(() => void this.refresh(), 0);
    } catch (e) {
      this.log.error(`cannot move the hooks in ${h.file} to this version: ${errorText(e)}`);
      if (missing) void vscode.window.showErrorMessage(`Agent Warden's hooks in ${h.file} point at a hook runner that no longer exists, and could not be repaired: ${errorText(e)}`, 'Open Doctor Report').then((a) => a && vscode.commands.executeCommand('agentWarden.doctor'));
    }
  }

  /** Forward the audit spool to the server while this machine is enrolled (one forwarder per state dir across processes). */
  private updateForwarder(): void {
    const e = this.enrollment();
    const key = e ? `${e.server}|${e.deviceId}|${this.stateDir}` : '';
    if (key === this.forwardKey) return;
    this.forwardKey = key;
    this.forwarder?.stop();
    this.forwarder = undefined;
    if (!e) return;
    const { Forwarder: F } = deferred();
    const f = new F({
      stateDir: this.stateDir,
      onReport: (r) => {
        if (r.kind === 'stopped' || r.kind === 'deadletter' || r.kind === 'skip') this.log.warn(`audit forwarding: ${JSON.stringify(r)}`);
        else this.log.trace(`audit forwarding: ${JSON.stringify(r)}`);
      },
    });
    this.forwarder = f;
    void f.follow().catch((err: unknown) => this.log.error(`audit forwarding stopped: ${errorText(err)}`));
  }

  private recordSyncEvents(run: SyncRun): void {
    if (!run.events.length) return;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { AuditLog } = require('../hook/audit') as typeof import('../hook/audit');
      const p = this.snap?.policy;
      new AuditLog(this.stateDir, os.userInfo().username, process.env).bundleEvents(run.events, { id: p?.id ?? 'unknown', version: p?.version ?? '0', info: {} });
    } catch (e) {
      this.log.warn(`cannot record the sync run in the audit log: ${errorText(e)}`);
    }
  }

  private onSyncRun(run: SyncRun): void {
    this.recordSyncEvents(run);
    // The signed grant list expires within a day and carries revocations: refresh it with every sync.
    if (this.enrolled) {
      this.exceptions.syncGrants().then(
        (held) => this.log.debug(`grants: ${held.length} held`),
        (e) => this.log.warn(`grants: cannot fetch the signed grant list: ${errorText(e)}`),
      );
    }
    const msg = `sync: ${run.result}${run.code ? ` (${run.code})` : ''}${run.message ? `: ${run.message}` : ''}; trust ${run.trust.result}; next in ${Math.round(run.nextDelayMs / 1000)} s`;
    if (run.result === 'rejected' || run.trust.result === 'rejected') this.log.warn(msg);
    else if (run.result === 'error') this.log.info(msg);
    else this.log.debug(msg);
    void this.refresh();
  }

  /** One sync run now, with the given options (setup) or the configured ones. */
  async syncNow(): Promise<SyncRun> {
    const url = this.serverUrl;
    if (!url) throw new Error('no server is configured');
    if (this.syncLoop) return this.syncLoop.syncNow();
    const { syncOnce } = deferred();
    const token = await this.deviceToken();
    const run = await syncOnce({ stateDir: this.stateDir, server: url, ...(token ? { token } : {}) });
    this.onSyncRun(run);
    return run;
  }

  /** Restart the sync loop (new token or server). */
  resetSync(): void {
    this.syncKey = '';
    this.syncLoop?.stop();
    this.syncLoop = undefined;
  }
}
