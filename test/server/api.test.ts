/**
 * The central server's API against a real database (SQLite and PostgreSQL): health, admin and device
 * tokens, one-time enrolment, bundles (verification, anti-rollback, ETag/304, long-poll), the trust chain,
 * the sync client and `warden enroll` against it, heartbeats.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activePolicy } from '../../src/runtime/bundleActive';
import { readEnrollment } from '../../src/runtime/enroll';
import { syncOnce } from '../../src/runtime/sync';
import { enforcementSummary as sendHeartbeatSummaryOf, sendHeartbeat } from '../../src/runtime/forward';

const sendHeartbeatSummary = (stateDir: string) => sendHeartbeatSummaryOf(stateDir) as { policy: { source: string } };
import { buildTrust } from '../cases/bundles/harness';
import { createServer } from '../../src/server/app';
import { ADMIN, api, BUNDLE_ID, bundleBytes, DAY, enrolledDevice, enrollmentToken, forEachDb, freshDb, NOW, publish, startServer, tmpDir, trustRoot, type TestServer } from './support';
import { enroll } from '../../src/runtime/enroll';

forEachDb('server API', (kind) => {
  let dir: string;
  let t: TestServer;
  before(async () => {
    dir = tmpDir('aw-srv-api-');
    t = await startServer(kind, dir);
  });
  after(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('GET /healthz answers with the database kind and trust version', async () => {
    const r = await api(t.url, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    assert.equal(r.body.db, kind);
    assert.deepEqual(r.body.trust, { tenant: 'acme', version: 1 });
  });

  it('admin routes need the admin token; a device token is not an admin token', async () => {
    assert.equal((await api(t.url, 'POST', '/v1/admin/enrollment-tokens', { json: { userId: 'x' } })).status, 401);
    assert.equal((await api(t.url, 'POST', '/v1/admin/enrollment-tokens', { token: 'nope', json: { userId: 'x' } })).status, 401);
    const d = await enrolledDevice(t.url, dir, 'erin');
    assert.equal((await api(t.url, 'POST', '/v1/admin/enrollment-tokens', { token: d.token, json: { userId: 'x' } })).status, 401);
    assert.equal((await api(t.url, 'GET', '/v1/admin/devices', { token: d.token })).status, 401);
    // and an admin token is not a device token
    assert.equal((await api(t.url, 'GET', '/v1/grants', { token: ADMIN })).status, 401);
  });

  it('an auditor may read devices but not create tokens', async () => {
    const aud = (await api(t.url, 'POST', '/v1/admin/tokens', { token: ADMIN, json: { principal: 'audrey', roles: ['auditor'] } })).body.token as string;
    assert.equal((await api(t.url, 'GET', '/v1/admin/devices', { token: aud })).status, 200);
    assert.equal((await api(t.url, 'POST', '/v1/admin/tokens', { token: aud, json: { principal: 'x', roles: ['admin'] } })).status, 403);
  });

  it('admin tokens are listed without their secret and can be revoked, by principal or by id; revoked ones get 401', async () => {
    const a1 = (await api(t.url, 'POST', '/v1/admin/tokens', { token: ADMIN, json: { principal: 'rita', roles: ['approver'] } })).body.token as string;
    const a2 = (await api(t.url, 'POST', '/v1/admin/tokens', { token: ADMIN, json: { principal: 'rita', roles: ['auditor'] } })).body.token as string;
    const s1 = (await api(t.url, 'POST', '/v1/admin/tokens', { token: ADMIN, json: { principal: 'sam', roles: ['auditor'] } })).body.token as string;
    const list = await api(t.url, 'GET', '/v1/admin/tokens', { token: ADMIN });
    assert.equal(list.status, 200);
    const text = JSON.stringify(list.body);
    for (const secret of [a1, a2, s1]) assert.ok(!text.includes(secret), 'no token value in the list');
    const sam = (list.body.tokens as { id: string; principal: string }[]).filter((x) => x.principal === 'sam');
    assert.equal(sam.length, 1);
    assert.equal((await api(t.url, 'GET', '/v1/admin/devices', { token: s1 })).status, 200);
    assert.equal((await api(t.url, 'POST', '/v1/admin/tokens/revoke', { token: s1, json: { principal: 'rita' } })).status, 403, 'an auditor cannot revoke');
    const byPrincipal = await api(t.url, 'POST', '/v1/admin/tokens/revoke', { token: ADMIN, json: { principal: 'rita' } });
    assert.equal(byPrincipal.body.revoked, 2);
    assert.equal((await api(t.url, 'GET', '/v1/exceptions', { token: a1 })).status, 401);
    assert.equal((await api(t.url, 'GET', '/v1/admin/devices', { token: a2 })).status, 401);
    assert.equal((await api(t.url, 'POST', '/v1/admin/tokens/revoke', { token: ADMIN, json: { id: sam[0]!.id } })).body.revoked, 1);
    assert.equal((await api(t.url, 'GET', '/v1/admin/devices', { token: s1 })).status, 401);
    assert.equal((await api(t.url, 'POST', '/v1/admin/tokens/revoke', { token: ADMIN, json: { principal: 'rita', id: sam[0]!.id } })).status, 400);
    const after = (await api(t.url, 'GET', '/v1/admin/tokens', { token: ADMIN })).body.tokens as { principal: string; revokedAt: string | null }[];
    assert.ok(after.filter((x) => x.principal === 'rita' || x.principal === 'sam').every((x) => x.revokedAt));
  });

  it('an unknown route answers 404 in the API\'s error shape', async () => {
    const r = await api(t.url, 'GET', '/v1/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'not-found');
  });

  it('enrolment: one-time token → device id + token; only token hashes are stored', async () => {
    const token = await enrollmentToken(t.url, 'alice');
    const r1 = await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: token, deviceId: 'device-aaaa-0001', deviceName: 'laptop' } });
    assert.equal(r1.status, 201, JSON.stringify(r1.body));
    assert.equal(r1.body.deviceId, 'device-aaaa-0001');
    assert.equal(r1.body.userId, 'alice');
    assert.equal(r1.body.tenant, 'acme');
    assert.match(r1.body.deviceToken, /^awd_/);
    const again = await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: token, deviceId: 'device-aaaa-0002' } });
    assert.equal(again.status, 401);
    assert.match(again.body.message, /already used/);
    const rows = await t.server.db.all<{ token_hash: string }>('SELECT token_hash FROM devices');
    for (const row of rows) assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(await t.server.db.all('SELECT * FROM devices')).includes(r1.body.deviceToken as string));
    assert.ok(!JSON.stringify(await t.server.db.all('SELECT * FROM enrollment_tokens')).includes(token));
    // the device token works for device routes
    assert.equal((await api(t.url, 'GET', '/v1/grants', { token: r1.body.deviceToken as string })).status, 200);
  });

  it('enrolment: expired token, unknown token, device already enrolled, re-enrolment token', async () => {
    const expired = (await api(t.url, 'POST', '/v1/admin/enrollment-tokens', { token: ADMIN, json: { userId: 'bob', ttl: 1 } })).body.token as string;
    await new Promise((r) => setTimeout(r, 10));
    assert.match((await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: expired, deviceId: 'device-bbbb-0001' } })).body.message, /expired/);
    assert.equal((await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: 'awe_nope', deviceId: 'device-bbbb-0001' } })).status, 401);
    const a = await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: await enrollmentToken(t.url, 'bob'), deviceId: 'device-bbbb-0002' } });
    assert.equal(a.status, 201);
    const taken = await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: await enrollmentToken(t.url, 'mallory'), deviceId: 'device-bbbb-0002' } });
    assert.equal(taken.status, 409, 'another user cannot take over an enrolled device id');
    const re = await api(t.url, 'POST', '/v1/enroll', { json: { enrollmentToken: await enrollmentToken(t.url, 'bob', { deviceId: 'device-bbbb-0002' }), deviceId: 'device-bbbb-0002' } });
    assert.equal(re.status, 201);
    assert.equal((await api(t.url, 'GET', '/v1/grants', { token: a.body.deviceToken as string })).status, 401, 'the old device token stops working');
    assert.equal((await api(t.url, 'GET', '/v1/grants', { token: re.body.deviceToken as string })).status, 200);
  });

  it('revoking a device makes its token useless', async () => {
    const d = await enrolledDevice(t.url, dir, 'rita');
    assert.equal((await api(t.url, 'POST', `/v1/admin/devices/${d.deviceId}/revoke`, { token: ADMIN })).status, 200);
    assert.equal((await api(t.url, 'GET', '/v1/grants', { token: d.token })).status, 401);
  });

  it('bundles: verified on publish, anti-rollback and equivocation refused, ETag/304, history', async () => {
    const r1 = await publish(t.url, 1);
    assert.equal(r1.status, 201, JSON.stringify(r1.body));
    assert.equal((await publish(t.url, 1)).status, 200, 'the same bytes again is a no-op');
    const r3 = await publish(t.url, 3);
    assert.equal(r3.status, 201);
    const rb = await publish(t.url, 2);
    assert.equal(rb.status, 409);
    assert.equal(rb.body.error, 'rollback');
    const eq = await publish(t.url, 3, { issuedAt: NOW - 5000 });
    assert.equal(eq.status, 409);
    assert.equal(eq.body.error, 'equivocation');
    const wrongKey = await publish(t.url, 4, { signer: 'exception' });
    assert.equal(wrongKey.status, 422);
    assert.equal(wrongKey.body.error, 'key-wrong-role');
    const expired = await publish(t.url, 5, { issuedAt: NOW - 10 * DAY, expiresAt: NOW - DAY });
    assert.equal(expired.body.error, 'expired');
    const wrongId = await api(t.url, 'PUT', `/v1/admin/bundles/${encodeURIComponent('acme/other')}`, { token: ADMIN, body: bundleBytes(9) });
    assert.equal(wrongId.body.error, 'bundle-id-mismatch');
    assert.equal((await api(t.url, 'PUT', `/v1/admin/bundles/${encodeURIComponent(BUNDLE_ID)}`, { body: bundleBytes(9) })).status, 401);

    const g = await fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}`);
    assert.equal(g.status, 200);
    const body = Buffer.from(await g.arrayBuffer());
    assert.deepEqual(body, bundleBytes(3), 'served byte for byte');
    const etag = g.headers.get('etag')!;
    assert.equal(etag, `"sha256:${r3.body.sha256 as string}"`);
    assert.equal((await fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}/versions/1`)).status, 200);
    assert.equal((await fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}/versions/2`)).status, 404);
    assert.equal((await fetch(`${t.url}/v1/bundles/${encodeURIComponent('acme/none')}`)).status, 404);
  });

  it('bundles: long-poll (Prefer: wait=N) answers 304 at the timeout and 200 as soon as a new version is published', async () => {
    const g = await fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}`);
    const etag = g.headers.get('etag')!;
    const t0 = Date.now();
    const timeout = await fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}`, { headers: { 'if-none-match': etag, prefer: 'wait=1' } });
    assert.equal(timeout.status, 304);
    assert.ok(Date.now() - t0 >= 900, 'the server held the request');
    const waiting = fetch(`${t.url}/v1/bundles/${encodeURIComponent(BUNDLE_ID)}`, { headers: { 'if-none-match': etag, prefer: 'wait=20' } });
    await new Promise((r) => setTimeout(r, 200));
    const t1 = Date.now();
    assert.equal((await publish(t.url, 10)).status, 201);
    const got = await waiting;
    assert.equal(got.status, 200);
    assert.ok(Date.now() - t1 < 5000);
    assert.notEqual(got.headers.get('etag'), etag);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), bundleBytes(10));
  });

  it('trust: latest and by version; a rotation must chain (PUT /v1/admin/trust)', async () => {
    const latest = await fetch(`${t.url}/v1/trust/latest.json`);
    assert.equal(latest.status, 200);
    assert.deepEqual(Buffer.from(await latest.arrayBuffer()), trustRoot());
    assert.equal((await fetch(`${t.url}/v1/trust/2.json`)).status, 404);
    const bad = await api(t.url, 'PUT', '/v1/admin/trust', { token: ADMIN, body: buildTrust({ version: 2, issuedAt: NOW - 1000, expiresAt: NOW + 300 * DAY, signers: ['root1'] }) });
    assert.equal(bad.status, 422, JSON.stringify(bad.body));
    const gap = await api(t.url, 'PUT', '/v1/admin/trust', { token: ADMIN, body: buildTrust({ version: 3, issuedAt: NOW - 1000, expiresAt: NOW + 300 * DAY }) });
    assert.equal(gap.status, 409);
    const ok = await api(t.url, 'PUT', '/v1/admin/trust', { token: ADMIN, body: buildTrust({ version: 2, issuedAt: NOW - 1000, expiresAt: NOW + 300 * DAY }) });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal((await fetch(`${t.url}/v1/trust/2.json`)).status, 200);
    const l2 = await fetch(`${t.url}/v1/trust/latest.json`);
    assert.deepEqual(Buffer.from(await l2.arrayBuffer()), buildTrust({ version: 2, issuedAt: NOW - 1000, expiresAt: NOW + 300 * DAY }));
  });

  it('enroll + sync client: the device pins the out-of-band root, stores the rotation, and activates the bundle', async () => {
    const d = await enrolledDevice(t.url, dir, 'sam');
    const e = readEnrollment(d.stateDir)!;
    assert.equal(e.userId, 'sam');
    assert.equal(e.bundleId, BUNDLE_ID);
    assert.equal(fs.statSync(path.join(d.stateDir, 'enrollment.json')).mode & 0o777, 0o600);
    assert.equal(d.result.trust.version, 2, 'the rotation published above was verified and stored');
    assert.ok(fs.existsSync(path.join(d.stateDir, 'trust', '2.json')));
    const run = await syncOnce({ stateDir: d.stateDir, managedDir: null, token: d.token });
    assert.equal(run.result, 'updated', JSON.stringify(run));
    const a = activePolicy(d.stateDir, Date.now(), { managedDir: null });
    assert.equal(a.source, 'bundle');
    assert.equal((await syncOnce({ stateDir: d.stateDir, managedDir: null, token: d.token })).result, 'not-modified');
  });

  it('enroll refuses a server whose trust does not chain to the out-of-band root, before spending the token', async () => {
    const stateDir = fs.mkdtempSync(path.join(dir, 'dev-'));
    const other = buildTrust({ tenant: 'evil', issuedAt: NOW - DAY, expiresAt: NOW + 100 * DAY, keys: [{ key: 'evil-root1', role: 'root' }, { key: 'evil-root2', role: 'root' }, { key: 'evil-policy', role: 'policy' }, { key: 'evil-x', role: 'exception' }, { key: 'evil-r', role: 'receipt' }], signers: ['evil-root1', 'evil-root2'] });
    const token = await enrollmentToken(t.url, 'tom');
    await assert.rejects(enroll({ stateDir, server: t.url, token, trustRoot: other, managedDir: null }), /does not chain|tenant/);
    await assert.rejects(enroll({ stateDir, server: t.url, token, managedDir: null }), /no trust root given out of band/);
    assert.equal(fs.existsSync(path.join(stateDir, 'enrollment.json')), false);
    // the token was not spent: a proper enrolment still works, by fingerprint
    const crypto = await import('node:crypto');
    const fp = crypto.createHash('sha256').update(trustRoot()).digest('hex');
    const r = await enroll({ stateDir, server: t.url, token, trustRootSha256: fp, managedDir: null });
    assert.equal(r.enrollment.userId, 'tom');
  });

  it('heartbeat: POST /v1/status is stored and shown in the device list', async () => {
    const d = await enrolledDevice(t.url, dir, 'hank');
    assert.equal((await api(t.url, 'POST', '/v1/status', { token: d.token, json: { spool: { backlog: 3 } } })).status, 204);
    const list = await api(t.url, 'GET', '/v1/admin/devices', { token: ADMIN });
    const me = (list.body.devices as { id: string; status: { spool: { backlog: number } } | null; lastSeen: string | null }[]).find((x) => x.id === d.deviceId)!;
    assert.equal(me.status!.spool.backlog, 3);
    assert.ok(me.lastSeen);
  });

  it('heartbeat from the forwarder carries what the device enforces: the active bundle and whether the hooks are in place', async () => {
    const d = await enrolledDevice(t.url, dir, 'ivy');
    const before = await sendHeartbeatSummary(d.stateDir);
    assert.equal(before.policy.source, 'baseline', 'nothing synced yet');
    assert.equal((await syncOnce({ stateDir: d.stateDir, managedDir: null })).result, 'updated');
    await sendHeartbeat(d.stateDir);
    const list = await api(t.url, 'GET', '/v1/admin/devices', { token: ADMIN });
    const me = (list.body.devices as { id: string; status: { policy: { source: string; bundleId?: string; version?: number }; hooks: Record<string, unknown> } }[]).find((x) => x.id === d.deviceId)!;
    assert.equal(me.status.policy.source, 'bundle');
    assert.equal(me.status.policy.bundleId, BUNDLE_ID);
    assert.equal(typeof me.status.policy.version, 'number');
    assert.deepEqual(Object.keys(me.status.hooks).sort(), ['managed', 'user']);
  });
});

forEachDb('server start: the configured trust root must belong to the database', (kind) => {
  let dir: string;
  let db: Awaited<ReturnType<typeof freshDb>>;
  const start = async (trust: Buffer) => {
    const s = await createServer({ db: db.url, adminToken: ADMIN, trustRoot: trust, logger: false });
    await s.close();
  };
  before(async () => {
    dir = tmpDir('aw-srv-trust-');
    db = await freshDb(kind, dir);
    await start(trustRoot()); // the deployment's v1
  });
  after(async () => {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a root of another tenant', async () => {
    await assert.rejects(start(buildTrust({ tenant: 'other', issuedAt: NOW - DAY, expiresAt: NOW + 365 * DAY })), /tenant "acme", but the configured root is for "other"/);
  });

  it('refuses a v2 that is not a rotation of the stored v1 (new root keys the old ones never signed)', async () => {
    const foreignRoots = ['x-root1', 'x-root2', 'x-root3'].map((key) => ({ key, role: 'root' as const }));
    const v2 = buildTrust({ version: 2, issuedAt: NOW - 1000, expiresAt: NOW + 300 * DAY, keys: [...foreignRoots, { key: 'policy', role: 'policy' }], signers: ['x-root1', 'x-root2'] });
    await assert.rejects(start(v2), /not a rotation of the database's trust v1/);
  });

  it('accepts the legitimate v2 rotation, and v1 again afterwards', async () => {
    await start(buildTrust({ version: 2, issuedAt: NOW - 1000, expiresAt: NOW + 300 * DAY }));
    await start(trustRoot());
  });
});
