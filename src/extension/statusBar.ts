/**
 * The status bar item, drawn from one state (model/state.ts): enforcing, observe, not installed, policy
 * stale or rejected, offline; the policy version and the denies of this session; a rich tooltip with
 * command links; a click opens the quick menu.
 */
import * as vscode from 'vscode';
import { Disposable } from './lifecycle';
import { MENU_LINKS, statusView, type StatusView } from './model/state';
import type { Warden } from './warden';

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;
  private view: StatusView | undefined;

  constructor(private readonly warden: Warden) {
    super();
    this.item = this._register(vscode.window.createStatusBarItem('agentWarden.status', vscode.StatusBarAlignment.Left, 50));
    this.item.name = 'Agent Warden';
    this.item.command = 'agentWarden.statusMenu';
    this.item.text = '$(loading~spin) Warden';
    this.item.tooltip = 'Agent Warden: reading the guard state…';
    this.item.show();
    this._register(warden.onDidChangeState(() => this.render()));
    this._register(warden.exceptions.onDidChange(() => this.render()));
  }

  /** What is shown now (tests read it; the UI tests read the DOM). */
  get current(): StatusView | undefined {
    return this.view;
  }

  render(): void {
    const s = this.warden.state();
    if (!s) return;
    const v = statusView(s);
    this.view = v;
    this.item.text = v.text;
    const md = new vscode.MarkdownString(v.tooltip, true);
    md.isTrusted = { enabledCommands: MENU_LINKS.map((l) => l.command) };
    md.supportHtml = false;
    this.item.tooltip = md;
    this.item.accessibilityInformation = { label: v.ariaLabel, role: 'button' };
    this.item.backgroundColor = v.background ? new vscode.ThemeColor(v.background === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground') : undefined;
    void vscode.commands.executeCommand('setContext', 'agentWarden.state', v.kind);
  }
}
