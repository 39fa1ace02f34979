/**
 * "Why was this blocked?": one webview panel for the selected decision. Strict CSP (our stylesheet and one
 * nonce'd script from media/, nothing inline, no network), resources only from media/, every value escaped.
 * The buttons post `{action}` and the extension runs the matching command.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { Disposable } from '../lifecycle';
import type { DecisionEntry } from '../model/decisions';
import { detailsHtml, type DetailsExtras } from '../model/details';

const ACTIONS: Record<string, string> = {
  requestException: 'agentWarden.requestException',
  copyTestCase: 'agentWarden.copyAsTestCase',
  openRule: 'agentWarden.openRuleSource',
};

export class DetailsPanel extends Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private entry: DecisionEntry | undefined;
  private html = '';

  constructor(private readonly extensionUri: vscode.Uri) {
    super();
  }

  /** The decision shown, and the HTML rendered for it (tests). */
  get shown(): { id: string; html: string } | undefined {
    return this.panel && this.entry ? { id: this.entry.id, html: this.html } : undefined;
  }

  show(e: DecisionEntry, extras: DetailsExtras, preserveFocus = false): void {
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const title = e.kind === 'deny' ? `Why was ${e.tool} blocked?` : `Decision: ${e.tool}`;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('agentWarden.details', title, { viewColumn: vscode.ViewColumn.Active, preserveFocus }, {
        enableScripts: true,
        enableForms: false,
        localResourceRoots: [media],
        retainContextWhenHidden: false,
      });
      this.panel.iconPath = vscode.Uri.joinPath(media, 'warden.svg');
      this._register(this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.entry = undefined;
      }));
      this._register(
        this.panel.webview.onDidReceiveMessage((m: unknown) => {
          const action = m && typeof m === 'object' ? (m as { action?: unknown }).action : undefined;
          const cmd = typeof action === 'string' ? ACTIONS[action] : undefined;
          if (cmd && this.entry) void vscode.commands.executeCommand(cmd, this.entry.id);
        }),
      );
    } else this.panel.reveal(undefined, preserveFocus);
    this.entry = e;
    const w = this.panel.webview;
    this.panel.title = title;
    this.html = detailsHtml(e, {
      cspSource: w.cspSource,
      nonce: randomBytes(18).toString('base64'),
      styleUri: w.asWebviewUri(vscode.Uri.joinPath(media, 'details.css')).toString(),
      scriptUri: w.asWebviewUri(vscode.Uri.joinPath(media, 'details.js')).toString(),
    }, extras);
    w.html = this.html;
  }

  /** Re-render the same decision (its exception status changed). */
  update(e: DecisionEntry, extras: DetailsExtras): void {
    if (this.panel && this.entry?.id === e.id) this.show(e, extras, true);
  }

  override dispose(): void {
    this.panel?.dispose();
    super.dispose();
  }
}
