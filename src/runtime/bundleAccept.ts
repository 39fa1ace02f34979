/**
 * Accepting a policy bundle into the state directory: the full acceptance algorithm (core/bundle/accept.ts,
 * strict schemas) against the current trust chain and the stored floor, then the atomic commit: bundle file
 * (content-addressed), state.json, mirror. Used by the sync client and the CLI; never by the hook.
 */
import * as fs from 'node:fs';
import { acceptBundle } from '../core/bundle/accept';
import { parseEnvelope, PAYLOAD_TYPES, sha256Hex } from '../core/bundle/envelope';
import { BundleError, describeError, type RejectCode } from '../core/bundle/errors';
import type { BundleEvent, BundleRecord } from '../core/bundle/events';
import { compareEpochVersion } from '../core/bundle/order';
import { parseBundlePayload } from '../core/bundle/schema';
import { verifyWithTrust, type Trust } from '../core/bundle/trust';
import { clientVersion } from './bundleActive';
import {
  bundleDir,
  bundleFile,
  pruneBundleFiles,
  readClientConfig,
  readIfExists,
  readStore,
  resolveManagedDir,
  withStoreLock,
  writeFileAtomic,
  writeStore,
  type BundleStateEntry,
  type StoreState,
} from './bundleStore';
import { checkTrustFloor } from './trustStore';
import { loadValidatedChain } from './trustAccept';

export interface AcceptBundleOptions {
  /** Default: the configured bundle id (sync.json). */
  bundleId?: string;
  managedDir?: string | null;
  clientVersion?: string;
  /** Local clock, ms (default Date.now()). */
  now?: number;
  /** The Date header of the response that delivered the bytes, ms. */
  serverTime?: number;
  /** The response's ETag, stored for If-None-Match. Opaque: the bytes are hashed here. */
  etag?: string;
  source?: 'sync' | 'cli';
}

export interface AcceptBundleResult {
  outcome: 'accepted' | 'unchanged' | 'rejected';
  bundleId: string;
  code?: RejectCode;
  message?: string;
  /** The active bundle after the call. */
  active?: BundleStateEntry;
  /** The offered bundle, when its payload could be read. */
  offered?: { epoch: number; version: number; sha256: string };
  /** The cached file was missing or damaged and was rewritten from the offered (identical) bytes. */
  repaired?: boolean;
  events: BundleEvent[];
}

/** Offer bundle bytes (a fetch result, or a file given to the CLI) for acceptance. */
export async function acceptBundleBytes(stateDir: string, bytes: Buffer, opts: AcceptBundleOptions = {}): Promise<AcceptBundleResult> {
  const managedDir = resolveManagedDir(opts.managedDir);
  const local = opts.now ?? Date.now();
  const time = new Date(local).toISOString();
  const source = opts.source ?? 'sync';
  const bundleId = opts.bundleId ?? readClientConfig(stateDir, managedDir).bundleId;
  if (!bundleId) throw new BundleError('not-configured', 'no bundle id is configured (sync.json)');
  const sha256 = sha256Hex(bytes);

  return withStoreLock(stateDir, () => {
    const loaded = readStore(stateDir);
    const state = loaded.state;
    const now = Math.max(local, state.maxSeenTime);
    const events: BundleEvent[] = [];
    let chain;
    try {
      chain = loadValidatedChain(stateDir, managedDir);
      checkTrustFloor(chain, state.trust);
    } catch (e) {
      // No usable trust: nothing can be judged, and the hook will not use the cache either.
      const { code, message } = describeError(e);
      events.push({ type: 'trust.cache_rejected', time, source, bundleId, sha256, reason: code, message });
      const out: AcceptBundleResult = { outcome: 'rejected', bundleId, code, message, events };
      if (state.bundles[bundleId]) out.active = state.bundles[bundleId];
      return out;
    }
    const trust = chain.current;
    let floor: BundleStateEntry | undefined = state.bundles[bundleId];
    // The two state copies disagree on the bytes of the active version (tampering or a torn write): the
    // offered bytes settle it if they are one of the two; anything else is judged against the primary.
    const conflict = loaded.conflicts[bundleId];
    let healed = false;
    if (floor && conflict?.includes(sha256)) {
      floor = { ...floor, sha256 };
      healed = true;
    }
    if (!floor) {
      floor = recoverFloor(stateDir, bundleId, trust);
      if (floor) {
        state.bundles[bundleId] = floor;
        writeStore(stateDir, state);
      }
    }
    const previous = floor ? { epoch: floor.epoch, version: floor.version, sha256: floor.sha256 } : undefined;
    const base = { bundleId, tenant: trust.tenant, trustVersion: trust.version };

    let acc: ReturnType<typeof acceptBundle>;
    try {
      acc = acceptBundle(bytes, { trust, bundleId, ...(floor ? { floor } : {}), now, clientVersion: opts.clientVersion ?? clientVersion() });
    } catch (e) {
      const { code, message } = describeError(e);
      const ev: BundleEvent = { type: code === 'equivocation' ? 'policy.equivocation' : 'policy.update_rejected', time, source, ...base, sha256, reason: code, message };
      const offered = peekVersion(bytes);
      if (offered) Object.assign(ev, offered);
      if (previous) ev.previous = previous;
      events.push(ev);
      const out: AcceptBundleResult = { outcome: 'rejected', bundleId, code, message, events };
      if (floor) out.active = floor;
      if (offered) out.offered = { ...offered, sha256 };
      return out;
    }

    const offered = { epoch: acc.doc.epoch, version: acc.doc.version, sha256 };
    const maxSeen = Math.max(state.maxSeenTime, Date.parse(acc.doc.issuedAt), opts.serverTime ?? 0);
    if (acc.outcome === 'unchanged') {
      const file = bundleFile(stateDir, bundleId, sha256);
      const cached = readIfExists(file);
      const repaired = !cached || sha256Hex(cached) !== sha256;
      if (repaired) writeFileAtomic(file, bytes);
      const entry = { ...floor! };
      if (opts.etag) entry.etag = opts.etag;
      if (repaired || healed || entry.etag !== floor!.etag || maxSeen !== state.maxSeenTime) {
        state.bundles[bundleId] = entry;
        state.maxSeenTime = maxSeen;
        writeStore(stateDir, state);
      }
      return { outcome: 'unchanged', bundleId, active: entry, offered, events, ...(repaired || healed ? { repaired: true } : {}) };
    }

    writeFileAtomic(bundleFile(stateDir, bundleId, sha256), bytes);
    const entry: BundleStateEntry = {
      epoch: acc.doc.epoch,
      version: acc.doc.version,
      sha256,
      issuedAt: acc.doc.issuedAt,
      expiresAt: acc.doc.expiresAt,
      acceptedAt: time,
      trustVersion: trust.version,
    };
    if (floor && floor.sha256 !== sha256) entry.previousSha256 = floor.sha256;
    if (opts.etag) entry.etag = opts.etag;
    state.bundles[bundleId] = entry;
    state.maxSeenTime = maxSeen;
    writeStore(stateDir, state);
    pruneBundleFiles(stateDir, bundleId, [entry.sha256, entry.previousSha256]);
    const ev: BundleEvent = { type: 'policy.activated', time, source, ...base, ...offered, message: `${bundleId} epoch ${offered.epoch} v${offered.version} activated` };
    if (previous) ev.previous = previous;
    if (acc.doc.revision) ev.message += ` (${acc.doc.revision})`;
    events.push(ev);
    return { outcome: 'accepted', bundleId, active: entry, offered, events };
  });
}

/** The payload's (epoch, version) without trusting it, for reports about rejected bundles. */
function peekVersion(bytes: Buffer): { epoch: number; version: number } | undefined {
  try {
    const env = parseEnvelope(bytes);
    const doc = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { epoch?: unknown; version?: unknown };
    if (Number.isSafeInteger(doc.epoch) && Number.isSafeInteger(doc.version)) return { epoch: doc.epoch as number, version: doc.version as number };
  } catch {
    // unreadable: nothing to report
  }
  return undefined;
}

/**
 * Both state copies lost: the highest bundle file still in the cache that verifies under the current trust
 * and is for this tenant and bundle id becomes the floor again (expired ones count too: a floor is about
 * order, not validity). Residual risk when the cache is wiped as well: the next bundle offered is accepted.
 */
function recoverFloor(stateDir: string, bundleId: string, trust: Trust): BundleStateEntry | undefined {
  let best: BundleStateEntry | undefined;
  let names: string[];
  try {
    names = fs.readdirSync(bundleDir(stateDir, bundleId)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      const bytes = fs.readFileSync(`${bundleDir(stateDir, bundleId)}/${name}`);
      const sha256 = sha256Hex(bytes);
      if (`${sha256}.json` !== name) continue;
      const { payload } = verifyWithTrust(parseEnvelope(bytes), PAYLOAD_TYPES.bundle, trust, null);
      const doc = parseBundlePayload(payload);
      if (doc.tenant !== trust.tenant || doc.bundleId !== bundleId) continue;
      const rec: BundleRecord = { epoch: doc.epoch, version: doc.version, sha256 };
      if (!best || compareEpochVersion(rec, best) > 0) best = { ...rec, issuedAt: doc.issuedAt, expiresAt: doc.expiresAt, trustVersion: trust.version };
    } catch {
      // not a usable floor
    }
  }
  return best;
}

/** Record a trusted time (a server Date header on a 304) without accepting anything. */
export async function recordServerTime(stateDir: string, serverTime: number): Promise<void> {
  if (!Number.isFinite(serverTime)) return;
  await withStoreLock(stateDir, () => {
    const state: StoreState = readStore(stateDir).state;
    if (serverTime <= state.maxSeenTime) return;
    state.maxSeenTime = serverTime;
    writeStore(stateDir, state);
  });
}
