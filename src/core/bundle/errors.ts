/**
 * Why a signed document (trust root, policy bundle, later exception grants) was refused, as a stable code
 * plus a human message. The codes are part of the status file, audit events and tests; keep them stable.
 */

export const REJECT_CODES = {
  // Envelope (DSSE container)
  'envelope-malformed': 'the envelope is not a JSON object with exactly payloadType, payload (base64) and signatures',
  unsigned: 'the envelope has no signatures',
  'payload-type': 'the envelope carries another document type than expected',
  'signature-malformed': 'a signature is not canonical base64 of a 64-byte Ed25519 signature with S < L',
  // Signatures against the trust root
  'key-unknown': 'signed by a key the trust root does not list',
  'key-revoked': 'signed by a key the trust root revokes',
  'key-inactive': 'signed by a key outside its validity window',
  'key-wrong-role': 'signed by a key without the role this document needs',
  'signature-invalid': 'a signature does not verify with the key its keyid names',
  'threshold-not-met': 'fewer distinct valid signatures than the role threshold',
  // Payload
  'payload-malformed': 'the signed payload is not a valid document of its type',
  'policy-invalid': 'the policy inside the bundle does not validate',
  'tenant-mismatch': 'the document belongs to another tenant',
  'bundle-id-mismatch': 'the bundle is not the one this machine is configured for',
  'epoch-mismatch': 'the bundle epoch differs from the epoch set by the trust root',
  'trust-too-old': 'the bundle needs a newer trust root than this machine has',
  'client-too-old': 'the bundle needs a newer Agent Warden',
  rollback: 'older (epoch, version) than the bundle already accepted',
  equivocation: 'same (epoch, version) as the bundle already accepted, but different bytes',
  expired: 'the document has expired',
  'not-yet-valid': 'the document is not valid yet (notBefore or issuedAt in the future)',
  'expired-past-grace': 'the active bundle expired and its offline grace period is over',
  // Trust roots
  'no-trust': 'no trust root is pinned on this machine',
  'trust-malformed': 'the trust document does not validate',
  'trust-keyid-mismatch': 'a key id in the trust document is not the SHA-256 of its public key',
  'trust-signature': 'the trust root is not signed by a threshold of its own root keys',
  'trust-old-roots-threshold': 'the new trust root is not signed by a threshold of the previous root keys',
  'trust-new-roots-threshold': 'the new trust root is not signed by a threshold of its own root keys',
  'trust-version-gap': 'the new trust root skips a version',
  'trust-rollback': 'the trust root version is not higher than the one already accepted',
  'trust-tenant-mismatch': 'the new trust root is for another tenant',
  'trust-epoch-rollback': 'the new trust root lowers the epoch',
  'trust-expired': 'the trust root has expired',
  // Local cache and state
  'not-configured': 'no bundle id is configured for this machine',
  'config-invalid': 'the sync configuration (sync.json) cannot be read',
  'no-bundle': 'no bundle has been accepted on this machine yet',
  'cache-missing': 'the accepted bundle file is missing from the state directory',
  'cache-tampered': 'the cached bundle bytes differ from what was accepted',
  'state-conflict': 'the two copies of the bundle state disagree on the accepted bytes',
  busy: 'another process holds the state lock',
  // Transport
  'insecure-transport': 'plain HTTP to a host other than loopback',
  'too-large': 'the response body is over the size limit (counted after decompression)',
  timeout: 'the server did not answer in time',
  network: 'the server could not be reached',
  'http-status': 'the server answered with an unexpected HTTP status',
  'bad-response': 'the server response could not be read',
  'internal-error': 'an unexpected error while checking',
} as const;

export type RejectCode = keyof typeof REJECT_CODES;

/** Per-signature verification outcome (the keyid is the envelope's hint, never trusted on its own). */
export type SigStatus = 'valid' | 'unknown-key' | 'revoked-key' | 'inactive-key' | 'wrong-role' | 'duplicate' | 'invalid';

export interface SigCheck {
  keyid: string;
  status: SigStatus;
}

export class BundleError extends Error {
  constructor(
    readonly code: RejectCode,
    message: string,
    readonly checks?: SigCheck[],
  ) {
    super(message);
    this.name = 'BundleError';
  }
}

export function isBundleError(e: unknown): e is BundleError {
  return e instanceof BundleError;
}

/** `code: message` for CLI output and status files. */
export function describeError(e: unknown): { code: RejectCode; message: string } {
  if (e instanceof BundleError) return { code: e.code, message: e.message };
  return { code: 'internal-error', message: e instanceof Error ? e.message : String(e) };
}
