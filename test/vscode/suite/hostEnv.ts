/**
 * Helpers for the in-host suite: the sandbox the runner prepared (a throwaway HOME, workspace and managed
 * files, passed in the environment), the extension's API, waiting for a condition (never asserting how
 * long it took), and running the installed hook exactly as Claude Code runs it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WardenApi } from '../../../src/extension/extension';

export const EXT_ID = 'agent-warden.agent-warden';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the in-host tests with test/vscode/runInHost.js`);
  return v;
}

export const sandbox = {
  root: (): string => env('AW_TEST_REPO'),
  home: (): string => env('HOME'),
  tmp: (): string => env('AW_TEST_TMP'),
  workspace: (): string => env('AW_TEST_WORKSPACE'),
  managedConfig: (): string => env('AGENT_WARDEN_MANAGED_CONFIG'),
};

export async function api(): Promise<WardenApi> {
  const ext = vscode.extensions.getExtension<WardenApi>(EXT_ID);
  if (!ext) throw new Error(`extension ${EXT_ID} is not loaded`);
  const a = await ext.activate();
  await a.ready;
  return a;
}

/** Wait until `fn` returns a truthy value (re-reading state each time); fails with `what` after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HookAnswer {
  decision?: string;
  reason?: string;
  raw: string;
  /** The audit event id the reason names. */
  eventId?: string;
}

/** The PreToolUse guard command installed in a Claude Code settings file. */
export function installedCommand(settingsFile: string): string {
  const s = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as { hooks?: Record<string, { hooks: { command: string }[] }[]> };
  const cmd = s.hooks?.PreToolUse?.flatMap((g) => g.hooks).map((h) => h.command).find((c) => c.includes('--agent-warden'));
  if (!cmd) throw new Error(`no Agent Warden PreToolUse hook in ${settingsFile}`);
  return cmd;
}

let n = 0;
/** Run a guard command through bash with a PreToolUse payload on stdin, in the project folder, as Claude Code does. */
export function runHook(command: string, tool: string, toolInput: unknown, o: { session?: string; cwd?: string } = {}): Promise<HookAnswer> {
  const cwd = o.cwd ?? sandbox.workspace();
  const payload = { session_id: o.session ?? 'in-host-session', transcript_path: '', cwd, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: tool, tool_input: toolInput, tool_use_id: `toolu_inhost_${++n}` };
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', command], { cwd, env: { ...process.env, CLAUDE_PROJECT_DIR: cwd }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`hook exited ${code}: ${err}`));
      try {
        const j = JSON.parse(out.trim()) as { hookSpecificOutput?: { permissionDecision?: string; permissionDecisionReason?: string } };
        const reason = j.hookSpecificOutput?.permissionDecisionReason;
        const ans: HookAnswer = { raw: out };
        if (j.hookSpecificOutput?.permissionDecision) ans.decision = j.hookSpecificOutput.permissionDecision;
        if (reason) {
          ans.reason = reason;
          const m = /event ([0-9A-Z]{26})/.exec(reason);
          if (m) ans.eventId = m[1];
        }
        resolve(ans);
      } catch {
        reject(new Error(`hook printed no JSON: ${out} ${err}`));
      }
    });
    child.stdin.end(JSON.stringify(payload) + '\n');
  });
}

export const userSettingsFile = (): string => path.join(sandbox.home(), '.claude', 'settings.json');
