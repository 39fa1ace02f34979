/**
 * The VS Code extension entry point. Activation only wires things together and stays cheap: it creates
 * the log, the context object, the status bar item, the two views, the details panel and the commands, and
 * hands every disposable to the extension context. Reading the guard's state, the audit spool's history
 * and starting the sync loop happen right after activation returns. A failure becomes a visible message
 * with the way out ("Show Log"), never a silently broken extension.
 */
import * as vscode from 'vscode';
import { refreshDetails, ReportDocuments, registerCommands, type App } from './commands/index';
import { createLog, errorText } from './log';
import type { DecisionEntry } from './model/decisions';
import { NotificationLimiter } from './model/rateLimit';
import type { StatusView } from './model/state';
import type { Snapshot } from './services/collect';
import { StatusBar } from './statusBar';
import { DecisionsView } from './views/decisionsView';
import { PolicyView } from './views/policyView';
import { Warden } from './warden';
import { DetailsPanel } from './webview/detailsPanel';

export interface TreeSnapshot {
  label: string;
  description?: string;
  contextValue?: string;
  icon?: string;
  children?: TreeSnapshot[];
}

function snapshotTree<T>(p: vscode.TreeDataProvider<T>, parent?: T, depth = 0): TreeSnapshot[] {
  const kids = (p.getChildren(parent) ?? []) as T[];
  return kids.map((k) => {
    const t = p.getTreeItem(k) as vscode.TreeItem;
    const label = typeof t.label === 'string' ? t.label : (t.label?.label ?? '');
    const out: TreeSnapshot = { label };
    if (typeof t.description === 'string') out.description = t.description;
    if (t.contextValue) out.contextValue = t.contextValue;
    if (t.iconPath instanceof vscode.ThemeIcon) out.icon = t.iconPath.id;
    if (depth < 2 && t.collapsibleState !== vscode.TreeItemCollapsibleState.None) out.children = snapshotTree(p, k, depth + 1);
    return out;
  });
}

/** What `activate` returns: read-only views of the extension's state, for integration tests and other extensions. */
export interface WardenApi {
  version: string;
  /** Resolves once the first state snapshot and the spool history are read. */
  ready: Promise<void>;
  stateDir(): string;
  snapshot(): Snapshot | undefined;
  statusBar(): StatusView | undefined;
  decisions(): DecisionEntry[];
  deniesThisSession(): number;
  /** The decision shown in the details panel and its HTML. */
  details(): { id: string; html: string } | undefined;
  exceptions(): import('./model/exceptions').ExceptionRecord[];
  /** The Decisions view as its provider renders it now (filters applied): sessions with their items. */
  decisionTree(): TreeSnapshot[];
  /** The Policy view as rendered now. */
  policyTree(): TreeSnapshot[];
  /** The settings in effect (validated, managed values locked). */
  settings(): import('./model/settings').EffectiveSettings;
  /** Re-read state and the spool now. */
  refresh(): Promise<void>;
}

export function activate(context: vscode.ExtensionContext): WardenApi {
  const started = Date.now();
  const log = createLog();
  context.subscriptions.push(log);
  try {
    const warden = new Warden(context, log);
    context.subscriptions.push(warden);
    const docs = new ReportDocuments();
    context.subscriptions.push(docs, vscode.workspace.registerTextDocumentContentProvider(ReportDocuments.scheme, docs));
    const diagnostics = vscode.languages.createDiagnosticCollection('agentWarden.policyTests');
    const statusBar = new StatusBar(warden);
    const decisionsView = new DecisionsView(warden);
    const policyView = new PolicyView(warden);
    const details = new DetailsPanel(context.extensionUri);
    context.subscriptions.push(diagnostics, statusBar, decisionsView, policyView, details);
    const app: App = { warden, statusBar, decisionsView, policyView, details, docs, diagnostics };
    context.subscriptions.push(...registerCommands(app));
    context.subscriptions.push(denyNotifications(app));
    context.subscriptions.push(warden.exceptions.onDidChange(() => refreshDetails(app)));

    const version = String(context.extension.packageJSON.version ?? 'dev');
    // Everything that reads files or spawns runs after activation returned.
    const ready = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() =>
      warden.start().then(
        () => log.info(`Agent Warden ${version} ready: state ${warden.stateDir}, ${warden.decisions.size} recent decisions, activation took ${Date.now() - started} ms before the first read`),
        (e: unknown) => {
          log.error(`start-up failed: ${errorText(e)}`);
          void vscode.window.showErrorMessage(`Agent Warden could not read its state: ${errorText(e)}`, 'Show Log', 'Open Doctor Report').then((a) => {
            if (a === 'Show Log') log.show();
            if (a === 'Open Doctor Report') void vscode.commands.executeCommand('agentWarden.doctor');
          });
        },
      ),
    );
    log.debug(`activated in ${Date.now() - started} ms`);
    return {
      version,
      ready,
      stateDir: () => warden.stateDir,
      snapshot: () => warden.snapshot,
      statusBar: () => statusBar.current,
      decisions: () => warden.decisions.all(),
      deniesThisSession: () => warden.decisions.deniesThisSession,
      details: () => details.shown,
      exceptions: () => warden.exceptions.all(),
      decisionTree: () => snapshotTree(decisionsView),
      policyTree: () => snapshotTree(policyView),
      settings: () => warden.config.settings,
      refresh: async () => {
        warden.readSpoolNow();
        await warden.refresh();
      },
    };
  } catch (e) {
    // VS Code does not show activation failures to the user: do it here, with the way out.
    log.error(`activation failed: ${e instanceof Error && e.stack ? e.stack : errorText(e)}`);
    void vscode.window.showErrorMessage(`Agent Warden failed to start: ${errorText(e)}`, 'Show Log').then((a) => a && log.show());
    throw e;
  }
}

/** A notification for each new deny (or, at level "all", ask and would-deny), rate-limited. */
function denyNotifications(app: App): vscode.Disposable {
  const { warden } = app;
  const limiter = new NotificationLimiter<DecisionEntry>(2, 15_000);
  let flushTimer: NodeJS.Timeout | undefined;
  const show = (e: DecisionEntry, suppressed: number): void => {
    const more = suppressed > 0 ? ` (and ${suppressed} more call${suppressed === 1 ? '' : 's'} since)` : '';
    const verb = e.kind === 'deny' ? 'blocked' : e.kind === 'ask' ? 'asked about' : 'would block (observe mode)';
    const text = `Agent Warden ${verb} ${e.tool}${e.summary ? ` \`${e.summary.length > 60 ? e.summary.slice(0, 59) + '…' : e.summary}\`` : ''}: ${e.ruleIds.join(', ') || 'no rule'}${more}`;
    const actions = e.ruleIds.length ? ['Why?', 'Request Exception'] : ['Why?'];
    void (e.kind === 'deny' ? vscode.window.showWarningMessage(text, ...actions) : vscode.window.showInformationMessage(text, ...actions)).then((a) => {
      if (a === 'Why?') void vscode.commands.executeCommand('agentWarden.showDecisionDetails', e.id);
      if (a === 'Request Exception') void vscode.commands.executeCommand('agentWarden.requestException', e.id);
    });
  };
  const scheduleFlush = (): void => {
    if (flushTimer || !limiter.pending) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      const f = limiter.flush(Date.now());
      if (f) show(f.item, f.suppressed);
      scheduleFlush();
    }, Math.max(250, limiter.nextSlotIn(Date.now())));
  };
  const sub = warden.onDidChangeDecisions(({ added, initial }) => {
    if (initial) return;
    const level = warden.config.get('notifications');
    if (level === 'off') return;
    for (const e of added) {
      const notify = e.kind === 'deny' || (level === 'all' && (e.kind === 'ask' || e.kind === 'wouldDeny'));
      if (!notify || e.sessionId.startsWith('agent-warden-try-it')) continue;
      const d = limiter.offer(e, Date.now());
      if (d) show(d.item, d.suppressed);
    }
    scheduleFlush();
  });
  return { dispose: () => (sub.dispose(), flushTimer && clearTimeout(flushTimer)) };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
