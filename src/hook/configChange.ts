/**
 * ConfigChange: Claude Code is about to reload a settings file that changed during the session. Agent Warden
 * vetoes the reload (`{"decision":"block"}`; verified on 2.1.197 and 2.1.329, except for policy settings,
 * which cannot be vetoed) when the new content would take the guard out of the session:
 *
 * - the file no longer parses or fails validation: Claude Code would drop the whole file, hooks included;
 * - it sets `disableAllHooks: true`;
 * - it was installed into (install record beside it) and a recorded guard hook command or backstop deny
 *   rule is gone, or the file was deleted;
 * - without an install record: no settings layer would hold a guard PreToolUse hook any more.
 *
 * A veto only keeps the session on its previous settings; a deliberate change applies after a restart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HookInput } from '../core/types';
import { guardHooksIn, installRecordFile, isObject, legacyInstallRecordFile } from '../runtime/install/guardHooks';
import { managedDropInDir, scopeOfSource, settingsPath, SCOPES, type Scope } from '../runtime/install/paths';
import { validateSettings } from '../runtime/install/validate';

/** The install record beside a settings file (written by src/runtime/install/install.ts). */
interface RecordLike {
  commands?: Record<string, string>;
  addedDenyRules?: string[];
}

export interface ConfigCheck {
  source: string;
  scope?: Scope;
  file?: string;
  /** The change would disable or remove the guard. */
  tampering: boolean;
  /** Claude Code honours a veto for this source (not for policy settings). */
  vetoable: boolean;
  reasons: string[];
}

const MAX_SETTINGS_BYTES = 4 * 1024 * 1024;

type FileState = { kind: 'missing' } | { kind: 'unreadable'; why: string } | { kind: 'invalid'; why: string } | { kind: 'ok'; data: Record<string, unknown> };

/** Read a settings file without ever blocking on a FIFO or device, and without loading more than 4 MiB. */
export function readSettingsState(file: string): FileState {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'unreadable', why: (e as Error).message };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'unreadable', why: 'not a regular file' };
    if (st.size > MAX_SETTINGS_BYTES) return { kind: 'invalid', why: `larger than ${MAX_SETTINGS_BYTES} bytes` };
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n <= 0) break;
      off += n;
    }
    const text = buf.subarray(0, off).toString('utf8').replace(/^\uFEFF/, '');
    if (!text.trim()) return { kind: 'ok', data: {} };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      return { kind: 'invalid', why: `not valid JSON (${(e as Error).message})` };
    }
    if (!isObject(data)) return { kind: 'invalid', why: 'not a JSON object' };
    return { kind: 'ok', data };
  } catch (e) {
    return { kind: 'unreadable', why: (e as Error).message };
  } finally {
    fs.closeSync(fd);
  }
}

function readRecord(settingsFile: string): RecordLike | undefined {
  for (const file of [installRecordFile(settingsFile), legacyInstallRecordFile(settingsFile)]) {
    const st = readSettingsState(file);
    if (st.kind === 'ok') return st.data as RecordLike;
  }
  return undefined;
}

function hasGuardPreToolUse(data: unknown): boolean {
  return guardHooksIn(data).some((h) => h.event === 'PreToolUse');
}

export interface LayerEnv {
  env: NodeJS.ProcessEnv;
  projectDir: string;
  /** Override of the managed settings path (tests). */
  managedSettings?: string;
}

/** Every settings file Claude Code reads for this project, with the managed drop-ins. */
export function layerFiles(le: LayerEnv): { scope: Scope; file: string }[] {
  const opts = { env: le.env, projectDir: le.projectDir, ...(le.managedSettings ? { managedSettings: le.managedSettings } : {}) };
  const files = SCOPES.map((scope) => ({ scope, file: settingsPath(scope, opts) }));
  const managed = files.find((f) => f.scope === 'managed')!.file;
  try {
    const dir = managedDropInDir(managed);
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) files.push({ scope: 'managed', file: path.join(dir, f) });
  } catch {
    /* no drop-ins */
  }
  return files;
}

export function checkConfigChange(input: HookInput, le: LayerEnv): ConfigCheck {
  const source = typeof input.source === 'string' ? input.source : '';
  const scope = scopeOfSource(source);
  const check: ConfigCheck = { source, tampering: false, vetoable: source !== 'policy_settings', reasons: [] };
  if (!scope) return check; // skills and future sources: recorded only
  check.scope = scope;
  const file =
    typeof input.file_path === 'string' && input.file_path
      ? path.resolve(le.projectDir, input.file_path)
      : settingsPath(scope, { env: le.env, projectDir: le.projectDir, ...(le.managedSettings ? { managedSettings: le.managedSettings } : {}) });
  check.file = file;
  const state = readSettingsState(file);
  const record = readRecord(file);
  const reasons = check.reasons;

  if (state.kind === 'invalid') reasons.push(`${file} is ${state.why}: Claude Code would ignore the whole file, Agent Warden's hooks and deny rules included`);
  else if (state.kind === 'unreadable') reasons.push(`${file} cannot be read (${state.why})`);
  else if (state.kind === 'ok') {
    const errors = validateSettings(state.data).filter((i) => i.severity === 'error');
    if (errors.length) reasons.push(`${file} fails validation (${errors.slice(0, 3).map((i) => `${i.path}: ${i.message}`).join('; ')}): Claude Code would ignore the whole file`);
    if (state.data.disableAllHooks === true) reasons.push(`${file} sets disableAllHooks: true, which turns Agent Warden's hooks off`);
  }

  if (record && record.commands && typeof record.commands === 'object') {
    const present = state.kind === 'ok' ? guardHooksIn(state.data) : [];
    if (state.kind === 'missing') reasons.push(`${file} was deleted, which removes Agent Warden's hooks`);
    else if (state.kind === 'ok') {
      const missing = Object.entries(record.commands).filter(([ev, cmd]) => !present.some((h) => h.event === ev && h.command === cmd)).map(([ev]) => ev);
      if (missing.length) reasons.push(`${file} no longer holds Agent Warden's hook for ${missing.join(', ')}`);
      const deny = isObject(state.data.permissions) && Array.isArray(state.data.permissions.deny) ? state.data.permissions.deny : [];
      const gone = (record.addedDenyRules ?? []).filter((r) => !deny.includes(r));
      if (gone.length) reasons.push(`${file} no longer holds the backstop deny rule${gone.length > 1 ? 's' : ''} ${gone.join(', ')}`);
    }
  } else if (state.kind === 'missing' || (state.kind === 'ok' && !hasGuardPreToolUse(state.data))) {
    // No record of an install here: veto only if no layer at all keeps a guard PreToolUse hook.
    const anywhere = layerFiles(le).some(({ file: f }) => {
      if (path.resolve(f) === file) return false;
      const s = readSettingsState(f);
      return s.kind === 'ok' && s.data.disableAllHooks !== true && hasGuardPreToolUse(s.data);
    });
    if (!anywhere) reasons.push(`after this change no settings file holds Agent Warden's PreToolUse hook`);
  }
  check.tampering = reasons.length > 0;
  return check;
}
