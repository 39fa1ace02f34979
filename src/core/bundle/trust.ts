/**
 * Trust roots: the signed key set (roles, thresholds, validity windows, revocations) that decides which
 * signatures count, and its rotation under TUF rules: version N+1 must be signed by a threshold of version
 * N's root keys AND a threshold of its own, with a version exactly one higher, the same tenant and an epoch
 * that never goes down.
 *
 * Two readers of trust payloads exist: the strict zod schema (`parseTrustPayload` in schema.ts), used when a
 * trust document is accepted, and `leanTrustParser` below, used by the hook when it re-opens documents it
 * accepted earlier (checked types only, no zod). Both feed `trustFromDoc`, which recomputes every key id.
 */
import { durationMs } from '../policy/duration';
import { envelopePayload, keyidOf, parseEnvelope, parseJsonBytes, PAYLOAD_TYPES, ROLE_FOR_TYPE, ROLES, sha256Hex, verifyEnvelope, type Envelope, type Role, type Verified, type VerifierKey } from './envelope';
import { BundleError } from './errors';
import type { TrustDoc } from './schema';

export const TRUST_DEFAULTS = {
  offlineGraceMs: 7 * 86_400_000,
  staleAfterMs: 2 * 86_400_000,
  /** Tolerated clock difference for notBefore / expiresAt checks. */
  skewMs: 5 * 60_000,
  /** Most rotations followed from one anchor (TUF caps root hops too). */
  maxHops: 1024,
} as const;

export interface Trust {
  doc: TrustDoc;
  /** SHA-256 of the envelope bytes this trust came from. */
  sha256: string;
  tenant: string;
  version: number;
  epoch: number;
  issuedAt: number;
  expiresAt: number;
  keys: Map<string, VerifierKey>;
  thresholds: Record<Role, number>;
  offlineGraceMs: number;
  staleAfterMs: number;
  failOpen: boolean;
  /** Root key ids whose signatures on this version counted. */
  signers: string[];
}

export type TrustParser = (payload: Buffer) => TrustDoc;

function fail(message: string): never {
  throw new BundleError('trust-malformed', `invalid trust document: ${message}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isTime = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));

/**
 * The hook's reader for trust documents it accepted before: JSON.parse plus the type checks the code here
 * relies on. Full validation happened at acceptance with the zod schema.
 */
export const leanTrustParser: TrustParser = (payload) => {
  let d: unknown;
  try {
    d = parseJsonBytes(payload);
  } catch (e) {
    fail(`not JSON (${(e as Error).message})`);
  }
  if (!isObj(d) || d.schema !== 1 || d.type !== 'trust') fail('not a trust document');
  if (typeof d.tenant !== 'string' || !isPosInt(d.version) || !isPosInt(d.epoch)) fail('tenant, version or epoch');
  if (!isTime(d.issuedAt) || !isTime(d.expiresAt)) fail('issuedAt or expiresAt');
  if (!isObj(d.keys) || !isObj(d.roles)) fail('keys or roles');
  for (const k of Object.values(d.keys)) {
    if (!isObj(k) || typeof k.pub !== 'string' || !Array.isArray(k.roles) || !k.roles.every((r) => typeof r === 'string')) fail('key entry');
    if ((k.notBefore !== undefined && !isTime(k.notBefore)) || (k.notAfter !== undefined && !isTime(k.notAfter))) fail('key validity window');
  }
  for (const r of ROLES) {
    const t = d.roles[r];
    if (!isObj(t) || !isPosInt(t.threshold)) fail(`roles.${r}.threshold`);
  }
  if (d.revoked !== undefined && !(Array.isArray(d.revoked) && d.revoked.every((x) => typeof x === 'string'))) fail('revoked');
  if (d.bundles !== undefined && !isObj(d.bundles)) fail('bundles');
  return d as unknown as TrustDoc;
};

/** Trusted keys of a document; every key id is recomputed from its public key. */
export function keySet(doc: TrustDoc): Map<string, VerifierKey> {
  const revoked = new Set(doc.revoked ?? []);
  const keys = new Map<string, VerifierKey>();
  for (const [id, k] of Object.entries(doc.keys)) {
    const raw = Buffer.from(k.pub, 'base64url');
    if (raw.length !== 32) fail(`key ${id.slice(0, 12)}… is not a 32-byte Ed25519 public key`);
    const actual = keyidOf(raw);
    if (actual !== id) throw new BundleError('trust-keyid-mismatch', `key id ${id} does not match its public key (sha256 = ${actual})`);
    const key: VerifierKey = { keyid: id, raw, roles: k.roles, revoked: revoked.has(id) };
    if (k.notBefore) key.notBefore = Date.parse(k.notBefore);
    if (k.notAfter) key.notAfter = Date.parse(k.notAfter);
    keys.set(id, key);
  }
  return keys;
}

function build(doc: TrustDoc, keys: Map<string, VerifierKey>, sha256: string, signers: string[]): Trust {
  let offlineGraceMs: number = TRUST_DEFAULTS.offlineGraceMs;
  let staleAfterMs: number = TRUST_DEFAULTS.staleAfterMs;
  try {
    if (doc.bundles?.offlineGrace) offlineGraceMs = durationMs(doc.bundles.offlineGrace);
    if (doc.bundles?.staleAfter) staleAfterMs = durationMs(doc.bundles.staleAfter);
  } catch (e) {
    fail((e as Error).message);
  }
  return {
    doc,
    sha256,
    tenant: doc.tenant,
    version: doc.version,
    epoch: doc.epoch,
    issuedAt: Date.parse(doc.issuedAt),
    expiresAt: Date.parse(doc.expiresAt),
    keys,
    thresholds: { root: doc.roles.root.threshold, policy: doc.roles.policy.threshold, exception: doc.roles.exception.threshold, receipt: doc.roles.receipt.threshold },
    offlineGraceMs,
    staleAfterMs,
    failOpen: doc.bundles?.failOpen === true,
    signers,
  };
}

function payloadOf(bytes: Buffer, parse: TrustParser): { env: ReturnType<typeof parseEnvelope>; doc: TrustDoc } {
  const env = parseEnvelope(bytes);
  if (env.payloadType !== PAYLOAD_TYPES.trust) throw new BundleError('payload-type', `expected a trust document, got ${JSON.stringify(env.payloadType)}`);
  return { env, doc: parse(envelopePayload(env)!) };
}

function rootVerify(env: ReturnType<typeof parseEnvelope>, keys: Map<string, VerifierKey>, threshold: number, now: number | null, code: 'trust-signature' | 'trust-old-roots-threshold' | 'trust-new-roots-threshold', what: string): string[] {
  try {
    return verifyEnvelope(env, { payloadType: PAYLOAD_TYPES.trust, role: 'root', keys, threshold, now }).signers;
  } catch (e) {
    if (e instanceof BundleError) throw new BundleError(code, `${what}: ${e.message}`, e.checks);
    throw e;
  }
}

/**
 * Open a pinned trust root (delivered out of band). Its payload is read before verification because its
 * own root keys are the ones that must sign it; the out-of-band delivery is what makes it trusted, the
 * self-signature makes it whole. `now` checks the signing keys' validity windows; null skips them
 * (re-opening a root accepted earlier).
 */
export function openAnchor(bytes: Buffer, sha256: string, parse: TrustParser, now: number | null): Trust {
  const { env, doc } = payloadOf(bytes, parse);
  const keys = keySet(doc);
  const signers = rootVerify(env, keys, doc.roles.root.threshold, now, 'trust-signature', `trust v${doc.version} is not signed by a threshold of its own root keys`);
  return build(doc, keys, sha256, signers);
}

/**
 * Verify that `bytes` is the rotation of `prev` to version prev.version + 1 (TUF root rules). `now` checks
 * root keys' validity windows when a rotation is accepted; null skips them when a stored chain is re-opened
 * (an old root key whose window closed after it signed the rotation must not break the chain).
 */
export function openRotation(bytes: Buffer, sha256: string, prev: Trust, parse: TrustParser, now: number | null): Trust {
  const env = parseEnvelope(bytes);
  if (env.payloadType !== PAYLOAD_TYPES.trust) throw new BundleError('payload-type', `expected a trust document, got ${JSON.stringify(env.payloadType)}`);
  rootVerify(env, prev.keys, prev.thresholds.root, now, 'trust-old-roots-threshold', `not signed by a threshold of the root keys of trust v${prev.version}`);
  const doc = parse(envelopePayload(env)!);
  const keys = keySet(doc);
  if (doc.tenant !== prev.tenant) throw new BundleError('trust-tenant-mismatch', `trust for tenant ${JSON.stringify(doc.tenant)} cannot follow trust for ${JSON.stringify(prev.tenant)}`);
  if (doc.version <= prev.version) throw new BundleError('trust-rollback', `trust v${doc.version} offered after v${prev.version}`);
  if (doc.version !== prev.version + 1) throw new BundleError('trust-version-gap', `trust v${doc.version} offered after v${prev.version}; rotations go one version at a time`);
  if (doc.epoch < prev.epoch) throw new BundleError('trust-epoch-rollback', `trust v${doc.version} lowers the epoch from ${prev.epoch} to ${doc.epoch}`);
  const signers = rootVerify(env, keys, doc.roles.root.threshold, now, 'trust-new-roots-threshold', `trust v${doc.version} is not signed by a threshold of its own root keys`);
  return build(doc, keys, sha256, signers);
}

/**
 * Verify any signed document under a trust root: the key role follows from the payload type (policy
 * bundles: `policy`; exception grants: `exception`; audit receipts: `receipt`), with that role's threshold.
 * `now` checks key validity windows; null skips them. Throws BundleError.
 */
export function verifyWithTrust(env: Envelope, payloadType: string, trust: Trust, now: number | null): Verified {
  const role = ROLE_FOR_TYPE[payloadType];
  if (!role || role === 'root') throw new Error(`no signing role for ${payloadType}`);
  return verifyEnvelope(env, { payloadType, role, keys: trust.keys, threshold: trust.thresholds[role], now });
}

/** Whether a trust root has expired at `now` (with clock-skew tolerance). */
export function trustExpired(t: Trust, now: number): boolean {
  return t.expiresAt <= now - TRUST_DEFAULTS.skewMs;
}

/** Open a chain given as bytes: the anchor first, then each rotation in order. Windows are not re-checked. */
export function openChain(docs: readonly Buffer[], parse: TrustParser): Trust[] {
  if (!docs.length) throw new BundleError('no-trust', 'no trust document given');
  const out = [openAnchor(docs[0]!, sha256Hex(docs[0]!), parse, null)];
  for (const bytes of docs.slice(1)) out.push(openRotation(bytes, sha256Hex(bytes), out[out.length - 1]!, parse, null));
  return out;
}
