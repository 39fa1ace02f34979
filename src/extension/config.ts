/**
 * Settings as the extension uses them: read through `resolveSettings` (validated every time, managed values
 * win and are locked). Re-read on configuration changes; problems go to the log once per distinct text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { defaultManagedDir } from '../runtime/bundleStore';
import { guardHooksIn, isObject } from '../runtime/install/guardHooks';
import { settingsPath } from '../runtime/install/paths';
import { Disposable } from './lifecycle';
import type { Log } from './log';
import { parseManagedConfig, resolveSettings, type EffectiveSettings, type ManagedInput, type SettingKey } from './model/settings';

/** Agent Warden's machine-level config file (`AGENT_WARDEN_MANAGED_CONFIG` overrides the location). */
export function managedConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENT_WARDEN_MANAGED_CONFIG || path.join(defaultManagedDir(), 'extension.json');
}

function readJson(file: string): { value: unknown } | { error: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : { error: (e as Error).message };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: `not valid JSON (${(e as Error).message})` };
  }
}

/** What the organisation manages on this machine. */
export function readManaged(env: NodeJS.ProcessEnv = process.env): { input: ManagedInput; problems: string[] } {
  const problems: string[] = [];
  const input: ManagedInput = {};
  const cfgFile = managedConfigFile(env);
  try {
    const text = fs.readFileSync(cfgFile, 'utf8');
    const parsed = parseManagedConfig(text);
    if ('error' in parsed) problems.push(`${cfgFile}: ${parsed.error}; ignored`);
    else input.extensionConfig = { file: cfgFile, values: parsed.values };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${cfgFile}: ${(e as Error).message}`);
  }
  const syncFile = path.join(defaultManagedDir(), 'sync.json');
  const sync = readJson(syncFile);
  if (sync && 'value' in sync && isObject(sync.value) && typeof sync.value.server === 'string') input.syncServer = { file: syncFile, server: sync.value.server };
  else if (sync && 'error' in sync) problems.push(`${syncFile}: ${sync.error}`);
  const claudeFile = settingsPath('managed', { env });
  const claude = readJson(claudeFile);
  if (claude && 'value' in claude && isObject(claude.value)) {
    input.claudeManaged = { file: claudeFile, guardInstalled: guardHooksIn(claude.value).some((h) => h.event === 'PreToolUse'), managedHooksOnly: claude.value.allowManagedHooksOnly === true };
  }
  return { input, problems };
}

export class Config extends Disposable {
  private current: EffectiveSettings;
  private readonly changed = this._register(new vscode.EventEmitter<EffectiveSettings>());
  readonly onDidChange = this.changed.event;
  private readonly reported = new Set<string>();

  constructor(private readonly log: Log) {
    super();
    this.current = this.read();
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('agentWarden')) return;
        this.reload();
        // A user changing a value the organisation manages: say that it has no effect, and why.
        for (const [k, v] of Object.entries(this.current)) {
          if (v.locked && e.affectsConfiguration(`agentWarden.${k}`)) {
            void vscode.window.showInformationMessage(`agentWarden.${k} is managed by your organisation (${v.lockedBy ?? 'a managed file'}): ${JSON.stringify(v.value)} stays in effect.`);
          }
        }
      }),
    );
  }

  get settings(): EffectiveSettings {
    return this.current;
  }

  get<K extends SettingKey>(key: K): EffectiveSettings[K]['value'] {
    return this.current[key].value;
  }

  reload(): void {
    this.current = this.read();
    this.changed.fire(this.current);
  }

  private read(): EffectiveSettings {
    const cfg = vscode.workspace.getConfiguration('agentWarden');
    const managed = readManaged();
    const r = resolveSettings((k) => cfg.inspect(k), managed.input);
    for (const p of [...managed.problems, ...r.problems]) {
      if (this.reported.has(p)) continue;
      this.reported.add(p);
      this.log.warn(`settings: ${p}`);
      void vscode.window.showWarningMessage(`Agent Warden: ${p}`, 'Open Settings').then((a) => {
        if (a) void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:agent-warden.agent-warden');
      });
    }
    void vscode.commands.executeCommand('setContext', 'agentWarden.lockedSettings', Object.entries(r.settings).filter(([, v]) => v.locked).map(([k]) => `agentWarden.${k}`));
    return r.settings;
  }
}
