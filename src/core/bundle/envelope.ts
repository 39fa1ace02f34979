/**
 * DSSE envelopes (secure-systems-lab/dsse): `{payloadType, payload, signatures: [{keyid, sig}]}`, each
 * signature Ed25519 over PAE(payloadType, exact payload bytes). Generic over document types: trust roots,
 * policy bundles, and later exception grants and audit receipts all use it with their own payloadType and
 * key role.
 *
 * No zod here on purpose: the hook re-verifies the cached bundle at every start and must not pay for
 * loading it. The envelope is three fields and is checked strictly by hand (unknown fields, wrong types,
 * non-canonical base64, signatures of the wrong length or with S ≥ L are all refused). The payload is
 * parsed by the caller only after the signatures verify; nothing is re-serialised before verification.
 */
import { isUtf8 } from 'node:buffer';
import type * as NodeCrypto from 'node:crypto';
import { BundleError, type SigCheck, type SigStatus } from './errors';

export const PAYLOAD_TYPES = {
  trust: 'application/vnd.agentwarden.trust+json;version=1',
  bundle: 'application/vnd.agentwarden.policy-bundle+json;version=1',
  grant: 'application/vnd.agentwarden.exception-grant+json;version=1',
  receipt: 'application/vnd.agentwarden.audit-receipt+json;version=1',
} as const;

export const ROLES = ['root', 'policy', 'exception', 'receipt'] as const;
export type Role = (typeof ROLES)[number];

/** The key role that may sign each document type. */
export const ROLE_FOR_TYPE: Record<string, Role> = {
  [PAYLOAD_TYPES.trust]: 'root',
  [PAYLOAD_TYPES.bundle]: 'policy',
  [PAYLOAD_TYPES.grant]: 'exception',
  [PAYLOAD_TYPES.receipt]: 'receipt',
};

export const MAX_SIGNATURES = 8;
const MAX_PAYLOAD_TYPE = 200;
const KEYID = /^[0-9a-f]{64}$/;
const ENVELOPE_FIELDS = new Set(['payloadType', 'payload', 'signatures']);
const SIGNATURE_FIELDS = new Set(['keyid', 'sig']);
let cryptoModule: typeof NodeCrypto | undefined;

/**
 * node:crypto, loaded on first use: initialising OpenSSL costs a few milliseconds, which a hook run that
 * never touches a bundle (an explicit --policy, a non-PreToolUse event) should not pay.
 */
function crypto(): typeof NodeCrypto {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (cryptoModule ??= require('node:crypto') as typeof NodeCrypto);
}

/** DER SubjectPublicKeyInfo prefix of an Ed25519 key; the raw 32 bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** The order of the Ed25519 group; a signature's S must be below it (RFC 8032 §5.1.7). */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

export interface EnvelopeSignature {
  keyid: string;
  sig: string;
}

export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: EnvelopeSignature[];
}

/** A key a verifier may count. `publicKey` is created on first use (most keys of a trust root are never needed). */
export interface VerifierKey {
  keyid: string;
  raw: Buffer;
  roles: readonly Role[];
  /** Validity window, ms since the epoch. */
  notBefore?: number;
  notAfter?: number;
  revoked: boolean;
}

export interface Signer {
  keyid: string;
  privateKey: NodeCrypto.KeyObject;
}

/** Pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(body) SP body`. */
export function pae(payloadType: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.length} `), body]);
}

/** Standard base64 with padding, canonical only (re-encoding gives the same text), else undefined. */
export function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

export function sha256Hex(bytes: Buffer | string): string {
  return crypto().createHash('sha256').update(bytes).digest('hex');
}

/** A key id is the hex SHA-256 of the raw 32-byte Ed25519 public key. */
export function keyidOf(raw: Buffer): string {
  return sha256Hex(raw);
}

export function publicKeyFromRaw(raw: Buffer): NodeCrypto.KeyObject {
  if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return crypto().createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: NodeCrypto.KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? key.type})`);
  const pub = key.type === 'private' ? crypto().createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  if (der.length !== 44 || !der.subarray(0, 12).equals(SPKI_PREFIX)) throw new Error('unexpected Ed25519 SPKI encoding');
  return Buffer.from(der.subarray(12));
}

/** Decode UTF-8 strictly (invalid sequences and a byte-order mark are errors), then JSON.parse. */
export function parseJsonBytes(bytes: Buffer): unknown {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new Error('starts with a byte-order mark');
  if (!isUtf8(bytes)) throw new Error('not valid UTF-8');
  return JSON.parse(bytes.toString('utf8'));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Payload bytes decoded by parseEnvelope, so verification does not decode a large payload twice. */
const decoded = new WeakMap<Envelope, { text: string; bytes: Buffer }>();

/**
 * Parse an envelope strictly. Throws BundleError: `envelope-malformed` (not JSON, wrong shape, unknown
 * fields such as `alg`), `unsigned` (no or empty `signatures`), `signature-malformed`. (A key repeated in
 * the envelope JSON keeps its last value, as JSON.parse does; the signatures decide either way.)
 */
export function parseEnvelope(bytes: Buffer): Envelope {
  let value: unknown;
  try {
    value = parseJsonBytes(bytes);
  } catch (e) {
    throw new BundleError('envelope-malformed', `the envelope is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(value)) throw new BundleError('envelope-malformed', 'the envelope is not a JSON object');
  for (const k of Object.keys(value)) {
    if (!ENVELOPE_FIELDS.has(k)) throw new BundleError('envelope-malformed', `unknown envelope field ${JSON.stringify(k)}`);
  }
  const { payloadType, payload, signatures } = value;
  if (typeof payloadType !== 'string' || !payloadType || payloadType.length > MAX_PAYLOAD_TYPE) {
    throw new BundleError('envelope-malformed', 'payloadType must be a non-empty string of at most 200 characters');
  }
  if (typeof payload !== 'string') throw new BundleError('envelope-malformed', 'payload must be a base64 string');
  const body = decodeBase64(payload);
  if (body === undefined) throw new BundleError('envelope-malformed', 'payload is not canonical standard base64');
  if (signatures === undefined || (Array.isArray(signatures) && signatures.length === 0)) throw new BundleError('unsigned', 'the envelope has no signatures');
  if (!Array.isArray(signatures)) throw new BundleError('envelope-malformed', 'signatures must be an array');
  if (signatures.length > MAX_SIGNATURES) throw new BundleError('envelope-malformed', `more than ${MAX_SIGNATURES} signatures`);
  const sigs: EnvelopeSignature[] = signatures.map((s: unknown, i) => {
    if (!isPlainObject(s)) throw new BundleError('envelope-malformed', `signatures[${i}] is not an object`);
    for (const k of Object.keys(s)) {
      if (!SIGNATURE_FIELDS.has(k)) throw new BundleError('envelope-malformed', `unknown field ${JSON.stringify(k)} in signatures[${i}]`);
    }
    if (typeof s.keyid !== 'string' || !KEYID.test(s.keyid)) throw new BundleError('envelope-malformed', `signatures[${i}].keyid must be 64 lower-case hex digits`);
    if (typeof s.sig !== 'string') throw new BundleError('envelope-malformed', `signatures[${i}].sig must be a string`);
    const raw = decodeBase64(s.sig);
    if (!raw) throw new BundleError('signature-malformed', `signatures[${i}].sig is not canonical standard base64`);
    if (raw.length !== 64) throw new BundleError('signature-malformed', `signatures[${i}].sig is ${raw.length} bytes, an Ed25519 signature is 64`);
    if (BigInt('0x' + Buffer.from(raw.subarray(32)).reverse().toString('hex')) >= ED25519_L) {
      throw new BundleError('signature-malformed', `signatures[${i}].sig is not canonical (S ≥ L): a malleated signature`);
    }
    return { keyid: s.keyid, sig: s.sig };
  });
  const env: Envelope = { payloadType, payload, signatures: sigs };
  decoded.set(env, { text: payload, bytes: body });
  return env;
}

/** The envelope's payload bytes (undefined when not canonical base64). */
export function envelopePayload(env: Envelope): Buffer | undefined {
  const cached = decoded.get(env);
  if (cached && cached.text === env.payload) return cached.bytes;
  return decodeBase64(env.payload);
}

export interface VerifyOptions {
  payloadType: string;
  role: Role;
  keys: ReadonlyMap<string, VerifierKey>;
  threshold: number;
  /**
   * ms since the epoch, for key validity windows; null skips the windows (re-opening documents accepted
   * earlier, whose windows were checked at acceptance). Revocation is always checked.
   */
  now: number | null;
}

export interface Verified {
  payload: Buffer;
  checks: SigCheck[];
  /** Key ids whose signatures verified and counted, in envelope order. */
  signers: string[];
}

const publicKeys = new WeakMap<VerifierKey, NodeCrypto.KeyObject>();

function publicKeyOf(k: VerifierKey): NodeCrypto.KeyObject {
  let pk = publicKeys.get(k);
  if (!pk) {
    pk = publicKeyFromRaw(k.raw);
    publicKeys.set(k, pk);
  }
  return pk;
}

const STATUS_CODE = {
  'unknown-key': 'key-unknown',
  'revoked-key': 'key-revoked',
  'inactive-key': 'key-inactive',
  'wrong-role': 'key-wrong-role',
  invalid: 'signature-invalid',
} as const;

/**
 * Count the signatures made by distinct trusted keys of `role` that verify; require `threshold`.
 * The keyid of a signature only selects which trusted key to try (DSSE: a hint); each key counts once.
 * Throws BundleError; when no signature counts and all failed the same way the code names that way
 * (`key-unknown`, `key-revoked`, …), otherwise `threshold-not-met`.
 */
export function verifyEnvelope(env: Envelope, opts: VerifyOptions): Verified {
  if (env.payloadType !== opts.payloadType) {
    throw new BundleError('payload-type', `expected payloadType ${opts.payloadType}, got ${JSON.stringify(env.payloadType)}`);
  }
  if (!Number.isSafeInteger(opts.threshold) || opts.threshold < 1) throw new Error(`invalid ${opts.role} threshold ${opts.threshold}`);
  const payload = envelopePayload(env);
  if (!payload) throw new BundleError('envelope-malformed', 'payload is not canonical standard base64');
  const message = pae(env.payloadType, payload);
  const checks: SigCheck[] = [];
  const signers: string[] = [];
  for (const s of env.signatures) {
    checks.push({ keyid: s.keyid, status: checkOne(s, message, opts, signers) });
  }
  if (signers.length >= opts.threshold) return { payload, checks, signers };
  const failed = checks.filter((c) => c.status !== 'valid');
  const first = failed[0]?.status;
  const same = signers.length === 0 && first !== undefined && first !== 'duplicate' && failed.every((c) => c.status === first);
  const code = same ? STATUS_CODE[first as keyof typeof STATUS_CODE] : 'threshold-not-met';
  const summary = checks.map((c) => `${c.keyid.slice(0, 12)}…: ${c.status}`).join(', ');
  throw new BundleError(code, `${signers.length} of ${opts.threshold} required ${opts.role} signature(s) verified (${summary})`, checks);
}

function checkOne(s: EnvelopeSignature, message: Buffer, opts: VerifyOptions, signers: string[]): SigStatus {
  const k = opts.keys.get(s.keyid);
  if (!k) return 'unknown-key';
  if (k.revoked) return 'revoked-key';
  if (!k.roles.includes(opts.role)) return 'wrong-role';
  if (opts.now !== null && !keyActiveAt(k, opts.now)) return 'inactive-key';
  if (signers.includes(s.keyid)) return 'duplicate';
  const sig = Buffer.from(s.sig, 'base64');
  if (!crypto().verify(null, message, publicKeyOf(k), sig)) return 'invalid';
  signers.push(s.keyid);
  return 'valid';
}

/** Whether `t` (ms) lies in the key's validity window [notBefore, notAfter). */
export function keyActiveAt(k: VerifierKey, t: number): boolean {
  return (k.notBefore === undefined || t >= k.notBefore) && (k.notAfter === undefined || t < k.notAfter);
}

export function signEnvelope(payloadType: string, payload: Buffer, signers: readonly Signer[]): Envelope {
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload: payload.toString('base64'),
    signatures: signers.map((s) => ({ keyid: s.keyid, sig: crypto().sign(null, message, s.privateKey).toString('base64') })),
  };
}

/** Add signatures to an envelope (co-signing); a key that already signed is not added twice. */
export function addSignatures(env: Envelope, signers: readonly Signer[]): Envelope {
  const payload = envelopePayload(env);
  if (!payload) throw new BundleError('envelope-malformed', 'payload is not canonical standard base64');
  const have = new Set(env.signatures.map((s) => s.keyid));
  const extra = signEnvelope(env.payloadType, payload, signers.filter((s) => !have.has(s.keyid))).signatures;
  return { ...env, signatures: [...env.signatures, ...extra] };
}

/** The bytes written to disk and served: the envelope as indented JSON with a final newline. */
export function encodeEnvelope(env: Envelope): Buffer {
  return Buffer.from(JSON.stringify({ payloadType: env.payloadType, payload: env.payload, signatures: env.signatures }, null, 2) + '\n');
}
