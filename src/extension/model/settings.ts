/**
 * The extension's settings: what each one accepts (checked every time it is read; an invalid value falls
 * back to the default and is reported), and organisation-managed values that override the user's and
 * show as locked. Pure: the vscode layer passes in what `WorkspaceConfiguration.inspect` returned and what
 * the managed files say.
 *
 * Managed sources, strongest first:
 *   1. `<managedDir>/extension.json` — Agent Warden's machine-level config file an administrator deploys
 *      (`/etc/agent-warden` on Linux; keys as below, without the `agentWarden.` prefix);
 *   2. `<managedDir>/sync.json` — the sync client's machine config (its `server` locks serverUrl);
 *   3. Claude Code's managed settings — when they install the guard hooks (or only allow managed hooks),
 *      the installation scope is locked to "managed".
 */

export type NotificationLevel = 'denies' | 'all' | 'off';
export type InstallScopeSetting = 'user' | 'workspace' | 'managed';

export interface SettingsValues {
  serverUrl: string;
  syncInterval: number;
  notifications: NotificationLevel;
  installScope: InstallScopeSetting;
  maxDecisions: number;
}

export type SettingKey = keyof SettingsValues;

export const DEFAULTS: SettingsValues = {
  serverUrl: '',
  syncInterval: 90,
  notifications: 'denies',
  installScope: 'user',
  maxDecisions: 1000,
};

export const SETTING_KEYS = Object.keys(DEFAULTS) as SettingKey[];

/** Why a value is not acceptable, or undefined. */
export function checkServerUrl(v: unknown): string | undefined {
  if (typeof v !== 'string') return 'must be a string';
  if (v === '') return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `${JSON.stringify(v)} is not a URL`;
  }
  if (u.username || u.password) return 'must not contain credentials (the enrollment token is asked for separately)';
  if (u.search || u.hash) return 'must not have a query or fragment';
  const loopback = u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && loopback) return undefined;
  return 'must be https:// (http:// only for 127.0.0.1 / localhost)';
}

const CHECKS: { [K in SettingKey]: (v: unknown) => string | undefined } = {
  serverUrl: checkServerUrl,
  syncInterval: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 30 && v <= 86_400 ? undefined : 'must be a whole number of seconds from 30 to 86400'),
  notifications: (v) => (v === 'denies' || v === 'all' || v === 'off' ? undefined : 'must be "denies", "all" or "off"'),
  installScope: (v) => (v === 'user' || v === 'workspace' ? undefined : 'must be "user" or "workspace"'),
  maxDecisions: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 20_000 ? undefined : 'must be a whole number from 100 to 20000'),
};

export function checkSetting(key: SettingKey, v: unknown): string | undefined {
  return CHECKS[key](v);
}

/** What `WorkspaceConfiguration.inspect()` reports for one key (the parts we use). */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type SettingSource = 'default' | 'user' | 'workspace' | 'managed';

export interface EffectiveSetting<T> {
  value: T;
  source: SettingSource;
  /** Set by the organisation: the user's value is ignored. */
  locked: boolean;
  /** Which managed file locked it. */
  lockedBy?: string;
}

export type EffectiveSettings = { [K in SettingKey]: EffectiveSetting<SettingsValues[K]> };

export interface ManagedInput {
  /** Parsed `<managedDir>/extension.json` (null when absent), with its path. */
  extensionConfig?: { file: string; values: Record<string, unknown> } | null;
  /** `server` from `<managedDir>/sync.json`. */
  syncServer?: { file: string; server: string } | null;
  /** Claude Code managed settings: the guard hooks are installed there / only managed hooks run. */
  claudeManaged?: { file: string; guardInstalled: boolean; managedHooksOnly: boolean } | null;
}

export interface ResolveResult {
  settings: EffectiveSettings;
  /** Invalid values that were ignored, for the log and a warning. */
  problems: string[];
}

/** The effective value of every setting: managed > workspace folder > workspace > user > default, each validated. */
export function resolveSettings(inspect: (key: SettingKey) => Inspected | undefined, managed: ManagedInput = {}): ResolveResult {
  const problems: string[] = [];
  const out = {} as Record<SettingKey, EffectiveSetting<unknown>>;
  for (const key of SETTING_KEYS) {
    let eff: EffectiveSetting<unknown> = { value: DEFAULTS[key], source: 'default', locked: false };
    const i = inspect(key) ?? {};
    const layers: [SettingSource, unknown, string][] = [
      ['user', i.globalValue, 'user settings'],
      ['workspace', i.workspaceValue, 'workspace settings'],
      ['workspace', i.workspaceFolderValue, 'folder settings'],
    ];
    for (const [source, v, where] of layers) {
      if (v === undefined) continue;
      const bad = checkSetting(key, v);
      if (bad) problems.push(`agentWarden.${key} in ${where} ${bad}; using ${JSON.stringify(eff.value)}`);
      else eff = { value: v, source, locked: false };
    }
    out[key] = eff;
  }
  // Managed values, weakest first so the strongest wins.
  const cm = managed.claudeManaged;
  if (cm && (cm.guardInstalled || cm.managedHooksOnly)) {
    out.installScope = { value: 'managed', source: 'managed', locked: true, lockedBy: cm.file };
  }
  if (managed.syncServer) {
    const bad = checkServerUrl(managed.syncServer.server);
    if (bad) problems.push(`server in ${managed.syncServer.file} ${bad}; ignored`);
    else out.serverUrl = { value: managed.syncServer.server, source: 'managed', locked: true, lockedBy: managed.syncServer.file };
  }
  const ec = managed.extensionConfig;
  if (ec) {
    for (const [k, v] of Object.entries(ec.values)) {
      const key = (k.startsWith('agentWarden.') ? k.slice('agentWarden.'.length) : k) as SettingKey;
      if (!SETTING_KEYS.includes(key)) {
        problems.push(`${ec.file}: unknown setting ${JSON.stringify(k)} ignored`);
        continue;
      }
      const bad = key === 'installScope' && v === 'managed' ? undefined : checkSetting(key, v);
      if (bad) problems.push(`${ec.file}: ${key} ${bad}; ignored`);
      else out[key] = { value: v, source: 'managed', locked: true, lockedBy: ec.file };
    }
  }
  return { settings: out as EffectiveSettings, problems };
}

/** Parse the text of `<managedDir>/extension.json`: an object, or an error message. */
export function parseManagedConfig(text: string): { values: Record<string, unknown> } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON (${(e as Error).message})` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'not a JSON object' };
  return { values: v as Record<string, unknown> };
}
