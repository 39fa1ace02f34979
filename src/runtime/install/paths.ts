/**
 * Where Claude Code reads its settings layers (research/claude-code-hooks.md §3.1, §3.2). Every path can be
 * injected, so tests and `warden doctor --managed-path …` never touch the real files.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export type Scope = 'user' | 'project' | 'local' | 'managed';
export const SCOPES: readonly Scope[] = ['user', 'project', 'local', 'managed'];
/** The scopes `warden install` writes to (local is the user's own per-project file; we leave it alone). */
export const INSTALL_SCOPES = ['user', 'project', 'managed'] as const;
export type InstallScope = (typeof INSTALL_SCOPES)[number];

export interface LayerPathOptions {
  /** Project root (default: the current directory). */
  projectDir?: string;
  /** Environment to read HOME / CLAUDE_CONFIG_DIR / AGENT_WARDEN_MANAGED_SETTINGS from. */
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Overrides. */
  userSettings?: string;
  managedSettings?: string;
}

/** The managed-settings file for an OS (Linux/WSL, macOS, Windows). */
export function defaultManagedSettingsPath(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return '/Library/Application Support/ClaudeCode/managed-settings.json';
  if (platform === 'win32') return 'C:\\Program Files\\ClaudeCode\\managed-settings.json';
  return '/etc/claude-code/managed-settings.json';
}

export function claudeConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLAUDE_CONFIG_DIR || path.join(env.HOME || env.USERPROFILE || os.homedir(), '.claude');
}

export function settingsPath(scope: Scope, o: LayerPathOptions = {}): string {
  const env = o.env ?? process.env;
  const project = path.resolve(o.projectDir ?? process.cwd());
  switch (scope) {
    case 'user':
      return path.resolve(o.userSettings ?? path.join(claudeConfigDir(env), 'settings.json'));
    case 'project':
      return path.join(project, '.claude', 'settings.json');
    case 'local':
      return path.join(project, '.claude', 'settings.local.json');
    case 'managed':
      return path.resolve(o.managedSettings ?? env.AGENT_WARDEN_MANAGED_SETTINGS ?? defaultManagedSettingsPath(o.platform));
  }
}

/** Managed drop-ins: `managed-settings.d/*.json` beside the managed file (read after it, in name order). */
export function managedDropInDir(managedFile: string): string {
  return path.join(path.dirname(managedFile), 'managed-settings.d');
}

/** The ConfigChange `source` values Claude Code sends, mapped to our layers. */
export function scopeOfSource(source: unknown): Scope | undefined {
  switch (source) {
    case 'user_settings':
      return 'user';
    case 'project_settings':
      return 'project';
    case 'local_settings':
      return 'local';
    case 'policy_settings':
      return 'managed';
    default:
      return undefined;
  }
}
