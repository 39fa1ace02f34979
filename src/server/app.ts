/**
 * The central server (`warden server`): fastify 5 over SQLite (default) or PostgreSQL.
 *
 *   GET  /healthz                                   liveness + database ping
 *   POST /v1/enroll                                 one-time enrolment token → device id + device token
 *   GET  /v1/trust/latest.json, /v1/trust/<n>.json  the trust chain (signed documents; public)
 *   GET  /v1/bundles/<id>                           latest signed bundle; ETag, If-None-Match → 304, Prefer: wait=N
 *   GET  /v1/bundles/<id>/versions/<n>              bundle history
 *   POST /v1/audit/events                           gzip NDJSON batch ingest (device token; exactly once per event)
 *   POST /v1/audit/skip                             a device skips events it cannot deliver (alert)
 *   GET  /v1/audit/events, /v1/audit/alerts         query (admin/auditor), cursor paging
 *   POST /v1/status                                 device heartbeat
 *   POST /v1/exceptions, GET /v1/exceptions[/<id>]  exception requests (device: own; approver/admin: all)
 *   POST /v1/exceptions/<id>/approve|deny|revoke|cancel
 *   GET  /v1/grants                                 the device's active signed grants
 *   POST /v1/admin/tokens                           admin/approver/auditor tokens (admin)
 *   GET  /v1/admin/tokens, POST /v1/admin/tokens/revoke   list them; revoke a principal's or one by id
 *   POST /v1/admin/enrollment-tokens                one-time enrolment tokens (admin)
 *   GET  /v1/admin/devices, POST /v1/admin/devices/<id>/revoke
 *   PUT  /v1/admin/bundles/<id>                     publish a pre-signed bundle (verified, anti-rollback)
 *   PUT  /v1/admin/trust                            publish the next trust rotation
 *
 * Tokens are random bearer strings; only their sha256 is stored. Admin tokens (principal + roles) and
 * device tokens are separate tables and never interchangeable.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { acceptBundle } from '../core/bundle/accept';
import { envelopePayload, parseEnvelope, parseJsonBytes, type Signer } from '../core/bundle/envelope';
import { BundleError } from '../core/bundle/errors';
import { openDb, type Db, type Queryable } from './db';
import { Exceptions, parseRequest, rulesOf } from './exceptions';
import { bodyDigest, parseBatch, parseSkip, skipSeqs, storeBatch, type IngestContext } from './ingest';
import { OtlpExporter, type OtlpConfig } from './otlp';
import { TrustState } from './trust';
import { bearer, DEVICE_ID_RE, httpError, HttpError, isObj, newToken, parseDurationMs, parseTime, str, tokenHash, USER_ID_RE } from './util';

declare const __AW_VERSION__: string;
const VERSION = typeof __AW_VERSION__ === 'string' ? __AW_VERSION__ : 'dev';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.agentwarden.bundle+json';
export const ROLES = ['admin', 'approver', 'auditor'] as const;
export type AdminRole = (typeof ROLES)[number];

export interface ServerLimits {
  /** Audit batch body cap, bytes after decompression (413 above). */
  maxBatchBytes: number;
  /** One event line (422 above: poison). */
  maxEventBytes: number;
  maxBatchEvents: number;
  /** Concurrent ingest requests before 503 + Retry-After. */
  maxInflightIngest: number;
  /** Concurrent ingest requests of one device before 429 + Retry-After (the forwarder keeps one). */
  maxInflightPerDevice: number;
  longPollMaxSec: number;
  requestTtlMs: number;
  approvalsRequired: number;
  minJustification: number;
  grantListTtlMs: number;
  enrollmentTokenTtlMs: number;
  idempotencyTtlMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBatchBytes: 20 * 1024 * 1024,
  maxEventBytes: 256 * 1024,
  maxBatchEvents: 10_000,
  maxInflightIngest: 16,
  maxInflightPerDevice: 1,
  longPollMaxSec: 60,
  requestTtlMs: 4 * 3600_000,
  approvalsRequired: 1,
  minJustification: 15,
  grantListTtlMs: 24 * 3600_000,
  enrollmentTokenTtlMs: 7 * 86_400_000,
  idempotencyTtlMs: 24 * 3600_000,
};

export interface ServerOptions {
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://…`, or an open database. */
  db: string | Db;
  /** Bootstrap admin token (principal `bootstrap-admin`, role admin). */
  adminToken?: string;
  /** The trust root (envelope bytes), delivered out of band. Needed for bundles, grants and receipts. */
  trustRoot?: Buffer;
  /** Signs exception grants; must be an `exception` key of the trust. */
  exceptionKey?: Signer;
  /** Signs audit receipts; must be a `receipt` key of the trust. */
  receiptKey?: Signer;
  /** Bundle id for devices whose enrolment token names none. */
  defaultBundleId?: string;
  otlp?: OtlpConfig;
  limits?: Partial<ServerLimits>;
  /** pino options, or false for no logs (tests). Default: info to stdout. */
  logger?: boolean | Record<string, unknown>;
  clock?: () => number;
}

export interface WardenServer {
  app: FastifyInstance;
  db: Db;
  trust: TrustState;
  exporter?: OtlpExporter;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

interface Principal {
  principal: string;
  roles: AdminRole[];
}

interface DeviceRow {
  id: string;
  tenant: string;
  user_id: string;
  bundle_id: string | null;
  revoked_at: number | null;
}

/** Check that a signer's key is listed in the trust with the role it will sign for. */
function checkSignerRole(trust: TrustState, signer: Signer | undefined, role: 'exception' | 'receipt'): void {
  if (!signer || !trust.configured) return;
  const k = trust.current().keys.get(signer.keyid);
  if (!k || k.revoked || !k.roles.includes(role)) {
    throw new Error(`the ${role} key ${signer.keyid.slice(0, 16)}… is not an unrevoked ${role} key of trust v${trust.current().version}: devices would reject what it signs`);
  }
}

export async function createServer(opts: ServerOptions): Promise<WardenServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const clock = opts.clock ?? Date.now;
  const db = typeof opts.db === 'string' ? await openDb(opts.db) : opts.db;
  const trust = await TrustState.load(db, opts.trustRoot, clock());
  checkSignerRole(trust, opts.exceptionKey, 'exception');
  checkSignerRole(trust, opts.receiptKey, 'receipt');
  const tenant = (): string => trust.tenant ?? 'default';
  const exceptions = new Exceptions(db, { requestTtlMs: limits.requestTtlMs, approvalsRequired: limits.approvalsRequired, minJustification: limits.minJustification, ...(opts.exceptionKey ? { exceptionKey: opts.exceptionKey } : {}) }, clock);
  const bundleEvents = new EventEmitter();
  bundleEvents.setMaxListeners(0);
  const exceptionEvents = new EventEmitter();
  exceptionEvents.setMaxListeners(0);

  const logger = opts.logger === false ? false : opts.logger === true || opts.logger === undefined ? { level: 'info' } : opts.logger;
  const app = Fastify({
    logger,
    bodyLimit: 1024 * 1024,
    // The client's own deadlines decide; a long-poll may hold a request up to longPollMaxSec.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 5000,
    routerOptions: { maxParamLength: 512 },
  });

  const adminHash = opts.adminToken ? tokenHash(opts.adminToken) : undefined;

  async function alert(q: Queryable, deviceId: string | null, kind: string, detail: string, seq: number | null = null, expectedSeq: number | null = null): Promise<void> {
    await q.run('INSERT INTO audit_alerts (device_id, kind, seq, expected_seq, detail, at) VALUES (?, ?, ?, ?, ?, ?)', [deviceId, kind, seq, expectedSeq, detail.slice(0, 4000), clock()]);
    app.log.warn({ deviceId, kind, seq, expectedSeq }, `audit alert: ${detail.slice(0, 300)}`);
  }

  async function admin(req: FastifyRequest, ...roles: AdminRole[]): Promise<Principal> {
    const token = bearer(req.headers.authorization);
    if (!token) throw httpError(401, 'unauthorized', 'an admin bearer token is required', {}, { 'www-authenticate': 'Bearer' });
    const h = tokenHash(token);
    let p: Principal | undefined;
    if (adminHash && h === adminHash) p = { principal: 'bootstrap-admin', roles: ['admin'] };
    else {
      const row = await db.get<{ principal: string; roles: string; revoked_at: number | null }>('SELECT principal, roles, revoked_at FROM admin_tokens WHERE token_hash = ?', [h]);
      if (row && row.revoked_at === null) p = { principal: row.principal, roles: JSON.parse(row.roles) as AdminRole[] };
    }
    if (!p) throw httpError(401, 'unauthorized', 'unknown or revoked admin token', {}, { 'www-authenticate': 'Bearer' });
    if (roles.length && !roles.some((r) => p!.roles.includes(r))) throw httpError(403, 'forbidden', `${p.principal} needs one of the roles ${roles.join(', ')}`);
    return p;
  }

  async function device(req: FastifyRequest): Promise<DeviceRow> {
    const token = bearer(req.headers.authorization);
    if (!token) throw httpError(401, 'unauthorized', 'a device bearer token is required', {}, { 'www-authenticate': 'Bearer' });
    const row = await db.get<DeviceRow>('SELECT id, tenant, user_id, bundle_id, revoked_at FROM devices WHERE token_hash = ?', [tokenHash(token)]);
    if (!row || row.revoked_at !== null) throw httpError(401, 'unauthorized', 'unknown or revoked device token; enrol again', {}, { 'www-authenticate': 'Bearer' });
    return row;
  }

  /** Either an admin token with one of `roles`, or a device token. */
  async function adminOrDevice(req: FastifyRequest, ...roles: AdminRole[]): Promise<{ admin?: Principal; device?: DeviceRow }> {
    const token = bearer(req.headers.authorization);
    if (token?.startsWith('awd_')) return { device: await device(req) };
    return { admin: await admin(req, ...roles) };
  }

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not-found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      if (err.status >= 500) req.log.error({ code: err.code }, err.message);
      return reply.code(err.status).send({ error: err.code, message: err.message, ...err.extra });
    }
    const status = err.statusCode ?? 500;
    if (status === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'too-large', message: `the request body is over the limit (${err.message})` });
    if (status >= 400 && status < 500) return reply.code(status).send({ error: 'bad-request', message: err.message });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal server error' });
  });

  // ------------------------------------------------------------------------------------------------------
  // health

  app.get('/healthz', async () => {
    await db.get('SELECT 1 AS ok');
    return { ok: true, version: VERSION, db: db.dialect, trust: trust.configured ? { tenant: trust.current().tenant, version: trust.current().version } : null };
  });

  // ------------------------------------------------------------------------------------------------------
  // enrolment and admin tokens

  app.post('/v1/admin/tokens', async (req, reply) => {
    const p = await admin(req, 'admin');
    const b = isObj(req.body) ? req.body : {};
    const principal = str(b.principal, 'principal', { max: 128 })!;
    if (!USER_ID_RE.test(principal)) throw httpError(400, 'bad-request', 'principal must be a user id (letters, digits, . _ @ + -)');
    const roles = b.roles;
    if (!Array.isArray(roles) || !roles.length || !roles.every((r) => (ROLES as readonly string[]).includes(r as string))) throw httpError(400, 'bad-request', `roles must be a non-empty list of ${ROLES.join(', ')}`);
    const token = newToken('admin');
    await db.run('INSERT INTO admin_tokens (token_hash, principal, roles, created_by, created_at) VALUES (?, ?, ?, ?, ?)', [tokenHash(token), principal, JSON.stringify([...new Set(roles)]), p.principal, clock()]);
    return reply.code(201).send({ token, principal, roles: [...new Set(roles)] });
  });

  app.get('/v1/admin/tokens', async (req) => {
    await admin(req, 'admin');
    const rows = await db.all<{ token_hash: string; principal: string; roles: string; created_by: string; created_at: number; revoked_at: number | null }>(
      'SELECT token_hash, principal, roles, created_by, created_at, revoked_at FROM admin_tokens ORDER BY created_at, token_hash',
    );
    return {
      tokens: rows.map((r) => ({
        id: r.token_hash.slice(0, 12),
        principal: r.principal,
        roles: JSON.parse(r.roles) as string[],
        createdBy: r.created_by,
        createdAt: new Date(Number(r.created_at)).toISOString(),
        revokedAt: r.revoked_at === null ? null : new Date(Number(r.revoked_at)).toISOString(),
      })),
    };
  });

  /** Revoke admin/approver/auditor tokens: every active token of a principal, or the one whose id is given. */
  app.post('/v1/admin/tokens/revoke', async (req) => {
    const p = await admin(req, 'admin');
    const b = isObj(req.body) ? req.body : {};
    const principal = str(b.principal, 'principal', { max: 128, optional: true });
    const id = str(b.id, 'id', { max: 64, optional: true });
    if (!principal === !id) throw httpError(400, 'bad-request', 'give exactly one of principal or id (the 12-character id GET /v1/admin/tokens lists)');
    if (id && !/^[0-9a-f]{12}$/.test(id)) throw httpError(400, 'bad-request', 'id must be the 12 hex characters GET /v1/admin/tokens lists');
    const active = await db.all<{ token_hash: string; principal: string }>('SELECT token_hash, principal FROM admin_tokens WHERE revoked_at IS NULL');
    const hit = active.filter((r) => (principal ? r.principal === principal : r.token_hash.startsWith(id!)));
    if (id && hit.length > 1) throw httpError(409, 'ambiguous', `more than one token starts with ${id}`);
    const now = clock();
    for (const r of hit) await db.run('UPDATE admin_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL', [now, r.token_hash]);
    req.log.info({ by: p.principal, principal, id, revoked: hit.length }, 'admin tokens revoked');
    return { revoked: hit.length, tokens: hit.map((r) => ({ id: r.token_hash.slice(0, 12), principal: r.principal })) };
  });

  app.post('/v1/admin/enrollment-tokens', async (req, reply) => {
    const p = await admin(req, 'admin');
    const b = isObj(req.body) ? req.body : {};
    const userId = str(b.userId, 'userId', { max: 128 })!;
    if (!USER_ID_RE.test(userId)) throw httpError(400, 'bad-request', 'userId must be a user id (letters, digits, . _ @ + -)');
    const bundleId = str(b.bundleId, 'bundleId', { max: 200, optional: true }) ?? opts.defaultBundleId ?? null;
    const deviceId = str(b.deviceId, 'deviceId', { max: 128, optional: true }) ?? null;
    if (deviceId && !DEVICE_ID_RE.test(deviceId)) throw httpError(400, 'bad-request', 'deviceId is not a device id');
    const ttl = b.ttl === undefined ? limits.enrollmentTokenTtlMs : parseDurationMs(b.ttl);
    if (ttl === undefined || ttl > 90 * 86_400_000) throw httpError(400, 'bad-request', 'ttl must be a duration up to 90d');
    const token = newToken('enrollment');
    const now = clock();
    await db.run('INSERT INTO enrollment_tokens (token_hash, user_id, bundle_id, device_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [tokenHash(token), userId, bundleId, deviceId, p.principal, now, now + ttl]);
    return reply.code(201).send({ token, userId, bundleId, deviceId, expiresAt: new Date(now + ttl).toISOString() });
  });

  app.post('/v1/enroll', async (req, reply) => {
    const b = isObj(req.body) ? req.body : {};
    const enrollmentToken = str(b.enrollmentToken, 'enrollmentToken', { max: 200 })!;
    const deviceId = str(b.deviceId, 'deviceId', { max: 128 })!;
    if (!DEVICE_ID_RE.test(deviceId)) throw httpError(400, 'bad-request', 'deviceId is not a device id');
    const name = str(b.deviceName, 'deviceName', { max: 256, optional: true }) ?? null;
    const host = str(b.host, 'host', { max: 256, optional: true }) ?? null;
    const now = clock();
    const deviceToken = newToken('device');
    const result = await db.tx(async (q) => {
      const h = tokenHash(enrollmentToken);
      const t = await q.get<{ user_id: string; bundle_id: string | null; device_id: string | null; expires_at: number; used_at: number | null }>(`SELECT user_id, bundle_id, device_id, expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?${db.forUpdate}`, [h]);
      if (!t) throw httpError(401, 'bad-enrollment-token', 'unknown enrolment token');
      if (t.used_at !== null) throw httpError(401, 'bad-enrollment-token', 'this enrolment token was already used');
      if (Number(t.expires_at) <= now) throw httpError(401, 'bad-enrollment-token', 'this enrolment token has expired');
      if (t.device_id && t.device_id !== deviceId) throw httpError(403, 'wrong-device', `this enrolment token is for device ${t.device_id}`);
      const existing = await q.get<{ user_id: string; revoked_at: number | null }>(`SELECT user_id, revoked_at FROM devices WHERE id = ?${db.forUpdate}`, [deviceId]);
      if (existing && existing.revoked_at === null && t.device_id !== deviceId) {
        throw httpError(409, 'device-exists', `device ${deviceId} is already enrolled; an administrator must revoke it or issue a re-enrolment token for it (--device-id)`);
      }
      const used = await q.run('UPDATE enrollment_tokens SET used_at = ?, used_by_device = ? WHERE token_hash = ? AND used_at IS NULL', [now, deviceId, h]);
      if (used.changes !== 1) throw httpError(401, 'bad-enrollment-token', 'this enrolment token was already used');
      if (existing) {
        // Re-enrolment keeps the audit chain position: the device continues its spool.
        await q.run('UPDATE devices SET token_hash = ?, user_id = ?, bundle_id = ?, name = ?, host = ?, revoked_at = NULL, enrolled_at = ? WHERE id = ?', [tokenHash(deviceToken), t.user_id, t.bundle_id, name, host, now, deviceId]);
      } else {
        await q.run('INSERT INTO devices (id, tenant, user_id, name, host, bundle_id, token_hash, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [deviceId, tenant(), t.user_id, name, host, t.bundle_id, tokenHash(deviceToken), now]);
      }
      return { userId: t.user_id, bundleId: t.bundle_id };
    });
    req.log.info({ deviceId, userId: result.userId }, 'device enrolled');
    return reply.code(201).send({ deviceId, deviceToken, userId: result.userId, tenant: tenant(), bundleId: result.bundleId, trustVersion: trust.configured ? trust.current().version : null });
  });

  app.get('/v1/admin/devices', async (req) => {
    await admin(req, 'admin', 'auditor');
    const rows = await db.all<Record<string, unknown>>('SELECT id, tenant, user_id, name, host, bundle_id, enrolled_at, revoked_at, last_seen, status, acked_seq, last_hash, events FROM devices ORDER BY enrolled_at');
    return {
      devices: rows.map((r) => ({
        id: r.id,
        tenant: r.tenant,
        userId: r.user_id,
        name: r.name,
        host: r.host,
        bundleId: r.bundle_id,
        enrolledAt: new Date(Number(r.enrolled_at)).toISOString(),
        revokedAt: r.revoked_at === null ? null : new Date(Number(r.revoked_at)).toISOString(),
        lastSeen: r.last_seen === null ? null : new Date(Number(r.last_seen)).toISOString(),
        ackedSeq: Number(r.acked_seq),
        lastHash: r.last_hash,
        events: Number(r.events),
        status: typeof r.status === 'string' ? (JSON.parse(r.status) as unknown) : null,
      })),
    };
  });

  app.post<{ Params: { deviceId: string } }>('/v1/admin/devices/:deviceId/revoke', async (req) => {
    await admin(req, 'admin');
    const r = await db.run('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [clock(), req.params.deviceId]);
    if (!r.changes) throw httpError(404, 'not-found', `no enrolled device ${req.params.deviceId}`);
    return { revoked: req.params.deviceId };
  });

  // ------------------------------------------------------------------------------------------------------
  // trust and bundles

  app.get<{ Params: { file: string } }>('/v1/trust/:file', async (req, reply) => {
    const m = /^(latest|[1-9][0-9]{0,15})\.json$/.exec(req.params.file);
    if (!m) throw httpError(404, 'not-found', 'no such trust document');
    const bytes = trust.envelope(m[1] === 'latest' ? 'latest' : Number(m[1]));
    if (!bytes) throw httpError(404, 'not-found', `no trust ${m[1]}`);
    reply.header('content-type', 'application/json').header('cache-control', m[1] === 'latest' ? 'no-cache' : 'public, max-age=31536000, immutable');
    return reply.send(bytes);
  });

  async function latestBundle(bundleId: string): Promise<{ epoch: number; version: number; sha256: string; envelope: string } | undefined> {
    return db.get('SELECT epoch, version, sha256, envelope FROM bundles WHERE bundle_id = ? ORDER BY epoch DESC, version DESC LIMIT 1', [bundleId]);
  }

  const etagOf = (sha: string) => `"sha256:${sha}"`;
  const matches = (inm: string | undefined, etag: string): boolean => !!inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');

  app.get<{ Params: { bundleId: string } }>('/v1/bundles/:bundleId', async (req, reply) => {
    const bundleId = req.params.bundleId;
    let row = await latestBundle(bundleId);
    if (!row) throw httpError(404, 'not-found', `no bundle published under ${bundleId}`);
    const inm = req.headers['if-none-match'];
    let etag = etagOf(row.sha256);
    if (matches(inm, etag)) {
      const pref = /(?:^|[,;\s])wait\s*=\s*(\d+)/i.exec(String(req.headers.prefer ?? ''));
      const wait = pref ? Math.min(Number(pref[1]), limits.longPollMaxSec) : 0;
      if (wait > 0) {
        const changed = await new Promise<boolean>((resolve) => {
          let done = false;
          const finish = (v: boolean) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            clearInterval(poll);
            bundleEvents.off(bundleId, onPublish);
            reply.raw.off('close', onClose);
            resolve(v);
          };
          const onPublish = () => finish(true);
          const onClose = () => finish(false);
          const timer = setTimeout(() => finish(false), wait * 1000);
          // Another server process (PostgreSQL deployments) may publish: look at the table too.
          const poll = setInterval(() => {
            latestBundle(bundleId).then((r) => r && r.sha256 !== row!.sha256 && finish(true), () => undefined);
          }, 2000);
          bundleEvents.on(bundleId, onPublish);
          // The response's close: the client went away (the request's own close fires once its body is read).
          reply.raw.on('close', onClose);
        });
        if (changed) {
          row = (await latestBundle(bundleId))!;
          etag = etagOf(row.sha256);
        }
      }
      if (matches(inm, etag)) return reply.code(304).header('etag', etag).header('cache-control', 'no-cache').send();
    }
    return reply.header('etag', etag).header('cache-control', 'no-cache').header('content-type', BUNDLE_MEDIA_TYPE).send(Buffer.from(row.envelope, 'utf8'));
  });

  app.get<{ Params: { bundleId: string; version: string } }>('/v1/bundles/:bundleId/versions/:version', async (req, reply) => {
    const v = Number(req.params.version);
    if (!Number.isSafeInteger(v) || v < 1) throw httpError(404, 'not-found', 'no such version');
    const row = await db.get<{ sha256: string; envelope: string }>('SELECT sha256, envelope FROM bundles WHERE bundle_id = ? AND version = ? ORDER BY epoch DESC LIMIT 1', [req.params.bundleId, v]);
    if (!row) throw httpError(404, 'not-found', `no version ${v} of ${req.params.bundleId}`);
    return reply.header('etag', etagOf(row.sha256)).header('cache-control', 'public, max-age=31536000, immutable').header('content-type', BUNDLE_MEDIA_TYPE).send(Buffer.from(row.envelope, 'utf8'));
  });

  // Publishing takes the exact bytes: every content type is read raw.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 2 * 1024 * 1024 }, (_req, body, done) => done(null, body));

    raw.put<{ Params: { bundleId: string } }>('/v1/admin/bundles/:bundleId', async (req, reply) => {
      const p = await admin(req, 'admin');
      const bytes = req.body as Buffer;
      if (!Buffer.isBuffer(bytes) || !bytes.length) throw httpError(400, 'bad-request', 'the body must be a signed bundle envelope');
      const bundleId = req.params.bundleId;
      const t = trust.current();
      const now = clock();
      const result = await db.tx(async (q) => {
        const floor = await q.get<{ epoch: number; version: number; sha256: string }>(`SELECT epoch, version, sha256 FROM bundles WHERE bundle_id = ? ORDER BY epoch DESC, version DESC LIMIT 1${db.forUpdate}`, [bundleId]);
        let acc;
        try {
          acc = acceptBundle(bytes, { trust: t, bundleId, now, clientVersion: '999999.0.0', ...(floor ? { floor: { epoch: Number(floor.epoch), version: Number(floor.version), sha256: floor.sha256 } } : {}) });
        } catch (e) {
          if (e instanceof BundleError) {
            const status = e.code === 'rollback' || e.code === 'equivocation' ? 409 : 422;
            throw httpError(status, e.code, e.message, floor ? { current: { epoch: Number(floor.epoch), version: Number(floor.version), sha256: floor.sha256 } } : {});
          }
          throw e;
        }
        if (acc.outcome === 'unchanged') return { outcome: 'unchanged' as const, doc: acc.doc, sha256: acc.sha256 };
        await q.run('INSERT INTO bundles (bundle_id, epoch, version, sha256, envelope, issued_at, expires_at, published_by, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [bundleId, acc.doc.epoch, acc.doc.version, acc.sha256, bytes.toString('utf8'), Date.parse(acc.doc.issuedAt), Date.parse(acc.doc.expiresAt), p.principal, now]);
        return { outcome: 'accepted' as const, doc: acc.doc, sha256: acc.sha256 };
      });
      if (result.outcome === 'accepted') {
        bundleEvents.emit(bundleId);
        req.log.info({ bundleId, epoch: result.doc.epoch, version: result.doc.version, by: p.principal }, 'bundle published');
      }
      return reply.code(result.outcome === 'accepted' ? 201 : 200).send({ outcome: result.outcome, bundleId, epoch: result.doc.epoch, version: result.doc.version, sha256: result.sha256, etag: etagOf(result.sha256) });
    });

    raw.put('/v1/admin/trust', async (req, reply) => {
      const p = await admin(req, 'admin');
      const bytes = req.body as Buffer;
      if (!Buffer.isBuffer(bytes) || !bytes.length) throw httpError(400, 'bad-request', 'the body must be a signed trust envelope');
      const next = await trust.rotate(bytes, p.principal, clock());
      return reply.code(201).send({ tenant: next.tenant, version: next.version, epoch: next.epoch, sha256: next.sha256 });
    });
  });

  // ------------------------------------------------------------------------------------------------------
  // audit ingest

  let inflight = 0;
  const perDevice = new Map<string, number>();

  await app.register(async (ingest) => {
    ingest.addContentTypeParser(['application/x-ndjson', 'application/jsonl', 'application/json-seq'], { parseAs: 'buffer', bodyLimit: limits.maxBatchBytes }, (_req, body, done) => done(null, body));
    ingest.addHook('preParsing', async (req, _reply, payload) => {
      const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
      if (enc === 'identity' || enc === '') return payload;
      if (enc !== 'gzip' && enc !== 'x-gzip') throw httpError(415, 'unsupported-encoding', `Content-Encoding ${enc} is not supported (gzip or identity)`);
      const gunzip = zlib.createGunzip();
      const out = gunzip as unknown as Readable & { receivedEncodedLength: number };
      out.receivedEncodedLength = 0;
      payload.on('data', (c: Buffer) => (out.receivedEncodedLength += c.length));
      payload.on('error', (e) => gunzip.destroy(e));
      gunzip.on('error', () => undefined);
      payload.pipe(gunzip);
      return out;
    });

    ingest.post('/v1/audit/events', async (req, reply) => {
      const dev = await device(req);
      if (inflight >= limits.maxInflightIngest) throw httpError(503, 'busy', 'the server is busy; retry later', {}, { 'retry-after': '1' });
      if ((perDevice.get(dev.id) ?? 0) >= limits.maxInflightPerDevice) throw httpError(429, 'too-many-requests', 'one batch at a time per device', {}, { 'retry-after': '1' });
      const body = req.body as Buffer;
      if (!Buffer.isBuffer(body)) throw httpError(415, 'unsupported-media-type', 'send Content-Type: application/x-ndjson');
      inflight++;
      perDevice.set(dev.id, (perDevice.get(dev.id) ?? 0) + 1);
      try {
        const lines = parseBatch(body, dev.id, limits, (index, seq, source) => {
          void alert(db, dev.id, 'foreign-device', `device ${dev.id} sent an event of ${source} (line ${index}, seq ${seq ?? '?'}); refused`, seq).catch(() => undefined);
        });
        const key = req.headers['idempotency-key'];
        const ctx: IngestContext = {
          db,
          deviceId: dev.id,
          tenant: dev.tenant,
          now: clock(),
          bodySha256: bodyDigest(body),
          ...(typeof key === 'string' && key ? { idempotencyKey: key.slice(0, 200) } : {}),
          ...(opts.receiptKey ? { receiptKey: opts.receiptKey } : {}),
          alert: (q, kind, detail, seq, expected) => alert(q, dev.id, kind, detail, seq ?? null, expected ?? null),
        };
        const r = await storeBatch(lines, ctx);
        if (r.accepted) exporter?.poke();
        return reply.send(r);
      } finally {
        inflight--;
        const n = (perDevice.get(dev.id) ?? 1) - 1;
        if (n <= 0) perDevice.delete(dev.id);
        else perDevice.set(dev.id, n);
      }
    });
  });

  app.post('/v1/audit/skip', async (req) => {
    const dev = await device(req);
    const s = parseSkip(req.body);
    return skipSeqs(s, {
      db,
      deviceId: dev.id,
      tenant: dev.tenant,
      now: clock(),
      bodySha256: '',
      alert: (q, kind, detail, seq, expected) => alert(q, dev.id, kind, detail, seq ?? null, expected ?? null),
    });
  });

  // ------------------------------------------------------------------------------------------------------
  // audit query

  const encodeCursor = (id: number) => Buffer.from(JSON.stringify({ id })).toString('base64url');
  const decodeCursor = (c: string): number => {
    try {
      const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { id?: unknown };
      if (Number.isSafeInteger(v.id) && (v.id as number) >= 0) return v.id as number;
    } catch {
      /* below */
    }
    throw httpError(400, 'bad-request', 'invalid cursor');
  };

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/audit/events', async (req) => {
    await admin(req, 'admin', 'auditor');
    const qs = req.query;
    const where: string[] = ['e.event_id IS NOT NULL'];
    const params: unknown[] = [];
    let join = '';
    if (qs.rule) {
      join = ' JOIN audit_event_rules r ON r.event_row = e.id AND r.rule_id = ?';
      params.push(qs.rule);
    }
    const eq = (col: string, v: string | undefined) => {
      if (v !== undefined && v !== '') {
        where.push(`${col} = ?`);
        params.push(v);
      }
    };
    eq('e.device_id', qs.device);
    eq('e.user_name', qs.user);
    eq('e.session_id', qs.session);
    eq('e.effect', qs.decision ?? qs.effect);
    eq('e.type', qs.type);
    eq('e.tool', qs.tool);
    for (const [k, op] of [['from', '>='], ['to', '<']] as const) {
      if (qs[k] !== undefined) {
        const t = parseTime(qs[k]);
        if (t === undefined) throw httpError(400, 'bad-request', `${k} must be an ISO time or epoch ms`);
        where.push(`e.time ${op} ?`);
        params.push(t);
      }
    }
    if (qs.cursor) {
      where.push('e.id > ?');
      params.push(decodeCursor(qs.cursor));
    }
    const limit = Math.max(1, Math.min(1000, Number(qs.limit ?? 100) || 100));
    const rows = await db.all<{ id: number; device_id: string; seq: number; received_at: number; body: string }>(`SELECT e.id, e.device_id, e.seq, e.received_at, e.body FROM audit_events e${join} WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT ?`, [...params, limit + 1]);
    const page = rows.slice(0, limit);
    return {
      events: page.map((r) => ({ deviceId: r.device_id, seq: Number(r.seq), receivedAt: new Date(Number(r.received_at)).toISOString(), event: JSON.parse(r.body) as unknown })),
      nextCursor: rows.length > limit ? encodeCursor(Number(page[page.length - 1]!.id)) : null,
    };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/audit/alerts', async (req) => {
    await admin(req, 'admin', 'auditor');
    const where: string[] = [];
    const params: unknown[] = [];
    if (req.query.device) (where.push('device_id = ?'), params.push(req.query.device));
    if (req.query.kind) (where.push('kind = ?'), params.push(req.query.kind));
    const rows = await db.all<{ id: number; device_id: string | null; kind: string; seq: number | null; expected_seq: number | null; detail: string; at: number }>(`SELECT id, device_id, kind, seq, expected_seq, detail, at FROM audit_alerts${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT 1000`, params);
    return { alerts: rows.map((r) => ({ id: Number(r.id), deviceId: r.device_id, kind: r.kind, seq: r.seq === null ? null : Number(r.seq), expectedSeq: r.expected_seq === null ? null : Number(r.expected_seq), detail: r.detail, at: new Date(Number(r.at)).toISOString() })) };
  });

  // ------------------------------------------------------------------------------------------------------
  // device status

  app.post('/v1/status', { bodyLimit: 64 * 1024 }, async (req, reply) => {
    const dev = await device(req);
    if (!isObj(req.body)) throw httpError(400, 'bad-request', 'body must be a JSON object');
    const now = clock();
    await db.run('UPDATE devices SET status = ?, last_seen = ? WHERE id = ?', [JSON.stringify({ ...req.body, receivedAt: new Date(now).toISOString() }), now, dev.id]);
    return reply.code(204).send();
  });

  // ------------------------------------------------------------------------------------------------------
  // exceptions and grants

  async function policyRules(dev: DeviceRow): Promise<ReturnType<typeof rulesOf>> {
    const bundleId = dev.bundle_id ?? opts.defaultBundleId;
    if (!bundleId) throw httpError(409, 'no-policy', 'this device has no bundle id: exceptions are checked against its policy');
    const row = await latestBundle(bundleId);
    if (!row) throw httpError(409, 'no-policy', `no bundle is published under ${bundleId}`);
    const payload = envelopePayload(parseEnvelope(Buffer.from(row.envelope, 'utf8')));
    const doc = parseJsonBytes(payload!) as { policy?: unknown };
    return rulesOf(doc.policy);
  }

  app.post('/v1/exceptions', async (req, reply) => {
    const dev = await device(req);
    const parsed = parseRequest(req.body, await policyRules(dev), { requestTtlMs: limits.requestTtlMs, approvalsRequired: limits.approvalsRequired, minJustification: limits.minJustification });
    const v = await exceptions.create(parsed, { tenant: dev.tenant, userId: dev.user_id, deviceId: dev.id });
    req.log.info({ id: v.id, userId: v.userId, ruleIds: v.ruleIds }, 'exception requested');
    return reply.code(201).send(v);
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/exceptions', async (req) => {
    const who = await adminOrDevice(req, 'admin', 'approver', 'auditor');
    const f: Parameters<Exceptions['list']>[0] = {};
    if (req.query.status) f.status = req.query.status;
    if (req.query.limit) f.limit = Number(req.query.limit) || 100;
    if (who.device) f.userId = who.device.user_id;
    else {
      if (req.query.user) f.userId = req.query.user;
      if (req.query.device) f.deviceId = req.query.device;
    }
    return { requests: await exceptions.list(f) };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/v1/exceptions/:id', async (req, reply) => {
    const who = await adminOrDevice(req, 'admin', 'approver', 'auditor');
    let v = await exceptions.get(req.params.id);
    if (!v || (who.device && v.userId !== who.device.user_id)) throw httpError(404, 'not-found', `no exception request ${req.params.id}`);
    const wait = Math.min(Number(req.query.wait ?? 0) || 0, limits.longPollMaxSec);
    if (wait > 0 && v.status === 'pending') {
      const start = Date.now();
      let gone = false;
      reply.raw.once('close', () => (gone = true));
      while (Date.now() - start < wait * 1000 && !gone) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, 500);
          function done() {
            clearTimeout(t);
            exceptionEvents.off(req.params.id, done);
            resolve();
          }
          exceptionEvents.on(req.params.id, done);
        });
        v = (await exceptions.get(req.params.id))!;
        if (v.status !== 'pending') break;
      }
    }
    return v;
  });

  for (const action of ['approve', 'deny', 'revoke', 'cancel'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/exceptions/:id/${action}`, async (req) => {
      const id = req.params.id;
      let v;
      if (action === 'cancel') {
        const dev = await device(req);
        v = await exceptions.cancel(id, { userId: dev.user_id });
      } else {
        const p = await admin(req);
        if (action === 'approve') v = await exceptions.approve(id, p, req.body ?? {}, tenant());
        else if (action === 'deny') v = await exceptions.deny(id, p, req.body ?? {});
        else v = await exceptions.revoke(id, p, req.body ?? {});
        req.log.info({ id, by: p.principal, action, status: v.status }, 'exception reviewed');
      }
      exceptionEvents.emit(id);
      return v;
    });
  }

  app.get('/v1/grants', async (req) => {
    const dev = await device(req);
    const now = clock();
    const grants = await exceptions.activeGrants(dev.id, dev.user_id);
    return { schema: 1, type: 'grant-list', tenant: dev.tenant, deviceId: dev.id, userId: dev.user_id, issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + limits.grantListTtlMs).toISOString(), grants };
  });

  // ------------------------------------------------------------------------------------------------------

  // Old idempotency records are dropped once an hour.
  const sweeper = setInterval(() => {
    void db.run('DELETE FROM idempotency WHERE created_at < ?', [clock() - limits.idempotencyTtlMs]).catch(() => undefined);
  }, 3600_000);
  sweeper.unref();

  let exporter: OtlpExporter | undefined;
  if (opts.otlp) {
    exporter = new OtlpExporter(db, opts.otlp, app.log, VERSION);
    exporter.start();
  }

  let closed = false;
  const server: WardenServer = {
    app,
    db,
    trust,
    async listen(port, host = '127.0.0.1') {
      const addr = await app.listen({ port, host });
      return addr.replace('[::1]', '127.0.0.1');
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await exporter?.stop();
      await app.close();
      if (typeof opts.db === 'string') await db.close();
    },
  };
  if (exporter) server.exporter = exporter;
  return server;
}

