/** Building trust and bundle documents for signing (`warden trust`, `warden bundle sign`, tests, benches). */
import { durationMs } from '../policy/duration';
import type { PolicyDoc } from '../policy/schema';
import { keyidOf, ROLES, type Role } from './envelope';
import type { BundleDoc, TrustDoc, TrustKeyDoc } from './schema';

/** RFC 3339 UTC with whole seconds, as documents carry times. */
export function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** A duration (`7d`) or an ISO time, as an absolute time relative to `from`. */
export function timeArg(text: string, from: number): number {
  if (/^[1-9][0-9]*(s|m|h|d)$/.test(text)) return from + durationMs(text);
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new Error(`not a duration (7d, 12h) or an ISO time: ${JSON.stringify(text)}`);
  return t;
}

export interface TrustKeySpec {
  raw: Buffer;
  role: Role;
  label?: string;
  notBefore?: string;
  notAfter?: string;
}

export function trustKeyEntry(k: TrustKeySpec): [string, TrustKeyDoc] {
  const entry: TrustKeyDoc = { alg: 'ed25519', pub: k.raw.toString('base64url'), roles: [k.role] };
  if (k.label) entry.label = k.label;
  if (k.notBefore) entry.notBefore = k.notBefore;
  if (k.notAfter) entry.notAfter = k.notAfter;
  return [keyidOf(k.raw), entry];
}

export interface TrustSpec {
  tenant: string;
  version: number;
  epoch: number;
  issuedAt: number;
  expiresAt: number;
  keys: TrustKeySpec[];
  thresholds?: Partial<Record<Role, number>>;
  revoked?: string[];
  bundles?: TrustDoc['bundles'];
}

export function buildTrustDoc(spec: TrustSpec): TrustDoc {
  const keys: Record<string, TrustKeyDoc> = {};
  for (const k of spec.keys) {
    const [id, entry] = trustKeyEntry(k);
    if (keys[id]) throw new Error(`key ${id} is listed twice`);
    keys[id] = entry;
  }
  const roles = Object.fromEntries(ROLES.map((r) => [r, { threshold: spec.thresholds?.[r] ?? 1 }])) as TrustDoc['roles'];
  const doc: TrustDoc = { schema: 1, type: 'trust', tenant: spec.tenant, version: spec.version, epoch: spec.epoch, issuedAt: isoTime(spec.issuedAt), expiresAt: isoTime(spec.expiresAt), keys, roles };
  if (spec.revoked?.length) doc.revoked = [...new Set(spec.revoked)].sort();
  if (spec.bundles && Object.keys(spec.bundles).length) doc.bundles = spec.bundles;
  return doc;
}

export interface BundleSpec {
  tenant: string;
  bundleId: string;
  epoch: number;
  version: number;
  issuedAt: number;
  expiresAt: number;
  notBefore?: number;
  revision?: string;
  minTrustVersion?: number;
  minClientVersion?: string;
  policy: PolicyDoc;
}

export function buildBundleDoc(spec: BundleSpec): BundleDoc {
  // Key order is the reading order of the payload: identity, times, requirements, then the policy.
  const doc: Record<string, unknown> = { schema: 1, type: 'policy-bundle', tenant: spec.tenant, bundleId: spec.bundleId, epoch: spec.epoch, version: spec.version };
  if (spec.revision) doc.revision = spec.revision;
  doc.issuedAt = isoTime(spec.issuedAt);
  if (spec.notBefore !== undefined) doc.notBefore = isoTime(spec.notBefore);
  doc.expiresAt = isoTime(spec.expiresAt);
  if (spec.minTrustVersion !== undefined) doc.minTrustVersion = spec.minTrustVersion;
  if (spec.minClientVersion) doc.minClientVersion = spec.minClientVersion;
  doc.policy = spec.policy;
  return doc as unknown as BundleDoc;
}

/** The exact payload bytes: compact JSON of a validated object (no duplicate keys, nothing re-serialised later). */
export function encodeDocument(doc: object): Buffer {
  return Buffer.from(JSON.stringify(doc));
}
