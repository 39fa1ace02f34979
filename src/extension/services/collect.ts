/**
 * One snapshot of everything the status bar and the views show, read from the same files the hook and the
 * CLI use: the Claude Code settings layers (is the guard installed and does it run?), the policy the hook
 * enforces (synced bundle, built-in baseline or a local file), the sync status, the audit spool.
 * No vscode import; synchronous file reads only (a few ms).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { PolicyDoc } from '../../core/policy/schema';
import { spoolStatus } from '../../runtime/audit/spool';
import { activePolicy } from '../../runtime/bundleActive';
import { readClientConfig, resolveManagedDir } from '../../runtime/bundleStore';
import { builtinPolicy, builtinPolicyFile, isBuiltin } from '../../runtime/builtin';
import { parseGuardCommand } from '../../runtime/install/guardHooks';
import { runDoctor, type LayerReport } from '../../runtime/install/doctor';
import { readStatusFile, type SyncStatus } from '../../runtime/syncStatus';
import type { InstallState, PolicyState, ServerState } from '../model/state';

export interface CollectOptions {
  projectDir?: string;
  env?: NodeJS.ProcessEnv;
  /** The server URL from the settings (wins over sync.json). */
  serverUrl?: string;
  now?: number;
}

export interface Snapshot {
  stateDir: string;
  install: InstallState & {
    layers: Pick<LayerReport, 'scope' | 'file' | 'exists' | 'hooksRun' | 'guardEvents'>[];
    policyRef?: string;
    /** Guard hooks whose hook script is gone (e.g. an older extension version's, removed by an update). */
    missingScripts: { scope: string; file: string; hookScript: string }[];
  };
  policy: PolicyState;
  /** The enforced policy document (rules for the policy view, exception limits for requests). */
  policyDoc?: PolicyDoc;
  /** A YAML/JSON file where the rules are defined, when there is one (built-in baseline, --policy file). */
  policyFile?: string;
  server: ServerState;
  sync: SyncStatus;
  audit: { backlog: number; level: string; lastSeq: number } | undefined;
}

export function defaultStateDirFor(env: NodeJS.ProcessEnv): string {
  return path.join(env.HOME || os.homedir(), '.agent-warden');
}

/** A policy file the hook loads with --policy: lazily loaded (yaml + zod), only when it is used. */
function loadPolicyFile(file: string): PolicyDoc {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadPolicyRef } = require('../../runtime/policySource') as typeof import('../../runtime/policySource');
  return loadPolicyRef(file);
}

export function collectSnapshot(o: CollectOptions = {}): Snapshot {
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now();
  const projectDir = o.projectDir ?? env.HOME ?? os.homedir();
  const doctor = runDoctor({ projectDir, env, probe: false });
  // The guard that decides: the first layer whose hooks run and that has a PreToolUse guard.
  const deciding = doctor.layers.filter((l) => l.hooksRun).flatMap((l) => l.commands).find((c) => c.events.includes('PreToolUse'));
  const parts = deciding ? parseGuardCommand(deciding.command) : undefined;
  const arg = (name: string): string | undefined => {
    const i = parts ? parts.args.indexOf(name) : -1;
    return i >= 0 ? parts!.args[i + 1] : undefined;
  };
  const stateDir = arg('--home') ?? defaultStateDirFor(env);
  const policyRef = arg('--policy');
  const guarding = doctor.layers.filter((l) => l.hooksRun && l.commands.some((c) => c.events.includes('PreToolUse') && c.runtimeOk && c.hookScriptOk));
  const install: Snapshot['install'] = {
    installed: doctor.ok && guarding.length > 0,
    scopes: [...new Set(guarding.map((l) => l.scope))],
    layers: doctor.layers.map((l) => ({ scope: l.scope, file: l.file, exists: l.exists, hooksRun: l.hooksRun, guardEvents: l.guardEvents })),
    missingScripts: doctor.layers.flatMap((l) => l.commands.filter((c) => !c.hookScriptOk && c.hookScript).map((c) => ({ scope: l.scope, file: l.file, hookScript: c.hookScript! }))),
    ...(policyRef ? { policyRef } : {}),
  };
  if (!install.installed) {
    const err = doctor.issues.find((i) => i.severity === 'error');
    install.problem = err ? err.message : 'no Agent Warden hook is installed';
  }

  const sync = readStatusFile(stateDir);
  let policy: PolicyState;
  let policyDoc: PolicyDoc | undefined;
  let policyFile: string | undefined;
  if (policyRef) {
    try {
      policyDoc = isBuiltin(policyRef) ? builtinPolicy(policyRef) : loadPolicyFile(policyRef);
      policyFile = isBuiltin(policyRef) ? builtinPolicyFile() : policyRef;
      policy = { source: isBuiltin(policyRef) ? 'baseline' : 'file', id: isBuiltin(policyRef) ? policyDoc.metadata.id : policyRef, version: policyDoc.metadata.version, mode: policyDoc.mode };
    } catch (e) {
      policy = { source: 'file', id: policyRef, version: '?', mode: 'enforce', fallback: { code: 'policy-file', message: `the hook's policy file cannot be loaded: ${(e as Error).message} (every call is denied)` } };
    }
  } else {
    const a = activePolicy(stateDir, now, { managedDir: resolveManagedDir(undefined) });
    if (a.source === 'bundle') {
      policyDoc = a.policy;
      policy = {
        source: 'bundle',
        id: a.bundle.bundleId,
        version: String(a.bundle.version),
        mode: a.policy.mode,
        freshness: a.state,
        issuedAt: Date.parse(a.bundle.issuedAt),
        expiresAt: Date.parse(a.bundle.expiresAt),
        ...(a.graceEndsAt ? { graceEndsAt: Date.parse(a.graceEndsAt) } : {}),
      };
    } else {
      policyDoc = builtinPolicy('builtin:baseline');
      policyFile = builtinPolicyFile();
      policy = { source: 'baseline', id: policyDoc.metadata.id, version: policyDoc.metadata.version, mode: policyDoc.mode };
      if (a.reason !== 'not-configured' && a.reason !== 'no-bundle') policy.fallback = { code: a.reason, message: a.message };
    }
    const rej = sync.lastRejection;
    if (rej && (!sync.lastChange || Date.parse(rej.at) > Date.parse(sync.lastChange)) && sync.lastAttempt?.result === 'rejected') {
      policy.rejected = { at: Date.parse(rej.at), code: rej.code, message: rej.message };
    }
  }

  let configured: string | undefined;
  try {
    configured = readClientConfig(stateDir, resolveManagedDir(undefined)).server;
  } catch {
    configured = undefined;
  }
  const url = o.serverUrl || configured;
  const last = sync.lastAttempt;
  const server: ServerState = {
    configured: !!url,
    ...(url ? { url } : {}),
    reachable: !url || !last ? null : last.result !== 'error',
    ...(last?.result === 'error' && last.message ? { lastError: last.message } : {}),
    ...(sync.lastSuccess ? { lastSuccess: Date.parse(sync.lastSuccess) } : {}),
    ...(sync.nextAttemptAt ? { nextAttempt: Date.parse(sync.nextAttemptAt) } : {}),
  };

  let audit: Snapshot['audit'];
  try {
    const st = spoolStatus(stateDir);
    audit = { backlog: st.backlog, level: st.level, lastSeq: st.lastSeq };
  } catch {
    audit = undefined;
  }
  return { stateDir, install, policy, ...(policyDoc ? { policyDoc } : {}), ...(policyFile ? { policyFile } : {}), server, sync, audit };
}
