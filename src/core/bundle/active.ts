/**
 * Re-checking the accepted bundle at every hook start, without zod: the bytes must be exactly those
 * accepted (SHA-256 equal to the record), their signatures must still verify under the current trust (a
 * revoked or expired signer drops the bundle), identity and (epoch, version) must match the record, and
 * the bundle must not be expired past its offline grace. The payload was validated with the strict schema
 * when it was accepted; here it is only JSON.parsed and its fields type-checked.
 */
import { keyActiveAt, parseEnvelope, parseJsonBytes, PAYLOAD_TYPES, sha256Hex } from './envelope';
import { BundleError } from './errors';
import type { BundleRecord } from './events';
import { compareSemver } from './order';
import type { BundleDoc } from './schema';
import { TRUST_DEFAULTS, verifyWithTrust, type Trust } from './trust';

export type Freshness = 'fresh' | 'stale' | 'grace';

export interface ActiveContext {
  trust: Trust;
  bundleId: string;
  record: BundleRecord;
  /** max(local clock, maxSeenTime), ms. */
  now: number;
  clientVersion: string;
}

export interface ActiveCheck {
  doc: BundleDoc;
  sha256: string;
  signers: string[];
  state: Freshness;
  /** now − issuedAt, ms. */
  ageMs: number;
  /** When the grace period ends (set in state `grace`), ms. */
  graceEndsAt?: number;
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isTime = (v: unknown): boolean => typeof v === 'string' && Number.isFinite(Date.parse(v));

function leanBundleDoc(payload: Buffer): BundleDoc {
  let d: unknown;
  try {
    d = parseJsonBytes(payload);
  } catch (e) {
    throw new BundleError('payload-malformed', `the cached bundle payload is not JSON: ${(e as Error).message}`);
  }
  const o = d as Record<string, unknown>;
  const ok =
    typeof d === 'object' && d !== null && !Array.isArray(d) &&
    o.schema === 1 && o.type === 'policy-bundle' && typeof o.tenant === 'string' && typeof o.bundleId === 'string' &&
    isPosInt(o.epoch) && isPosInt(o.version) && isTime(o.issuedAt) && isTime(o.expiresAt) &&
    (o.notBefore === undefined || isTime(o.notBefore)) && (o.minTrustVersion === undefined || isPosInt(o.minTrustVersion)) &&
    (o.minClientVersion === undefined || typeof o.minClientVersion === 'string') &&
    typeof o.policy === 'object' && o.policy !== null && !Array.isArray(o.policy);
  if (!ok) throw new BundleError('payload-malformed', 'the cached bundle payload is not a policy bundle');
  return d as BundleDoc;
}

/**
 * Freshness of an accepted bundle at `now`: fresh, stale (older than the trust's staleAfter: the server has
 * not re-issued it, or this machine has been offline), grace (expired, within the offline grace). Throws
 * `expired-past-grace` / `trust-expired` once the grace is over.
 */
export function freshness(doc: Pick<BundleDoc, 'issuedAt' | 'expiresAt'>, trust: Trust, now: number): { state: Freshness; graceEndsAt?: number } {
  const skew = TRUST_DEFAULTS.skewMs;
  const expiresAt = Date.parse(doc.expiresAt);
  let state: Freshness = now - Date.parse(doc.issuedAt) > trust.staleAfterMs ? 'stale' : 'fresh';
  let graceEndsAt: number | undefined;
  if (now > expiresAt + skew) {
    graceEndsAt = expiresAt + trust.offlineGraceMs;
    if (now > graceEndsAt) throw new BundleError('expired-past-grace', `the bundle expired at ${doc.expiresAt}; its ${Math.round(trust.offlineGraceMs / 3_600_000)} h offline grace ended at ${new Date(graceEndsAt).toISOString()}`);
    state = 'grace';
  }
  if (now > trust.expiresAt + skew) {
    const trustGraceEnds = trust.expiresAt + trust.offlineGraceMs;
    if (now > trustGraceEnds) throw new BundleError('trust-expired', `trust v${trust.version} expired at ${new Date(trust.expiresAt).toISOString()} and its offline grace is over`);
    graceEndsAt = Math.min(graceEndsAt ?? Infinity, trustGraceEnds);
    state = 'grace';
  }
  return graceEndsAt === undefined ? { state } : { state, graceEndsAt };
}

export function checkActiveBundle(bytes: Buffer, ctx: ActiveContext): ActiveCheck {
  const { trust, record, now } = ctx;
  const sha256 = sha256Hex(bytes);
  if (sha256 !== record.sha256) throw new BundleError('cache-tampered', `the cached bundle has sha256 ${sha256.slice(0, 16)}…, ${record.sha256.slice(0, 16)}… was accepted`);
  const env = parseEnvelope(bytes);
  // Key windows are checked against the bundle's issuedAt (was the key valid when it signed?), not against
  // now: a policy key retired after signing must not cut short the bundle's lifetime and offline grace.
  // Revocation, by contrast, takes effect at once.
  const { payload, signers } = verifyWithTrust(env, PAYLOAD_TYPES.bundle, trust, null);
  const doc = leanBundleDoc(payload);
  const issuedAt = Date.parse(doc.issuedAt);
  const inWindow = signers.filter((id) => keyActiveAt(trust.keys.get(id)!, issuedAt));
  if (inWindow.length < trust.thresholds.policy) {
    throw new BundleError('key-inactive', `${inWindow.length} of ${trust.thresholds.policy} signing key(s) were inside their validity window at issuedAt ${doc.issuedAt}`);
  }
  if (doc.tenant !== trust.tenant) throw new BundleError('tenant-mismatch', `cached bundle for tenant ${JSON.stringify(doc.tenant)}, trust is for ${JSON.stringify(trust.tenant)}`);
  if (doc.bundleId !== ctx.bundleId) throw new BundleError('bundle-id-mismatch', `cached bundle ${JSON.stringify(doc.bundleId)}, configured ${JSON.stringify(ctx.bundleId)}`);
  if (doc.epoch !== record.epoch || doc.version !== record.version) {
    throw new BundleError('cache-tampered', `cached bundle is epoch ${doc.epoch} v${doc.version}, the record says epoch ${record.epoch} v${record.version}`);
  }
  if (doc.epoch !== trust.epoch) throw new BundleError('epoch-mismatch', `cached bundle epoch ${doc.epoch}, trust v${trust.version} sets epoch ${trust.epoch}`);
  if (doc.minTrustVersion !== undefined && doc.minTrustVersion > trust.version) throw new BundleError('trust-too-old', `cached bundle needs trust v${doc.minTrustVersion}, have v${trust.version}`);
  if (doc.minClientVersion !== undefined) {
    let newer: boolean;
    try {
      newer = compareSemver(doc.minClientVersion, ctx.clientVersion) > 0;
    } catch (e) {
      throw new BundleError('payload-malformed', (e as Error).message);
    }
    if (newer) throw new BundleError('client-too-old', `the bundle needs Agent Warden ${doc.minClientVersion}, this is ${ctx.clientVersion}`);
  }
  if (doc.notBefore && Date.parse(doc.notBefore) > now + TRUST_DEFAULTS.skewMs) throw new BundleError('not-yet-valid', `the bundle is not valid before ${doc.notBefore}`);
  const f = freshness(doc, trust, now);
  const out: ActiveCheck = { doc, sha256, signers, state: f.state, ageMs: Math.max(0, now - Date.parse(doc.issuedAt)) };
  if (f.graceEndsAt !== undefined) out.graceEndsAt = f.graceEndsAt;
  return out;
}
