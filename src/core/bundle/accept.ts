/**
 * Accepting a policy bundle (fetch, `warden bundle verify`): the full acceptance algorithm of
 * research/bundles-audit-server.md §1.5, pure. The caller persists what this accepts.
 *
 *  1. envelope parsed strictly; payloadType must be the bundle type
 *  2. signatures: distinct, active, unrevoked `policy` keys of the current trust, at least the threshold
 *  3. payload parsed (only now) with the strict schema; the policy validated and in normal form
 *  4. tenant = trust tenant, bundleId = the configured one
 *  5. (epoch, version) against the floor: lower → rollback; equal and same bytes → unchanged (a replay of the
 *     active bundle is not an error); equal and different bytes → equivocation
 *  6. epoch = the trust's epoch; minTrustVersion / minClientVersion
 *  7. trust not expired; bundle not expired and already valid (now = max(clock, maxSeenTime), 5 min skew)
 */
import { parseEnvelope, PAYLOAD_TYPES, sha256Hex } from './envelope';
import { BundleError } from './errors';
import type { BundleRecord } from './events';
import { compareEpochVersion, compareSemver } from './order';
import { parseBundlePayload, type BundleDoc } from './schema';
import { TRUST_DEFAULTS, trustExpired, verifyWithTrust, type Trust } from './trust';

export interface AcceptContext {
  trust: Trust;
  /** The bundle id this machine is configured for. */
  bundleId: string;
  /** The record of the bundle accepted before, if any. */
  floor?: BundleRecord;
  /** max(local clock, maxSeenTime), ms. */
  now: number;
  clientVersion: string;
}

export interface Accepted {
  outcome: 'accepted' | 'unchanged';
  doc: BundleDoc;
  sha256: string;
  signers: string[];
}

export function acceptBundle(bytes: Buffer, ctx: AcceptContext): Accepted {
  const sha256 = sha256Hex(bytes);
  const { trust, now } = ctx;
  const env = parseEnvelope(bytes);
  const { payload, signers } = verifyWithTrust(env, PAYLOAD_TYPES.bundle, trust, now);
  const doc = parseBundlePayload(payload);
  if (doc.tenant !== trust.tenant) throw new BundleError('tenant-mismatch', `bundle for tenant ${JSON.stringify(doc.tenant)}, this machine trusts ${JSON.stringify(trust.tenant)}`);
  if (doc.bundleId !== ctx.bundleId) throw new BundleError('bundle-id-mismatch', `bundle ${JSON.stringify(doc.bundleId)}, this machine is configured for ${JSON.stringify(ctx.bundleId)}`);
  const id = `${doc.bundleId} epoch ${doc.epoch} v${doc.version}`;
  if (ctx.floor) {
    const cmp = compareEpochVersion(doc, ctx.floor);
    const active = `epoch ${ctx.floor.epoch} v${ctx.floor.version}`;
    if (cmp < 0) throw new BundleError('rollback', `${id} is older than the accepted ${active}`);
    if (cmp === 0) {
      if (sha256 === ctx.floor.sha256) return { outcome: 'unchanged', doc, sha256, signers };
      throw new BundleError('equivocation', `${id} was already accepted with different bytes (sha256 ${ctx.floor.sha256.slice(0, 16)}…, offered ${sha256.slice(0, 16)}…)`);
    }
  }
  if (doc.epoch !== trust.epoch) throw new BundleError('epoch-mismatch', `${id}: trust v${trust.version} sets epoch ${trust.epoch}`);
  if (doc.minTrustVersion !== undefined && doc.minTrustVersion > trust.version) {
    throw new BundleError('trust-too-old', `${id} needs trust v${doc.minTrustVersion}, this machine has v${trust.version}`);
  }
  if (doc.minClientVersion !== undefined && compareSemver(doc.minClientVersion, ctx.clientVersion) > 0) {
    throw new BundleError('client-too-old', `${id} needs Agent Warden ${doc.minClientVersion} or later, this is ${ctx.clientVersion}; update the extension`);
  }
  if (trustExpired(trust, now)) throw new BundleError('trust-expired', `trust v${trust.version} expired at ${new Date(trust.expiresAt).toISOString()}`);
  const skew = TRUST_DEFAULTS.skewMs;
  if (Date.parse(doc.expiresAt) <= now - skew) throw new BundleError('expired', `${id} expired at ${doc.expiresAt}`);
  if (doc.notBefore && Date.parse(doc.notBefore) > now + skew) throw new BundleError('not-yet-valid', `${id} is not valid before ${doc.notBefore}`);
  if (Date.parse(doc.issuedAt) > now + skew) throw new BundleError('not-yet-valid', `${id} is issued in the future (${doc.issuedAt})`);
  return { outcome: 'accepted', doc, sha256, signers };
}
