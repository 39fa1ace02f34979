/**
 * Publishing a pre-signed bundle envelope to the policy server: `PUT <server>/v1/admin/bundles/<bundleId>`
 * with an admin bearer token. The envelope goes up byte for byte; the server verifies it again.
 */
import { envelopePayload, parseEnvelope, parseJsonBytes, PAYLOAD_TYPES, sha256Hex } from '../core/bundle/envelope';
import { BundleError } from '../core/bundle/errors';
import { httpRequest, serverUrl } from './syncHttp';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.agentwarden.bundle+json';

export interface PublishResult {
  url: string;
  status: number;
  /** The server's answer (at most 64 KiB). */
  body: string;
  bundleId: string;
  epoch: number;
  version: number;
  sha256: string;
}

/** The identity a bundle envelope claims (unverified: for routing and messages only). */
export function claimedIdentity(bytes: Buffer): { bundleId: string; epoch: number; version: number } {
  const env = parseEnvelope(bytes);
  if (env.payloadType !== PAYLOAD_TYPES.bundle) throw new BundleError('payload-type', `not a policy bundle envelope (${env.payloadType})`);
  let doc: { bundleId?: unknown; epoch?: unknown; version?: unknown };
  try {
    doc = parseJsonBytes(envelopePayload(env)!) as typeof doc;
  } catch (e) {
    throw new BundleError('payload-malformed', `the bundle payload is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc.bundleId !== 'string' || !Number.isSafeInteger(doc.epoch) || !Number.isSafeInteger(doc.version)) {
    throw new BundleError('payload-malformed', 'the bundle payload has no bundleId, epoch or version');
  }
  return { bundleId: doc.bundleId, epoch: doc.epoch as number, version: doc.version as number };
}

export async function publishBundle(server: string, bytes: Buffer, opts: { token: string; timeoutMs?: number }): Promise<PublishResult> {
  const id = claimedIdentity(bytes);
  const url = serverUrl(server, `v1/admin/bundles/${encodeURIComponent(id.bundleId)}`);
  const res = await httpRequest('PUT', url, {
    headers: { authorization: `Bearer ${opts.token}`, 'content-type': BUNDLE_MEDIA_TYPE, accept: 'application/json' },
    body: bytes,
    limits: { maxBytes: 64 * 1024, headerTimeoutMs: opts.timeoutMs ?? 30_000, totalTimeoutMs: opts.timeoutMs ?? 60_000 },
  });
  const body = res.body.toString('utf8');
  if (res.status < 200 || res.status > 299) {
    throw new BundleError('http-status', `PUT ${url.href}: HTTP ${res.status}${body ? `: ${body.slice(0, 500)}` : ''}`);
  }
  return { url: url.href, status: res.status, body, ...id, sha256: sha256Hex(bytes) };
}
