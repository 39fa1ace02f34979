/**
 * The Policy view: the active policy (bundle, version, age, mode), its rules with their effects, and the
 * exceptions in force (with expiry) or pending.
 */
import * as vscode from 'vscode';
import { Disposable } from '../lifecycle';
import { policyNodes, type PolicyNode, type RuleSummary } from '../model/policyTree';
import type { Warden } from '../warden';
import { toTreeItem } from './decisionsView';

export class PolicyView extends Disposable implements vscode.TreeDataProvider<PolicyNode> {
  private readonly changed = this._register(new vscode.EventEmitter<PolicyNode | undefined | void>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<PolicyNode>;
  private roots: PolicyNode[] = [];

  constructor(private readonly warden: Warden) {
    super();
    this.view = this._register(vscode.window.createTreeView('agentWarden.policy', { treeDataProvider: this }));
    this._register(warden.onDidChangeState(() => this.refresh()));
    this._register(warden.exceptions.onDidChange(() => this.refresh()));
  }

  refresh(): void {
    const s = this.warden.snapshot;
    if (!s) {
      this.roots = [];
      this.view.message = 'Reading the active policy…';
    } else {
      const rules: RuleSummary[] = (s.policyDoc?.rules ?? []).map((r) => ({
        id: r.id,
        effect: r.effect,
        reason: r.reason,
        ...(r.mode ? { mode: r.mode } : {}),
        ...(r.description ? { description: r.description } : {}),
        ...(r.exception ? { exception: { allowed: r.exception.allowed, ...(r.exception.maxDuration ? { maxDuration: r.exception.maxDuration } : {}) } } : {}),
      }));
      this.roots = policyNodes({ policy: s.policy, rules, ...(s.policyDoc ? { defaultEffect: s.policyDoc.defaultEffect } : {}), exceptions: this.warden.exceptions.all(), now: Date.now() });
      this.view.message = undefined;
      this.view.description = `${s.policy.id} ${s.policy.source === 'bundle' ? `v${s.policy.version}` : s.policy.version}`;
    }
    this.changed.fire();
  }

  get nodes(): PolicyNode[] {
    return this.roots;
  }

  getTreeItem(n: PolicyNode): vscode.TreeItem {
    const t = toTreeItem(n.item);
    if (n.ruleId) t.command = { command: 'agentWarden.openRuleSource', title: 'Open Rule Source', arguments: [n.ruleId] };
    return t;
  }

  getChildren(n?: PolicyNode): PolicyNode[] {
    return n ? (n.children ?? []) : this.roots;
  }
}
