/**
 * Accepting trust documents into the state directory, with the strict schema: pinning the anchor at
 * enrolment (`warden trust pin`) and storing rotations the sync client fetched and verified.
 */
import * as fs from 'node:fs';
import { sha256Hex } from '../core/bundle/envelope';
import { BundleError, describeError, type RejectCode } from '../core/bundle/errors';
import type { BundleEvent } from '../core/bundle/events';
import { parseTrustPayload } from '../core/bundle/schema';
import { openAnchor, openRotation, trustExpired, type Trust } from '../core/bundle/trust';
import { readIfExists, readStore, resolveManagedDir, storePaths, trustVersionFile, withStoreLock, writeFileAtomic, writeStore } from './bundleStore';
import { anchorLocation, checkTrustFloor, loadTrustChain, type TrustChain } from './trustStore';

/** The stored chain opened with the strict schema (acceptance paths). */
export function loadValidatedChain(stateDir: string, managedDir?: string | null): TrustChain {
  return loadTrustChain(stateDir, { managedDir: resolveManagedDir(managedDir), parse: parseTrustPayload });
}

export interface PinResult {
  trust: Trust;
  /** False when exactly these bytes were already pinned. */
  changed: boolean;
  file: string;
  /** Set when a managed trust root exists: it takes precedence over the pinned one. */
  managedAnchor?: string;
}

/**
 * Pin a trust root as this machine's anchor (`<stateDir>/trust/root.json`). It must be self-signed by a
 * threshold of its root keys and not expired. Replacing a different pinned root needs `reset`, which also
 * drops stored rotations and the trust floor (bundle floors are kept).
 */
export async function pinTrust(stateDir: string, bytes: Buffer, opts: { reset?: boolean; now?: number; managedDir?: string | null } = {}): Promise<PinResult> {
  const now = opts.now ?? Date.now();
  const sha = sha256Hex(bytes);
  const trust = openAnchor(bytes, sha, parseTrustPayload, now);
  if (trustExpired(trust, now)) throw new BundleError('trust-expired', `trust v${trust.version} expired at ${trust.doc.expiresAt}`);
  const p = storePaths(stateDir);
  const result = await withStoreLock(stateDir, () => {
    const existing = readIfExists(p.anchor);
    if (existing && sha256Hex(existing) === sha) return { trust, changed: false, file: p.anchor };
    if (existing && !opts.reset) {
      throw new Error(`a different trust root is already pinned (${p.anchor}); pass --reset to replace it (stored rotations and the trust floor are dropped)`);
    }
    const store = readStore(stateDir).state;
    if (opts.reset) {
      for (const f of safeReaddir(p.trustDir)) if (/^[0-9]+\.json$/.test(f)) fs.rmSync(`${p.trustDir}/${f}`, { force: true });
      store.trust = {};
    }
    writeFileAtomic(p.anchor, bytes);
    store.trust[trust.tenant] = Math.max(store.trust[trust.tenant] ?? 0, trust.version);
    store.maxSeenTime = Math.max(store.maxSeenTime, trust.issuedAt);
    writeStore(stateDir, store);
    return { trust, changed: true, file: p.anchor };
  });
  const managed = anchorLocation(stateDir, resolveManagedDir(opts.managedDir));
  return managed?.managed ? { ...result, managedAnchor: managed.file } : result;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export interface TrustUpdateResult {
  /** The newest trust after the update. */
  trust: Trust;
  accepted: Trust[];
  rejected?: { code: RejectCode; message: string };
  events: BundleEvent[];
}

/**
 * Store rotations following the current trust, in order (each must be the next version, signed by the
 * previous and its own root thresholds). Stops at the first that fails; if the last one verified is
 * expired, none is stored (a walk must end on a valid root). Re-verifies under the state lock.
 */
export async function acceptTrustBytes(stateDir: string, docs: readonly Buffer[], opts: { managedDir?: string | null; now?: number; source?: 'sync' | 'cli' } = {}): Promise<TrustUpdateResult> {
  const time = new Date(opts.now ?? Date.now()).toISOString();
  const source = opts.source ?? 'sync';
  return withStoreLock(stateDir, () => {
    const store = readStore(stateDir).state;
    const now = Math.max(opts.now ?? Date.now(), store.maxSeenTime);
    const chain = loadValidatedChain(stateDir, opts.managedDir);
    checkTrustFloor(chain, store.trust);
    const events: BundleEvent[] = [];
    const pending: { trust: Trust; bytes: Buffer }[] = [];
    let current = chain.current;
    let rejected: TrustUpdateResult['rejected'];
    for (const bytes of docs) {
      try {
        const next = openRotation(bytes, sha256Hex(bytes), current, parseTrustPayload, now);
        pending.push({ trust: next, bytes });
        current = next;
      } catch (e) {
        rejected = describeError(e);
        break;
      }
    }
    if (pending.length && trustExpired(current, now)) {
      rejected = { code: 'trust-expired', message: `trust v${current.version} expired at ${current.doc.expiresAt}` };
      pending.length = 0;
      current = chain.current;
    }
    if (rejected) {
      events.push({ type: 'trust.update_rejected', time, source, tenant: chain.current.tenant, trustVersion: chain.current.version, reason: rejected.code, message: rejected.message });
    }
    for (const { trust, bytes } of pending) {
      writeFileAtomic(trustVersionFile(stateDir, trust.version), bytes);
      store.maxSeenTime = Math.max(store.maxSeenTime, trust.issuedAt);
      events.push({ type: 'trust.updated', time, source, tenant: trust.tenant, trustVersion: trust.version, sha256: trust.sha256, message: `trust v${trust.version} accepted (epoch ${trust.epoch})` });
    }
    if (pending.length) {
      store.trust[current.tenant] = Math.max(store.trust[current.tenant] ?? 0, current.version);
      writeStore(stateDir, store);
    }
    const out: TrustUpdateResult = { trust: current, accepted: pending.map((p) => p.trust), events };
    if (rejected) out.rejected = rejected;
    return out;
  });
}
