/**
 * Exception grants on the device: fetched from the server (`GET /v1/grants`, device token), verified, kept
 * in the state directory, and read by the hook before each decision.
 *
 *   <stateDir>/grants/list.json    the last grant list, bytes as received: {schema, type: "grant-list", tenant,
 *                                  deviceId, userId, issuedAt, expiresAt, grants: [DSSE envelope…]}
 *   <stateDir>/grants/state.json   {maxSeenTime}: the latest trusted time seen (clock-rollback guard)
 *
 * Each grant is a DSSE envelope signed by a key with the `exception` role of the pinned trust chain; a grant
 * signed by any other role (policy, receipt, root) or an unknown or revoked key is dropped. A newer list
 * replaces the old one whole, so a revoked grant disappears at the next sync; offline, a grant stops
 * working at its own expiresAt or at the list's expiresAt (≤ 24 h), whichever comes first.
 *
 * `activeGrants` is on the hook's path: no zod (the trust chain is opened with the lean parser), small
 * files only, and at most one tiny write a minute (the clock floor).
 */
import * as path from 'node:path';
import { envelopePayload, parseEnvelope, parseJsonBytes, PAYLOAD_TYPES, type Envelope } from '../core/bundle/envelope';
import { leanTrustParser, verifyWithTrust, type Trust } from '../core/bundle/trust';
import { validateGrantDoc, type Grant } from '../core/exceptions/grant';
import { guardedNow, type ExceptionContext, type GrantIdentity } from '../core/exceptions/match';
import type { HookInput } from '../core/types';
import { readDeviceId } from './audit/device';
import { readIfExists, readStore, resolveManagedDir, writeFileAtomic } from './bundleStore';
import { readEnrollment } from './enrollment';
import { endpoint, replyError, replyJson, request } from './forwardHttp';
import { loadTrustChain } from './trustStore';

export const GRANT_LIST_TYPE = 'grant-list';
const CLOCK_WRITE_EVERY_MS = 60_000;

export function grantsDir(stateDir: string): string {
  return path.join(stateDir, 'grants');
}
const listFile = (stateDir: string) => path.join(grantsDir(stateDir), 'list.json');
const stateFile = (stateDir: string) => path.join(grantsDir(stateDir), 'state.json');

export interface GrantListDoc {
  schema: 1;
  type: 'grant-list';
  tenant: string;
  deviceId: string;
  userId: string;
  issuedAt: string;
  expiresAt: string;
  grants: Envelope[];
}

export interface RejectedGrant {
  index: number;
  grantId?: string;
  reason: string;
}

export interface VerifiedList {
  list: GrantListDoc;
  grants: Grant[];
  rejected: RejectedGrant[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ListEntry {
  index: number;
  env?: Envelope;
  /** The payload, validated but NOT yet signature-checked. */
  doc?: Grant;
  error?: string;
}

/** Parse a grant list: each entry's envelope and payload, validated, signatures not checked yet. */
export function readGrantList(bytes: Buffer): { list: GrantListDoc; entries: ListEntry[] } {
  let v: unknown;
  try {
    v = parseJsonBytes(bytes);
  } catch (e) {
    throw new Error(`the grant list is not JSON: ${(e as Error).message}`);
  }
  if (!isObj(v) || v.schema !== 1 || v.type !== GRANT_LIST_TYPE || !Array.isArray(v.grants)) throw new Error('not a grant list (schema 1)');
  for (const k of ['tenant', 'deviceId', 'userId', 'issuedAt', 'expiresAt']) if (typeof v[k] !== 'string') throw new Error(`the grant list has no ${k}`);
  if (!Number.isFinite(Date.parse(v.issuedAt as string)) || !Number.isFinite(Date.parse(v.expiresAt as string))) throw new Error('the grant list times are not valid');
  if (v.grants.length > 1000) throw new Error('the grant list holds more than 1000 grants');
  const entries: ListEntry[] = v.grants.map((raw: unknown, index: number): ListEntry => {
    try {
      const env = parseEnvelope(Buffer.from(JSON.stringify(raw)));
      if (env.payloadType !== PAYLOAD_TYPES.grant) return { index, env, error: `not an exception grant (${env.payloadType})` };
      return { index, env, doc: validateGrantDoc(parseJsonBytes(envelopePayload(env)!)) };
    } catch (e) {
      return { index, error: (e as Error).message };
    }
  });
  return { list: v as unknown as GrantListDoc, entries };
}

/** Check one entry's signature under `trust` (role `exception`, its threshold) and its tenant. Throws. */
function verifyEntry(e: ListEntry, trust: Trust, now: number | null): Grant {
  if (!e.env || !e.doc) throw new Error(e.error ?? 'unreadable grant');
  verifyWithTrust(e.env, PAYLOAD_TYPES.grant, trust, now);
  if (e.doc.tenant !== trust.tenant) throw new Error(`grant for tenant ${e.doc.tenant}, trust is for ${trust.tenant}`);
  return e.doc;
}

/** Parse a grant list and verify every grant in it under `trust` (role `exception`). Throws on a malformed list. */
export function verifyGrantList(bytes: Buffer, trust: Trust, now: number | null): VerifiedList {
  const { list, entries } = readGrantList(bytes);
  const grants: Grant[] = [];
  const rejected: RejectedGrant[] = [];
  for (const e of entries) {
    try {
      grants.push(verifyEntry(e, trust, now));
    } catch (err) {
      rejected.push({ index: e.index, ...(e.doc ? { grantId: e.doc.grantId } : {}), reason: (err as Error).message });
    }
  }
  return { list, grants, rejected };
}

function readMaxSeen(stateDir: string): number {
  const b = readIfExists(stateFile(stateDir));
  if (!b) return 0;
  try {
    const t = Date.parse((JSON.parse(b.toString('utf8')) as { maxSeenTime?: string }).maxSeenTime ?? '');
    return Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

function writeMaxSeen(stateDir: string, t: number): void {
  writeFileAtomic(stateFile(stateDir), JSON.stringify({ maxSeenTime: new Date(t).toISOString() }) + '\n', 0o600);
}

/** The latest trusted time this machine has seen: bundle store (signed times, server Date) and the grants' own floor. */
export function maxSeenTime(stateDir: string): number {
  let bundles = 0;
  try {
    bundles = readStore(stateDir).state.maxSeenTime;
  } catch {
    bundles = 0;
  }
  return Math.max(bundles, readMaxSeen(stateDir));
}

export interface ActiveGrants {
  /**
   * Grants that may apply now: for this user and device, inside their window and the list's. Their
   * signatures are checked on first use, by `contextFor`, for the grants of the call's tool only: a call
   * no grant could cover costs no signature check at all.
   */
  candidates: Grant[];
  /** Grants verified so far (by contextFor). */
  grants: Grant[];
  /** Who this machine is (null when it is not enrolled: then no grant applies). */
  identity: GrantIdentity | null;
  /** max(clock, max time seen): the time the grants were judged at. */
  now: number;
  maxSeenTime: number;
  /** Grants in the list that did not verify or do not apply here, and why. */
  rejected: RejectedGrant[];
  /** Why nothing applies at all, if so (not enrolled, no list, list expired, no trust). */
  problem?: string;
  /**
   * The evaluator's exception context for one call: the candidates for its tool, signature-checked
   * under the trust chain (undefined when none is left).
   */
  contextFor(input: HookInput): ExceptionContext | undefined;
}

export interface ActiveGrantsOptions {
  managedDir?: string | null;
  /** The current trust, when the caller already opened the chain (the hook does for the bundle). */
  trust?: Trust;
  /** Record `now` as a clock floor (at most one small write a minute). Default true. */
  recordClock?: boolean;
  caseInsensitive?: boolean;
}

/**
 * The grants the hook may use at `now` (ms). Never throws for missing or bad files: it returns no grants
 * and says why in `problem` (the hook then decides without exceptions, which is the safe side).
 */
export function activeGrants(stateDir: string, now: number, opts: ActiveGrantsOptions = {}): ActiveGrants {
  const seen = maxSeenTime(stateDir);
  const at = guardedNow({ now, maxSeenTime: seen });
  const out: ActiveGrants = { candidates: [], grants: [], identity: null, now: at, maxSeenTime: seen, rejected: [], contextFor: () => undefined };
  if (opts.recordClock !== false && now > seen + CLOCK_WRITE_EVERY_MS) {
    try {
      writeMaxSeen(stateDir, now);
    } catch {
      /* a read-only state dir only weakens the clock guard */
    }
  }
  let enrollment;
  let deviceId: string | null;
  try {
    enrollment = readEnrollment(stateDir);
    deviceId = readDeviceId(stateDir);
  } catch (e) {
    out.problem = (e as Error).message;
    return out;
  }
  if (!enrollment || !deviceId) {
    out.problem = 'this device is not enrolled';
    return out;
  }
  if (enrollment.deviceId !== deviceId) {
    out.problem = `enrollment.json is for device ${enrollment.deviceId}, but this state directory is device ${deviceId}`;
    return out;
  }
  const bytes = readIfExists(listFile(stateDir));
  if (!bytes) {
    out.problem = 'no grant list has been fetched';
    return out;
  }
  let parsed;
  try {
    parsed = readGrantList(bytes);
  } catch (e) {
    out.problem = (e as Error).message;
    return out;
  }
  if (Date.parse(parsed.list.expiresAt) <= at) {
    out.problem = `the grant list expired at ${parsed.list.expiresAt}; sync to renew it`;
    return out;
  }
  const identity: GrantIdentity = { userId: enrollment.userId, deviceId, tenant: enrollment.tenant };
  out.identity = identity;
  const entryOf = new Map<Grant, ListEntry>();
  for (const e of parsed.entries) {
    const g = e.doc;
    if (!g) {
      out.rejected.push({ index: e.index, reason: e.error ?? 'unreadable grant' });
      continue;
    }
    const why =
      g.userId !== identity.userId ? `for user ${g.userId}` : g.deviceId !== identity.deviceId ? `for device ${g.deviceId}` : g.tenant !== identity.tenant ? `for tenant ${g.tenant}` : at < g.notBeforeMs ? `not valid before ${g.notBefore}` : at >= g.expiresAtMs ? `expired at ${g.expiresAt}` : null;
    if (why) out.rejected.push({ index: e.index, grantId: g.grantId, reason: why });
    else {
      out.candidates.push(g);
      entryOf.set(g, e);
    }
  }
  if (!out.candidates.length) return out;
  let trust = opts.trust;
  const checked = new Map<Grant, boolean>();
  out.contextFor = (input) => {
    const tool = typeof input.tool_name === 'string' ? input.tool_name : '';
    const mine = out.candidates.filter((g) => g.tool === tool);
    if (!mine.length) return undefined;
    try {
      trust ??= loadTrustChain(stateDir, { managedDir: resolveManagedDir(opts.managedDir), parse: leanTrustParser }).current;
    } catch (e) {
      out.problem = `no usable trust root: ${(e as Error).message}`;
      return undefined;
    }
    const verified: Grant[] = [];
    for (const g of mine) {
      let ok = checked.get(g);
      if (ok === undefined) {
        try {
          verifyEntry(entryOf.get(g)!, trust, null);
          ok = true;
          out.grants.push(g);
        } catch (e) {
          ok = false;
          out.rejected.push({ index: entryOf.get(g)!.index, grantId: g.grantId, reason: (e as Error).message });
        }
        checked.set(g, ok);
      }
      if (ok) verified.push(g);
    }
    if (!verified.length) return undefined;
    return { grants: verified, identity, now, maxSeenTime: seen, input, ...(opts.caseInsensitive !== undefined ? { caseInsensitive: opts.caseInsensitive } : {}) };
  };
  return out;
}

export interface GrantSyncResult {
  /** Grants in the new list that verified. */
  grants: Grant[];
  rejected: RejectedGrant[];
  listExpiresAt: string;
}

/**
 * Fetch the grant list (`GET <server>/v1/grants`, device token from enrollment.json unless given), verify it
 * and store it in place of the previous one. A list for another device or tenant is refused whole; grants
 * inside a good list that fail verification are reported here and ignored by activeGrants.
 */
export async function syncGrants(stateDir: string, opts: { server?: string; token?: string; managedDir?: string | null; now?: number; timeoutMs?: number } = {}): Promise<GrantSyncResult> {
  const enrollment = readEnrollment(stateDir);
  const server = opts.server ?? enrollment?.server;
  const token = opts.token ?? enrollment?.deviceToken;
  if (!server || !token) throw new Error('this device is not enrolled (no server or device token); run `warden enroll`');
  const r = await request('GET', endpoint(server, 'v1/grants'), { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeoutMs: opts.timeoutMs ?? 30_000, maxBytes: 4 * 1024 * 1024 });
  if (r.status !== 200) throw new Error(`GET /v1/grants: ${replyError(r)}`);
  if (!replyJson(r)) throw new Error('GET /v1/grants: the reply is not JSON');
  const trust = loadTrustChain(stateDir, { managedDir: resolveManagedDir(opts.managedDir), parse: leanTrustParser }).current;
  const v = verifyGrantList(r.body, trust, opts.now ?? Date.now());
  const deviceId = readDeviceId(stateDir);
  if (v.list.deviceId !== deviceId) throw new Error(`the grant list is for device ${v.list.deviceId}, this is ${deviceId}`);
  if (v.list.tenant !== trust.tenant) throw new Error(`the grant list is for tenant ${v.list.tenant}, trust is for ${trust.tenant}`);
  writeFileAtomic(listFile(stateDir), r.body, 0o600);
  const serverTime = Date.parse(String(r.headers.date ?? ''));
  const seen = Math.max(readMaxSeen(stateDir), Number.isFinite(serverTime) ? serverTime : 0, Date.parse(v.list.issuedAt) || 0);
  if (seen > 0) writeMaxSeen(stateDir, seen);
  return { grants: v.grants, rejected: v.rejected, listExpiresAt: v.list.expiresAt };
}
