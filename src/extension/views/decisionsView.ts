/**
 * The Decisions view: a live tree of the hook's decisions grouped by Claude Code session (newest first),
 * an icon per effect, the tool and a short redacted summary per item, and filters (denied only, this
 * workspace, observe-mode would-denies) kept per workspace.
 */
import * as vscode from 'vscode';
import { Disposable } from '../lifecycle';
import { decisionItem, describeFilter, sessionItem, type DecisionEntry, type DecisionFilter, type TreeItemModel } from '../model/decisions';
import type { Warden } from '../warden';

export type DecisionNode = { type: 'session'; sessionId: string } | { type: 'decision'; id: string };

export type FilterName = 'deniedOnly' | 'thisWorkspace' | 'wouldDenyOnly';
export const FILTER_NAMES: FilterName[] = ['deniedOnly', 'thisWorkspace', 'wouldDenyOnly'];
const FILTER_KEY = 'agentWarden.decisionFilters';

export function toTreeItem(m: TreeItemModel): vscode.TreeItem {
  const t = new vscode.TreeItem(m.label, m.collapsible === 'none' ? vscode.TreeItemCollapsibleState.None : m.collapsible === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
  t.id = m.id;
  if (m.description !== undefined) t.description = m.description;
  const md = new vscode.MarkdownString(m.tooltip);
  md.isTrusted = false;
  t.tooltip = md;
  t.iconPath = new vscode.ThemeIcon(m.icon.id, m.icon.color ? new vscode.ThemeColor(m.icon.color) : undefined);
  t.contextValue = m.contextValue;
  return t;
}

export class DecisionsView extends Disposable implements vscode.TreeDataProvider<DecisionNode> {
  private readonly changed = this._register(new vscode.EventEmitter<DecisionNode | undefined | void>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<DecisionNode>;
  private pending: NodeJS.Timeout | undefined;
  private filters: Record<FilterName, boolean>;
  /** One node object per id: TreeView compares elements by identity (reveal, selection). */
  private readonly nodes = new Map<string, DecisionNode>();

  constructor(private readonly warden: Warden) {
    super();
    this.filters = { deniedOnly: false, thisWorkspace: false, wouldDenyOnly: false, ...warden.context.workspaceState.get<Partial<Record<FilterName, boolean>>>(FILTER_KEY) };
    this.view = this._register(vscode.window.createTreeView('agentWarden.decisions', { treeDataProvider: this, showCollapseAll: true }));
    this._register(warden.onDidChangeDecisions(() => this.schedule()));
    this._register(warden.onDidChangeState(() => this.updateMessage()));
    this._register({ dispose: () => this.pending && clearTimeout(this.pending) });
    this.applyFilterContext();
  }

  /** Coalesce bursts of decisions into one refresh (well within a second). */
  private schedule(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refresh();
    }, 100);
  }

  refresh(): void {
    this.updateMessage();
    this.changed.fire();
  }

  get filter(): DecisionFilter {
    return {
      deniedOnly: this.filters.deniedOnly,
      wouldDenyOnly: this.filters.wouldDenyOnly,
      workspaceFolders: this.filters.thisWorkspace ? this.warden.workspaceFolders : [],
    };
  }

  get filterFlags(): Readonly<Record<FilterName, boolean>> {
    return { ...this.filters };
  }

  async setFilter(name: FilterName, on: boolean): Promise<void> {
    this.filters[name] = on;
    await this.warden.context.workspaceState.update(FILTER_KEY, this.filters);
    this.applyFilterContext();
    this.refresh();
  }

  private applyFilterContext(): void {
    for (const n of FILTER_NAMES) void vscode.commands.executeCommand('setContext', `agentWarden.filter.${n}`, this.filters[n]);
    const d = describeFilter(this.filter);
    this.view.description = d ? `filter: ${d}` : undefined;
    this.updateMessage();
  }

  private updateMessage(): void {
    const sessions = this.warden.decisions.sessionsFor(this.filter);
    if (sessions.length) this.view.message = undefined;
    else if (this.warden.decisions.size) this.view.message = 'No decision matches the filter.';
    // Not installed (or not known yet): the view's welcome content offers setup instead of a message.
    else this.view.message = this.warden.snapshot?.install.installed ? 'No tool calls yet. Decisions appear here as Claude Code runs tools.' : undefined;
    const n = this.warden.decisions.deniesThisSession;
    this.view.badge = n ? { value: n, tooltip: `${n} call${n === 1 ? '' : 's'} denied since this window opened` } : undefined;
  }

  getTreeItem(node: DecisionNode): vscode.TreeItem {
    if (node.type === 'session') {
      const sessions = this.warden.decisions.sessionsFor(this.filter);
      const g = sessions.find((s) => s.sessionId === node.sessionId);
      if (!g) return new vscode.TreeItem('(gone)');
      return toTreeItem(sessionItem(g, this.warden.decisions.entriesFor(g.sessionId, this.filter), sessions[0] === g));
    }
    const e = this.warden.decisions.get(node.id);
    if (!e) return new vscode.TreeItem('(gone)');
    const t = toTreeItem(decisionItem(e));
    t.command = { command: 'agentWarden.showDecisionDetails', title: 'Why?', arguments: [e.id] };
    return t;
  }

  private sessionNode(sessionId: string): DecisionNode {
    const key = `s:${sessionId}`;
    let n = this.nodes.get(key);
    if (!n) this.nodes.set(key, (n = { type: 'session', sessionId }));
    return n;
  }

  private decisionNode(id: string): DecisionNode {
    const key = `d:${id}`;
    let n = this.nodes.get(key);
    if (!n) this.nodes.set(key, (n = { type: 'decision', id }));
    return n;
  }

  getChildren(node?: DecisionNode): DecisionNode[] {
    if (!node) {
      // Forget nodes of evicted decisions so the cache stays as bounded as the store.
      if (this.nodes.size > this.warden.decisions.size * 2 + 64) {
        for (const [k, n] of this.nodes) if (n.type === 'decision' ? !this.warden.decisions.get(n.id) : false) this.nodes.delete(k);
      }
      return this.warden.decisions.sessionsFor(this.filter).map((g) => this.sessionNode(g.sessionId));
    }
    if (node.type === 'session') return this.warden.decisions.entriesFor(node.sessionId, this.filter).map((e) => this.decisionNode(e.id));
    return [];
  }

  getParent(node: DecisionNode): DecisionNode | undefined {
    if (node.type === 'session') return undefined;
    const e = this.warden.decisions.get(node.id);
    return e ? this.sessionNode(e.sessionId) : undefined;
  }

  /** Reveal and select a decision (after "Try it", from a notification). */
  async reveal(e: DecisionEntry): Promise<void> {
    this.refresh();
    try {
      await this.view.reveal(this.decisionNode(e.id), { select: true, focus: false, expand: true });
    } catch {
      // filtered out or view hidden: nothing to reveal
    }
  }
}
