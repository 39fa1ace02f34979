/**
 * The sync status file (`<stateDir>/sync-status.json`) the extension shows: the active bundle, the last
 * attempt and its result, the next attempt, the last rejection. Written by the sync client after every run;
 * `readSyncStatus` adds what is true right now (the hook's view: fresh, stale, grace or baseline).
 */
import type { RejectCode } from '../core/bundle/errors';
import { activePolicy, type ActivePolicyOptions } from './bundleActive';
import { readIfExists, storePaths, writeFileAtomic } from './bundleStore';

export type SyncResultKind = 'updated' | 'unchanged' | 'not-modified' | 'rejected' | 'error';
export type TrustSyncResult = 'unchanged' | 'updated' | 'rejected' | 'error';

export interface SyncStatus {
  schema: 1;
  server?: string;
  bundleId?: string;
  /** The bundle accepted last (what the hook enforces unless it fails re-verification). */
  active?: { bundleId: string; epoch: number; version: number; sha256: string; issuedAt?: string; expiresAt?: string; acceptedAt?: string };
  trust?: { tenant: string; version: number; expiresAt: string };
  lastAttempt?: {
    at: string;
    result: SyncResultKind;
    code?: RejectCode;
    message?: string;
    trust?: { result: TrustSyncResult; version?: number; code?: RejectCode; message?: string };
  };
  /** Last attempt that reached the server and was not rejected. */
  lastSuccess?: string;
  /** Last time a new bundle was activated. */
  lastChange?: string;
  nextAttemptAt?: string;
  consecutiveFailures: number;
  lastRejection?: { at: string; code: RejectCode; message: string; epoch?: number; version?: number; sha256?: string };
}

export interface SyncStatusView extends SyncStatus {
  /** What the hook would enforce now. */
  current:
    | { source: 'bundle'; bundleId: string; epoch: number; version: number; sha256: string; state: 'fresh' | 'stale' | 'grace'; ageMs: number; expiresAt: string; graceEndsAt?: string }
    | { source: 'baseline'; reason: RejectCode; message: string };
}

export function readStatusFile(stateDir: string): SyncStatus {
  const bytes = readIfExists(storePaths(stateDir).status);
  if (bytes) {
    try {
      const v = JSON.parse(bytes.toString('utf8')) as SyncStatus;
      if (v && typeof v === 'object' && v.schema === 1) return { ...v, consecutiveFailures: Number.isSafeInteger(v.consecutiveFailures) ? v.consecutiveFailures : 0 };
    } catch {
      // rewritten by the next sync
    }
  }
  return { schema: 1, consecutiveFailures: 0 };
}

export function writeStatusFile(stateDir: string, status: SyncStatus): void {
  writeFileAtomic(storePaths(stateDir).status, JSON.stringify(status, null, 2) + '\n');
}

/** The status file plus the hook's current view (re-verified now). For the extension's status bar and views. */
export function readSyncStatus(stateDir: string, now: number = Date.now(), opts: ActivePolicyOptions = {}): SyncStatusView {
  const status = readStatusFile(stateDir);
  const a = activePolicy(stateDir, now, opts);
  const current: SyncStatusView['current'] =
    a.source === 'bundle'
      ? {
          source: 'bundle',
          bundleId: a.bundle.bundleId,
          epoch: a.bundle.epoch,
          version: a.bundle.version,
          sha256: a.bundle.sha256,
          state: a.state,
          ageMs: a.ageMs,
          expiresAt: a.bundle.expiresAt,
          ...(a.graceEndsAt ? { graceEndsAt: a.graceEndsAt } : {}),
        }
      : { source: 'baseline', reason: a.reason, message: a.message };
  return { ...status, current };
}
