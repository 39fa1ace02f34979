/**
 * The extension's log: one LogOutputChannel ("Agent Warden") with levels the user sets with
 * "Developer: Set Log Level…". Errors are also offered to the user with a "Show Log" action by the callers.
 */
import * as vscode from 'vscode';

export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel('Agent Warden', { log: true });
}

/** The message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
