/**
 * What the hook enforces, decided at every hook start: the verified last-good bundle from the state
 * directory, or the reason the built-in baseline applies.
 *
 * Cheap by design (the hook must stay close to a bare `node` start): a handful of small synchronous reads,
 * a few Ed25519 verifications (trust chain, bundle) and one SHA-256 of the bundle bytes; no zod, no yaml.
 * It writes nothing: the events it returns (tampered cache, revoked signer, expiry past grace…) are for
 * the caller to append to the audit spool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkActiveBundle, type Freshness } from '../core/bundle/active';
import { BundleError, type RejectCode } from '../core/bundle/errors';
import type { BundleEvent, BundleRecord } from '../core/bundle/events';
import { leanTrustParser } from '../core/bundle/trust';
import type { PolicyDoc } from '../core/policy/schema';
import { bundleFile, readClientConfig, readIfExists, readStore, resolveManagedDir } from './bundleStore';
import { checkTrustFloor, loadTrustChain, type TrustChain } from './trustStore';

declare const __AW_VERSION__: string | undefined;

export interface ActivePolicyOptions {
  /** Directory of machine-managed files (trust.json, sync.json). Default: the platform's; null: none. */
  managedDir?: string | null;
  /** This client's version, for bundles' minClientVersion. Default: the build's version. */
  clientVersion?: string;
}

export interface BundleIdentity {
  tenant: string;
  bundleId: string;
  epoch: number;
  version: number;
  /** SHA-256 of the envelope bytes (what the server's ETag names and audit events cite). */
  sha256: string;
  revision?: string;
  issuedAt: string;
  expiresAt: string;
  trustVersion: number;
  /** Key ids whose signatures counted. */
  signers: string[];
}

export interface ActiveBundle {
  source: 'bundle';
  policy: PolicyDoc;
  bundle: BundleIdentity;
  /** fresh; stale (not re-issued for longer than the trust's staleAfter); grace (expired, still enforced). */
  state: Freshness;
  /** Time since the bundle was issued, ms. */
  ageMs: number;
  /** In state `grace`: when the baseline takes over. */
  graceEndsAt?: string;
  /** Whether the signed trust root allows failing open (the hook decides what to do with it). */
  failOpen: boolean;
  events: BundleEvent[];
}

export interface BaselineFallback {
  source: 'baseline';
  reason: RejectCode;
  message: string;
  /** Only true when a verified trust root explicitly allows failing open. */
  failOpen: boolean;
  events: BundleEvent[];
  bundleId?: string;
  /** The accepted bundle that could not be used, if any. */
  record?: BundleRecord;
}

export type ActivePolicy = ActiveBundle | BaselineFallback;

let cachedVersion: string | undefined;

/** This client's version: the build's (esbuild define), or package.json when running from compiled sources. */
export function clientVersion(): string {
  if (typeof __AW_VERSION__ === 'string') return __AW_VERSION__;
  if (cachedVersion) return cachedVersion;
  for (const p of [path.resolve(__dirname, '../../../package.json'), path.resolve(__dirname, '../package.json')]) {
    try {
      const v = (JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string });
      if (v.name === 'agent-warden' && typeof v.version === 'string') return (cachedVersion = v.version);
    } catch {
      // try the next candidate
    }
  }
  return (cachedVersion = '0.0.0');
}

/** Reasons that are a first-run or configuration state rather than a failed check: no audit event. */
const QUIET: ReadonlySet<RejectCode> = new Set(['not-configured', 'no-bundle']);

/**
 * The policy the hook must enforce at `now` (ms; default Date.now()).
 *
 * Checks, in order: configured bundle id; an accepted record for it (higher of the two state copies);
 * the trust chain from the pinned anchor (signatures, revocations, not below the trust floor); the cached
 * bytes' SHA-256 equal to the accepted one; their signatures under the current trust; identity, (epoch,
 * version) and expiry with the trust's offline grace, using max(now, maxSeenTime) as the time.
 */
export function activePolicy(stateDir: string, now: number = Date.now(), opts: ActivePolicyOptions = {}): ActivePolicy {
  const managedDir = resolveManagedDir(opts.managedDir);
  const time = new Date(now).toISOString();
  let bundleId: string | undefined;
  let record: BundleRecord | undefined;
  let chain: TrustChain | undefined;

  const fallback = (e: unknown, type?: BundleEvent['type']): BaselineFallback => {
    const err = e instanceof BundleError ? e : new BundleError('internal-error', `unexpected error re-checking the bundle: ${e instanceof Error ? e.message : String(e)}`);
    const out: BaselineFallback = { source: 'baseline', reason: err.code, message: err.message, failOpen: chain?.current.failOpen ?? false, events: [] };
    if (bundleId) out.bundleId = bundleId;
    if (record) out.record = record;
    if (!QUIET.has(err.code)) {
      const ev: BundleEvent = { type: type ?? 'policy.cache_rejected', time, source: 'hook', reason: err.code, message: err.message };
      if (bundleId) ev.bundleId = bundleId;
      if (record) Object.assign(ev, { epoch: record.epoch, version: record.version, sha256: record.sha256 });
      if (chain) Object.assign(ev, { tenant: chain.current.tenant, trustVersion: chain.current.version });
      out.events.push(ev);
    }
    return out;
  };

  try {
    return resolve();
  } catch (e) {
    // Anything unexpected (an unreadable file, a bug): never throw at the hook, fall back and say why.
    return fallback(e);
  }

  function resolve(): ActivePolicy {
    try {
      bundleId = readClientConfig(stateDir, managedDir).bundleId;
    } catch (e) {
      // A typo in a managed sync.json must not quietly swap the organisation's policy for the baseline.
      return fallback(new BundleError('config-invalid', (e as Error).message));
    }
    if (!bundleId) return fallback(new BundleError('not-configured', 'no bundle id is configured (sync.json); run `warden sync --bundle-id <id> --save`'));

    const store = readStore(stateDir);
    record = store.state.bundles[bundleId];
    if (!record) return fallback(new BundleError('no-bundle', `no bundle ${JSON.stringify(bundleId)} has been accepted on this machine yet`));
    if (store.conflicts[bundleId]) {
      return fallback(new BundleError('state-conflict', `the state copies disagree on the bytes accepted for ${bundleId} epoch ${record.epoch} v${record.version}`));
    }
    const at = Math.max(now, store.state.maxSeenTime);

    try {
      chain = loadTrustChain(stateDir, { managedDir, parse: leanTrustParser });
      checkTrustFloor(chain, store.state.trust);
    } catch (e) {
      chain = undefined;
      return fallback(e, 'trust.cache_rejected');
    }

    const bytes = readIfExists(bundleFile(stateDir, bundleId, record.sha256));
    if (!bytes) return fallback(new BundleError('cache-missing', `the accepted bundle file for ${bundleId} v${record.version} is missing`));

    try {
      const c = checkActiveBundle(bytes, { trust: chain.current, bundleId, record, now: at, clientVersion: opts.clientVersion ?? clientVersion() });
      const bundle: BundleIdentity = {
        tenant: c.doc.tenant,
        bundleId: c.doc.bundleId,
        epoch: c.doc.epoch,
        version: c.doc.version,
        sha256: c.sha256,
        issuedAt: c.doc.issuedAt,
        expiresAt: c.doc.expiresAt,
        trustVersion: chain.current.version,
        signers: c.signers,
      };
      if (c.doc.revision !== undefined) bundle.revision = c.doc.revision;
      const out: ActiveBundle = { source: 'bundle', policy: c.doc.policy, bundle, state: c.state, ageMs: c.ageMs, failOpen: chain.current.failOpen, events: [] };
      if (c.graceEndsAt !== undefined) out.graceEndsAt = new Date(c.graceEndsAt).toISOString();
      return out;
    } catch (e) {
      const expired = e instanceof BundleError && (e.code === 'expired-past-grace' || e.code === 'trust-expired');
      return fallback(e, expired ? 'policy.expired' : 'policy.cache_rejected');
    }
  }
}
