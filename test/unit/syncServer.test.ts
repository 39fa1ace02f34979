/**
 * The sync client against a real HTTP server on 127.0.0.1 (a minimal stand-in for the future reference
 * server: PUT /v1/admin/bundles/<id> with an admin token, GET /v1/bundles/<id> with ETag and 304,
 * GET /v1/trust/<n>.json): publish, sync, roll back, lose the server, restart it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Hex } from '../../src/core/bundle/envelope';
import { activePolicy } from '../../src/runtime/bundleActive';
import { publishBundle } from '../../src/runtime/bundlePublish';
import { writeClientConfig } from '../../src/runtime/bundleStore';
import { backoffDelay, pollDelay, SYNC_DEFAULTS, SyncLoop, syncOnce, type SyncRun } from '../../src/runtime/sync';
import { readSyncStatus } from '../../src/runtime/syncStatus';
import { pinTrust } from '../../src/runtime/trustAccept';
import { BUNDLE_ID, buildBundle, buildTrust, startServer, type TestServer } from '../cases/bundles/harness';

const TOKEN = 'admin-token-for-tests';
const DAY = 86_400_000;

/** The server's storage outlives the process, like a database: a restart keeps what was published. */
class Store {
  bundles = new Map<string, Buffer>();
  trust = new Map<number, Buffer>();
  requests: { method: string; url: string; ifNoneMatch?: string; auth?: string }[] = [];
  /** Answer bundle GETs with this status until cleared. */
  failBundles: { status: number; retryAfter?: string } | undefined;
}

function handler(store: Store): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const rec: Store['requests'][number] = { method: req.method ?? '', url };
    if (typeof req.headers['if-none-match'] === 'string') rec.ifNoneMatch = req.headers['if-none-match'];
    if (req.headers.authorization) rec.auth = req.headers.authorization;
    store.requests.push(rec);
    if (store.failBundles && url.startsWith('/v1/bundles/')) {
      const f = store.failBundles;
      res.writeHead(f.status, f.retryAfter ? { 'retry-after': f.retryAfter } : {}).end();
      return;
    }
    const admin = /^\/v1\/admin\/bundles\/([^/]+)$/.exec(url);
    if (admin && req.method === 'PUT') {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        store.bundles.set(decodeURIComponent(admin[1]!), body);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sha256: sha256Hex(body) }));
      });
      return;
    }
    const get = /^\/v1\/bundles\/([^/]+)$/.exec(url);
    if (get && req.method === 'GET') {
      const body = store.bundles.get(decodeURIComponent(get[1]!));
      if (!body) return void res.writeHead(404).end();
      const etag = `"sha256:${sha256Hex(body)}"`;
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
      res.writeHead(200, { etag, 'content-type': 'application/vnd.agentwarden.bundle+json', 'content-length': String(body.length) }).end(body);
      return;
    }
    const trust = /^\/v1\/trust\/(\d+)\.json$/.exec(url);
    if (trust && req.method === 'GET') {
      const body = store.trust.get(Number(trust[1]));
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    res.writeHead(404).end();
  };
}

describe('sync against a real HTTP server on 127.0.0.1', () => {
  let dir: string;
  let stateDir: string;
  let managedDir: string;
  let server: TestServer;
  let store: Store;
  const now = Date.now();
  const bundle = (version: number) => buildBundle({ version, issuedAt: now - 60_000 + version * 1000, expiresAt: now + 7 * DAY });
  const sync = (extra: Partial<Parameters<typeof syncOnce>[0]> = {}): Promise<SyncRun> => syncOnce({ stateDir, managedDir, server: server.url, ...extra });
  const hook = () => activePolicy(stateDir, Date.now(), { managedDir });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-sync-'));
    stateDir = path.join(dir, 'state');
    managedDir = path.join(dir, 'managed');
    fs.mkdirSync(managedDir);
    await pinTrust(stateDir, buildTrust({ issuedAt: now - DAY, expiresAt: now + 365 * DAY }), { managedDir });
    writeClientConfig(stateDir, { bundleId: BUNDLE_ID });
    store = new Store();
    server = await startServer(handler(store));
  });

  after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('nothing published yet: an HTTP error, and the hook falls back to the baseline', async () => {
    const run = await sync();
    assert.equal(run.result, 'error');
    assert.equal(run.code, 'http-status');
    const a = hook();
    assert.equal(a.source, 'baseline');
    assert.equal(a.source === 'baseline' && a.reason, 'no-bundle');
  });

  it('publish needs the admin token', async () => {
    await assert.rejects(publishBundle(server.url, bundle(1), { token: 'wrong' }), /HTTP 401/);
  });

  it('publish v1, sync: activated', async () => {
    const pub = await publishBundle(server.url, bundle(1), { token: TOKEN });
    assert.equal(pub.status, 201);
    assert.equal(pub.bundleId, BUNDLE_ID);
    assert.match(pub.url, /\/v1\/admin\/bundles\/acme%2Fdefault$/);
    const run = await sync();
    assert.equal(run.result, 'updated', run.message);
    assert.ok(run.events.some((e) => e.type === 'policy.activated' && e.version === 1));
    assert.ok(run.nextDelayMs >= SYNC_DEFAULTS.pollMinMs && run.nextDelayMs <= SYNC_DEFAULTS.pollMaxMs);
    const a = hook();
    assert.equal(a.source, 'bundle');
    assert.equal(a.source === 'bundle' && a.bundle.version, 1);
    assert.equal(a.source === 'bundle' && a.state, 'fresh');
  });

  it('sync again: conditional GET answered 304', async () => {
    const before = store.requests.length;
    const run = await sync();
    assert.equal(run.result, 'not-modified');
    const get = store.requests.slice(before).find((r) => r.url.startsWith('/v1/bundles/'));
    assert.match(get?.ifNoneMatch ?? '', /^"sha256:[0-9a-f]{64}"$/);
  });

  it('publish v2, sync: activated, v1 kept as previous', async () => {
    await publishBundle(server.url, bundle(2), { token: TOKEN });
    const run = await sync();
    assert.equal(run.result, 'updated', run.message);
    const ev = run.events.find((e) => e.type === 'policy.activated');
    assert.equal(ev?.version, 2);
    assert.equal(ev?.previous?.version, 1);
    const a = hook();
    assert.equal(a.source === 'bundle' && a.bundle.version, 2);
    assert.equal(run.status.active?.version, 2);
  });

  it('the server serves v1 again: rejected as a rollback, v2 stays active', async () => {
    await publishBundle(server.url, bundle(1), { token: TOKEN });
    const run = await sync();
    assert.equal(run.result, 'rejected');
    assert.equal(run.code, 'rollback');
    assert.equal(run.status.lastRejection?.code, 'rollback');
    assert.equal(run.status.lastRejection?.version, 1);
    assert.ok(run.events.some((e) => e.type === 'policy.update_rejected' && e.reason === 'rollback' && e.previous?.version === 2));
    assert.ok(run.nextDelayMs <= SYNC_DEFAULTS.backoffBaseMs * 1.2 + 1, `backoff after a rejection, got ${run.nextDelayMs}`);
    const a = hook();
    assert.equal(a.source === 'bundle' && a.bundle.version, 2);
  });

  it('server stopped: network error, the last good bundle stays, status says why', async () => {
    await server.close();
    const run = await sync();
    assert.equal(run.result, 'error');
    assert.equal(run.code, 'network');
    assert.equal(run.status.consecutiveFailures, 2);
    const a = hook();
    assert.equal(a.source === 'bundle' && a.bundle.version, 2);
    const status = readSyncStatus(stateDir, Date.now(), { managedDir });
    assert.equal(status.lastAttempt?.result, 'error');
    assert.equal(status.lastAttempt?.code, 'network');
    assert.equal(status.lastRejection?.code, 'rollback');
    assert.equal(status.current.source, 'bundle');
    assert.equal(status.current.source === 'bundle' && status.current.version, 2);
    assert.ok(status.nextAttemptAt && Date.parse(status.nextAttemptAt) > Date.parse(status.lastAttempt!.at));
  });

  it('server restarted on the same port: a trust rotation and v3 arrive', async () => {
    server = await startServer(handler(store), server.port);
    store.trust.set(2, buildTrust({ version: 2, issuedAt: now, expiresAt: now + 365 * DAY }));
    await publishBundle(server.url, bundle(3), { token: TOKEN });
    const run = await sync();
    assert.equal(run.trust.result, 'updated');
    assert.equal(run.trust.version, 2);
    assert.equal(run.result, 'updated', run.message);
    assert.equal(run.status.consecutiveFailures, 0);
    assert.equal(run.status.trust?.version, 2);
    const a = hook();
    assert.equal(a.source === 'bundle' && a.bundle.version, 3);
    assert.equal(a.source === 'bundle' && a.bundle.trustVersion, 2);
  });

  it('a 503 with Retry-After delays the next attempt at least that long', async () => {
    store.failBundles = { status: 503, retryAfter: '120' };
    try {
      const run = await sync();
      assert.equal(run.result, 'error');
      assert.equal(run.code, 'http-status');
      assert.ok(run.nextDelayMs >= 120_000, `next attempt in ${run.nextDelayMs} ms`);
      assert.equal(hook().source, 'bundle');
    } finally {
      store.failBundles = undefined;
    }
  });

  it('a device token is sent as a bearer token', async () => {
    const before = store.requests.length;
    await sync({ token: 'device-123' });
    assert.ok(store.requests.slice(before).every((r) => r.auth === 'Bearer device-123'));
  });

  it('SyncLoop polls on its own schedule and stops', async () => {
    const runs: SyncRun[] = [];
    const loop = new SyncLoop({ stateDir, managedDir, server: server.url, limits: { pollMinMs: 20, pollMaxMs: 40 }, onRun: (r) => runs.push(r) });
    loop.start(0);
    const deadline = Date.now() + 5000;
    while (runs.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    loop.stop();
    const seen = runs.length;
    assert.ok(seen >= 3, `expected 3 runs, got ${seen}`);
    assert.ok(runs.every((r) => r.result === 'not-modified'), JSON.stringify(runs.map((r) => [r.result, r.code])));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(runs.length, seen, 'no run after stop()');
    const now2 = await loop.syncNow();
    assert.equal(now2.result, 'not-modified');
  });
});

describe('sync scheduling', () => {
  it('polls uniformly between 60 and 120 s', () => {
    assert.equal(pollDelay(SYNC_DEFAULTS, () => 0), 60_000);
    assert.equal(pollDelay(SYNC_DEFAULTS, () => 0.999999), 120_000);
    assert.equal(pollDelay(SYNC_DEFAULTS, () => 0.5), 90_000);
  });

  it('backs off ×1.6 capped at 300 s, then ±20 % jitter', () => {
    assert.equal(backoffDelay(1, SYNC_DEFAULTS, () => 0.5), 1_000);
    assert.equal(backoffDelay(2, SYNC_DEFAULTS, () => 0.5), 1_600);
    assert.equal(backoffDelay(3, SYNC_DEFAULTS, () => 0.5), 2_560);
    assert.equal(backoffDelay(3, SYNC_DEFAULTS, () => 0), 2_048);
    assert.equal(backoffDelay(3, SYNC_DEFAULTS, () => 1), 3_072);
    assert.equal(backoffDelay(30, SYNC_DEFAULTS, () => 0.5), 300_000);
    assert.equal(backoffDelay(30, SYNC_DEFAULTS, () => 1), 360_000);
    assert.equal(backoffDelay(30, SYNC_DEFAULTS, () => 0), 240_000);
  });
});
