/**
 * The VS Code extension entry point. Activation only wires things together; every disposable is owned by
 * the extension context.
 */
import * as vscode from 'vscode';

declare const __AW_VERSION__: string;

export function activate(context: vscode.ExtensionContext): { version: string } {
  const version = typeof __AW_VERSION__ === 'string' ? __AW_VERSION__ : 'dev';
  context.subscriptions.push(
    vscode.commands.registerCommand('agentWarden.showVersion', () => {
      void vscode.window.showInformationMessage(`Agent Warden ${version}`);
      return version;
    }),
  );
  return { version };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
