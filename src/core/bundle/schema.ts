/**
 * The signed documents (trust root, policy bundle) and the key files, as strict zod schemas. Documents are
 * parsed only after their envelope's signatures verify, and only when a document is *accepted* (sync,
 * `warden bundle verify`, `warden trust pin`): the hook never loads this module (zod and yaml cost more than
 * the hook's whole budget). It re-checks accepted bytes by signature and SHA-256 instead (see active.ts).
 */
import { z } from 'zod';
import { durationMs } from '../policy/duration';
import { PolicyError, validatePolicyValue } from '../policy/load';
import { Duration, type PolicyDoc } from '../policy/schema';
import { ROLES, MAX_SIGNATURES, parseJsonBytes } from './envelope';
import { BundleError, type RejectCode } from './errors';

export const MAX_OFFLINE_GRACE_MS = 90 * 86_400_000;

const Version = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('A positive integer up to 2^53−1.');
const Time = z.iso.datetime().describe('UTC time, RFC 3339 with Z.');
export const KeyId = z.string().regex(/^[0-9a-f]{64}$/, 'a key id: 64 lower-case hex digits (SHA-256 of the raw public key)');
/** base64url of the raw 32-byte Ed25519 public key, no padding. */
export const PublicKeyText = z.string().regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, 'a raw Ed25519 public key: 43 base64url characters');
export const Tenant = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, dots, dashes, underscores (at most 63)');
export const BundleId = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, 'path-like segments of letters, digits, dots, dashes, underscores (e.g. acme/default)')
  .refine((s) => !s.split('/').some((seg) => seg === '..' || seg === '.'), 'no "." or ".." segments');
export const SemVer = z.string().regex(/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$/, 'a version such as 1.4.0');
const Role = z.enum(ROLES);
const Threshold = z.object({ threshold: z.number().int().min(1).max(MAX_SIGNATURES) }).strict();

export const TrustKey = z
  .object({
    alg: z.literal('ed25519'),
    pub: PublicKeyText,
    roles: z.array(Role).length(1, 'a key has exactly one role (no role sharing)'),
    label: z.string().max(200).optional(),
    notBefore: Time.optional(),
    notAfter: Time.optional(),
  })
  .strict();

export const TrustDocSchema = z
  .object({
    schema: z.literal(1),
    type: z.literal('trust'),
    tenant: Tenant,
    version: Version,
    epoch: Version.describe('Bundles must carry this epoch; a root-signed bump resets bundle version floors.'),
    issuedAt: Time,
    expiresAt: Time,
    keys: z.record(KeyId, TrustKey).refine((k) => Object.keys(k).length <= 64, 'at most 64 keys'),
    roles: z.object({ root: Threshold, policy: Threshold, exception: Threshold, receipt: Threshold }).strict(),
    revoked: z.array(KeyId).max(1024).optional(),
    bundles: z
      .object({
        offlineGrace: Duration.optional().describe('How long an expired active bundle keeps being enforced (default 7d, at most 90d).'),
        staleAfter: Duration.optional().describe('Age (since issuedAt) after which an active bundle is reported stale (default 2d).'),
        failOpen: z.boolean().optional().describe('Allow the hook to fail open when no valid bundle applies. Default false.'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((doc, ctx) => {
    if (Date.parse(doc.expiresAt) <= Date.parse(doc.issuedAt)) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt must be after issuedAt' });
    const revoked = new Set(doc.revoked ?? []);
    const roots = Object.entries(doc.keys).filter(([id, k]) => k.roles.includes('root') && !revoked.has(id)).length;
    if (roots < doc.roles.root.threshold) {
      ctx.addIssue({ code: 'custom', path: ['roles', 'root', 'threshold'], message: `root threshold ${doc.roles.root.threshold} but only ${roots} usable root key(s)` });
    }
    for (const [id, k] of Object.entries(doc.keys)) {
      if (k.notBefore && k.notAfter && Date.parse(k.notAfter) <= Date.parse(k.notBefore)) {
        ctx.addIssue({ code: 'custom', path: ['keys', id, 'notAfter'], message: 'notAfter must be after notBefore' });
      }
    }
    const grace = doc.bundles?.offlineGrace;
    if (grace && durationMs(grace) > MAX_OFFLINE_GRACE_MS) ctx.addIssue({ code: 'custom', path: ['bundles', 'offlineGrace'], message: 'offlineGrace must be at most 90d' });
  });

export type TrustDoc = z.infer<typeof TrustDocSchema>;
export type TrustKeyDoc = z.infer<typeof TrustKey>;

export const BundleDocSchema = z
  .object({
    schema: z.literal(1),
    type: z.literal('policy-bundle'),
    tenant: Tenant,
    bundleId: BundleId,
    epoch: Version,
    version: Version.describe('Increments on every issuance, including re-signing unchanged content.'),
    revision: z.string().max(200).optional().describe('Free-form source revision, e.g. git:7864d60d.'),
    issuedAt: Time,
    notBefore: Time.optional(),
    expiresAt: Time,
    minTrustVersion: Version.optional(),
    minClientVersion: SemVer.optional(),
    policy: z.unknown().describe('An Agent Warden policy, as validated by the policy schema, with defaults explicit.'),
  })
  .strict()
  .superRefine((doc, ctx) => {
    if (Date.parse(doc.expiresAt) <= Date.parse(doc.issuedAt)) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt must be after issuedAt' });
    if (doc.notBefore && Date.parse(doc.notBefore) >= Date.parse(doc.expiresAt)) ctx.addIssue({ code: 'custom', path: ['notBefore'], message: 'notBefore must be before expiresAt' });
  });

export type BundleDoc = Omit<z.infer<typeof BundleDocSchema>, 'policy'> & { policy: PolicyDoc };

export const PublicKeyFile = z
  .object({
    type: z.literal('agentwarden-public-key'),
    alg: z.literal('ed25519'),
    keyid: KeyId,
    role: Role,
    label: z.string().max(200).optional(),
    createdAt: Time.optional(),
    pub: PublicKeyText,
  })
  .strict();

export const PrivateKeyFile = z
  .object({
    type: z.literal('agentwarden-private-key'),
    alg: z.literal('ed25519'),
    keyid: KeyId,
    role: Role,
    label: z.string().max(200).optional(),
    createdAt: Time.optional(),
    privateKey: z.string().startsWith('-----BEGIN PRIVATE KEY-----', 'a PKCS#8 PEM private key'),
  })
  .strict();

export type PublicKeyFileDoc = z.infer<typeof PublicKeyFile>;
export type PrivateKeyFileDoc = z.infer<typeof PrivateKeyFile>;

export function zodMessage(error: z.ZodError, max = 5): string {
  const parts = error.issues.slice(0, max).map((i) => {
    const where = i.path.length ? i.path.map(String).join('.') : '(top level)';
    return i.code === 'unrecognized_keys' ? `${where}: unknown field(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : `${where}: ${i.message}`;
  });
  if (error.issues.length > max) parts.push(`… ${error.issues.length - max} more`);
  return parts.join('; ');
}

function parseJson(payload: Buffer, code: RejectCode, what: string): unknown {
  try {
    return parseJsonBytes(payload);
  } catch (e) {
    throw new BundleError(code, `the ${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Validate a verified trust payload. Throws BundleError `trust-malformed`. */
export function parseTrustPayload(payload: Buffer): TrustDoc {
  const parsed = TrustDocSchema.safeParse(parseJson(payload, 'trust-malformed', 'trust document'));
  if (!parsed.success) throw new BundleError('trust-malformed', `invalid trust document: ${zodMessage(parsed.error)}`);
  return parsed.data;
}

/**
 * Validate a verified bundle payload: the bundle fields (strict), then the policy with the policy schema and
 * its semantic checks. The policy must be in normal form (every default explicit, as `warden bundle sign`
 * writes it) so that the hook, which only JSON.parses it, sees exactly what was validated here.
 * Throws BundleError `payload-malformed` or `policy-invalid`.
 */
export function parseBundlePayload(payload: Buffer): BundleDoc {
  const parsed = BundleDocSchema.safeParse(parseJson(payload, 'payload-malformed', 'bundle payload'));
  if (!parsed.success) throw new BundleError('payload-malformed', `invalid policy bundle: ${zodMessage(parsed.error)}`);
  let policy: PolicyDoc;
  try {
    policy = validatePolicyValue(parsed.data.policy, 'policy');
  } catch (e) {
    if (e instanceof PolicyError) throw new BundleError('policy-invalid', `invalid policy in bundle: ${e.diagnostics.map((d) => d.message).slice(0, 5).join('; ')}`);
    throw e;
  }
  if (!jsonEqual(policy, parsed.data.policy)) {
    throw new BundleError('policy-invalid', 'the policy is not in normal form (defaults must be explicit); sign it with `warden bundle sign`');
  }
  return { ...parsed.data, policy };
}

/** Structural equality of JSON values, ignoring object key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
