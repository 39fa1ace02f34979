/**
 * Device enrolment with the central server, and the enrolment state it leaves in the state directory.
 *
 *   <stateDir>/device.json       the device id (runtime/audit/device.ts; created here if missing): the
 *                                `source` of every audit event, and the id the server enrols
 *   <stateDir>/enrollment.json   mode 0600: {schema, server, deviceId, userId, tenant, bundleId, deviceToken,
 *                                enrolledAt}; the device token is the bearer for audit ingest, status,
 *                                exceptions and grants (the server keeps only its sha256)
 *   <stateDir>/sync.json         {server, bundleId} for the sync client (bundleStore.writeClientConfig)
 *   <stateDir>/trust/…           the pinned trust root and its rotations (trustAccept.ts)
 *
 * Trust is never taken from the server on its own word: the root must be given out of band (a file, a
 * managed `<managedDir>/trust.json`, or its sha256 fingerprint). The server's rotations are fetched
 * (`GET /v1/trust/<n>.json`) and each must chain to that root (threshold of the previous root keys and of
 * its own) before anything is pinned or the one-time enrolment token is spent.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Hex } from '../core/bundle/envelope';
import { parseTrustPayload } from '../core/bundle/schema';
import { openAnchor, openRotation, trustExpired, type Trust } from '../core/bundle/trust';
import { loadDeviceId } from './audit/device';
import { readClientConfig, readIfExists, resolveManagedDir, writeClientConfig } from './bundleStore';
import { callJson, endpoint, request } from './forwardHttp';
import { checkTransport } from './syncHttp';
import { acceptTrustBytes, pinTrust } from './trustAccept';

export { ENROLLMENT_FILE, enrollmentPath, readEnrollment, writeEnrollment, type Enrollment } from './enrollment';
import { writeEnrollment, type Enrollment } from './enrollment';

export interface EnrollOptions {
  stateDir: string;
  server: string;
  /** The one-time enrolment token an administrator issued. */
  token: string;
  deviceName?: string;
  /** The trust root, delivered out of band (envelope bytes). */
  trustRoot?: Buffer;
  /** Or its sha256 (hex of the envelope bytes): the root is then fetched from the server and must hash to it. */
  trustRootSha256?: string;
  /** Directory of managed files; a `trust.json` there is the out-of-band root. Default: the platform's; null: none. */
  managedDir?: string | null;
  /** Replace a different trust root pinned before. */
  resetTrust?: boolean;
  now?: number;
  timeoutMs?: number;
}

export interface EnrollResult {
  enrollment: Enrollment;
  trust: { tenant: string; version: number; anchorSha256: string; managed: boolean; rotationsStored: number };
}

function fail(message: string): never {
  throw new Error(message);
}

async function fetchTrust(server: string, version: number | 'latest', timeoutMs: number): Promise<Buffer | null> {
  const r = await request('GET', endpoint(server, `v1/trust/${version}.json`), { timeoutMs, maxBytes: 64 * 1024, headers: { accept: 'application/json' } });
  if (r.status === 404) return null;
  if (r.status !== 200) fail(`GET /v1/trust/${version}.json: HTTP ${r.status}`);
  return r.body;
}

/** The out-of-band root: given bytes, a managed trust.json, or fetched from the server by fingerprint. */
async function outOfBandRoot(opts: EnrollOptions, timeoutMs: number): Promise<{ bytes: Buffer; managed: boolean }> {
  if (opts.trustRoot) return { bytes: opts.trustRoot, managed: false };
  const managedDir = resolveManagedDir(opts.managedDir);
  const managed = managedDir ? readIfExists(path.join(managedDir, 'trust.json')) : undefined;
  if (managed) return { bytes: managed, managed: true };
  if (opts.trustRootSha256) {
    const want = opts.trustRootSha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(want)) fail('--trust-root-sha256 must be 64 hex digits');
    const latest = await fetchTrust(opts.server, 'latest', timeoutMs);
    if (!latest) fail('the server publishes no trust root (GET /v1/trust/latest.json: 404)');
    if (sha256Hex(latest) === want) return { bytes: latest, managed: false };
    const top = openAnchor(latest, sha256Hex(latest), parseTrustPayload, null).version;
    for (let v = 1; v < top; v++) {
      const b = await fetchTrust(opts.server, v, timeoutMs);
      if (b && sha256Hex(b) === want) return { bytes: b, managed: false };
    }
    fail(`the server has no trust root whose sha256 is ${want}`);
  }
  return fail(`no trust root given out of band: pass --trust-root <file> or --trust-root-sha256 <hex>, or install ${managedDir ? path.join(managedDir, 'trust.json') : 'a managed trust.json'}`);
}

export async function enroll(opts: EnrollOptions): Promise<EnrollResult> {
  checkTransport(opts.server);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const now = opts.now ?? Date.now();
  const root = await outOfBandRoot(opts, timeoutMs);
  let trust: Trust;
  try {
    trust = openAnchor(root.bytes, sha256Hex(root.bytes), parseTrustPayload, now);
  } catch (e) {
    fail(`the out-of-band trust root does not verify: ${(e as Error).message}`);
  }
  // Walk the server's rotations from the root; each must verify against the previous one.
  const rotations: Buffer[] = [];
  for (let hop = 0; hop < 1024; hop++) {
    const next = await fetchTrust(opts.server, trust.version + 1, timeoutMs);
    if (!next) break;
    try {
      trust = openRotation(next, sha256Hex(next), trust, parseTrustPayload, now);
    } catch (e) {
      fail(`the server's trust v${trust.version + 1} does not chain to the out-of-band root: ${(e as Error).message}`);
    }
    rotations.push(next);
  }
  if (trustExpired(trust, now)) fail(`the newest trust root (v${trust.version}) has expired`);
  const deviceId = loadDeviceId(opts.stateDir);
  const { body } = await callJson<{ deviceId?: unknown; deviceToken?: unknown; userId?: unknown; tenant?: unknown; bundleId?: unknown }>('POST', endpoint(opts.server, 'v1/enroll'), {
    json: { enrollmentToken: opts.token, deviceId, deviceName: opts.deviceName ?? os.hostname(), host: os.hostname() },
    timeoutMs,
  });
  if (body.deviceId !== deviceId) fail(`the server enrolled device ${String(body.deviceId)}, not this device (${deviceId})`);
  if (typeof body.deviceToken !== 'string' || !body.deviceToken) fail('the server returned no device token');
  if (typeof body.userId !== 'string' || !body.userId) fail('the server returned no user id');
  if (body.tenant !== trust.tenant) fail(`the server enrolled this device for tenant ${JSON.stringify(body.tenant)}, but the trust root is for ${JSON.stringify(trust.tenant)}`);
  const managedDir = resolveManagedDir(opts.managedDir);
  if (!root.managed) await pinTrust(opts.stateDir, root.bytes, { reset: opts.resetTrust ?? false, now, managedDir });
  let stored = 0;
  if (rotations.length) {
    const r = await acceptTrustBytes(opts.stateDir, rotations, { managedDir, now, source: 'cli' });
    if (r.rejected) fail(`storing the trust rotations failed: ${r.rejected.code}: ${r.rejected.message}`);
    stored = r.accepted.length;
  }
  const bundleId = typeof body.bundleId === 'string' && body.bundleId ? body.bundleId : null;
  const enrollment: Enrollment = { schema: 1, server: opts.server, deviceId, userId: body.userId, tenant: trust.tenant, bundleId, deviceToken: body.deviceToken, enrolledAt: new Date(now).toISOString() };
  writeEnrollment(opts.stateDir, enrollment);
  const cfg = readClientConfig(opts.stateDir, null);
  cfg.server = opts.server;
  if (bundleId) cfg.bundleId = bundleId;
  writeClientConfig(opts.stateDir, cfg);
  return { enrollment, trust: { tenant: trust.tenant, version: trust.version, anchorSha256: sha256Hex(root.bytes), managed: root.managed, rotationsStored: stored } };
}
