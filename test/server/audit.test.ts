/**
 * Audit ingest and query against a real database (SQLite and PostgreSQL), driven by raw batches and by
 * the forwarder (src/runtime/forward.ts) over real HTTP on 127.0.0.1: exactly once per event, chain and
 * sequence checks per device, foreign events refused, body cap, back-pressure, signed receipts, poison
 * isolation by bisection, and a fault-injecting proxy for 413/429/5xx.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { lineHash } from '../../src/core/audit/chain';
import { parseEnvelope, parseJsonBytes, PAYLOAD_TYPES, envelopePayload } from '../../src/core/bundle/envelope';
import { verifyWithTrust, openAnchor, leanTrustParser } from '../../src/core/bundle/trust';
import { sha256Hex } from '../../src/core/bundle/envelope';
import { appendAuditEvent, readAudit, readCursor, spoolStatus } from '../../src/runtime/audit/spool';
import { Forwarder, type ForwardReport } from '../../src/runtime/forward';
import { ADMIN, api, appendEvents, decisionDraft, enrolledDevice, forEachDb, publish, startServer, tmpDir, trustRoot, type TestServer } from './support';

const FAST = { backoffBaseMs: 20, backoffCapMs: 200, retryAfterMinMs: 50 };

function lines(stateDir: string, from = 1, limit = 10_000): string[] {
  return readAudit(stateDir, { fromSeq: from, limit }).records.map((r) => r.line);
}

async function postBatch(url: string, token: string, ls: string[], opts: { key?: string; gzip?: boolean; raw?: Buffer } = {}) {
  const raw = opts.raw ?? Buffer.from(ls.join('\n') + '\n');
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (opts.gzip !== false) headers['content-encoding'] = 'gzip';
  if (opts.key) headers['idempotency-key'] = opts.key;
  return api(url, 'POST', '/v1/audit/events', { token, body: opts.gzip === false ? raw : zlib.gzipSync(raw), headers });
}

async function stored(t: TestServer, deviceId: string): Promise<{ seq: number; event_id: string | null; hash: string }[]> {
  return t.server.db.all('SELECT seq, event_id, hash FROM audit_events WHERE device_id = ? ORDER BY seq', [deviceId]);
}

/** A proxy on 127.0.0.1 that can answer in the server's place. */
async function faultProxy(target: string, decide: (req: { n: number; path: string; body: Buffer }) => { status: number; headers?: Record<string, string>; body?: string } | null) {
  let n = 0;
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = decide({ n: n++, path: req.url ?? '', body });
      if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? JSON.stringify({ error: 'injected' }));
        return;
      }
      const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

forEachDb('audit ingest and query', (kind) => {
  let dir: string;
  let t: TestServer;
  before(async () => {
    dir = tmpDir('aw-srv-audit-');
    t = await startServer(kind, dir);
    assert.equal((await publish(t.url, 1)).status, 201);
  });
  after(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the forwarder ships the spool; every event stored once, in order; signed receipts verify', async () => {
    const d = await enrolledDevice(t.url, dir, 'alice');
    const appended = appendEvents(d.stateDir, 1234);
    const reports: ForwardReport[] = [];
    const r = await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST, onReport: (x) => reports.push(x) }).drain();
    assert.equal(r.state, 'caught-up', JSON.stringify(r));
    assert.equal(r.acked, 1234);
    assert.equal(r.batches, 3, 'batches of at most 500 events');
    const rows = await stored(t, d.deviceId);
    assert.deepEqual(rows.map((x) => Number(x.seq)), appended.map((a) => a.seq));
    assert.deepEqual(rows.map((x) => x.hash), appended.map((a) => a.hash));
    assert.equal(readCursor(d.stateDir)!.ackedSeq, 1234);
    const receipts = reports.filter((x): x is Extract<ForwardReport, { kind: 'receipt' }> => x.kind === 'receipt');
    assert.equal(receipts.length, 3);
    assert.ok(receipts.every((x) => x.valid), JSON.stringify(receipts));
    const dev = await t.server.db.get<{ acked_seq: number; last_hash: string }>('SELECT acked_seq, last_hash FROM devices WHERE id = ?', [d.deviceId]);
    assert.equal(Number(dev!.acked_seq), 1234);
    assert.equal(dev!.last_hash, appended[1233]!.hash);
  });

  it('a re-sent batch is acknowledged as duplicates; an Idempotency-Key replays the reply; overlap stores only the new events', async () => {
    const d = await enrolledDevice(t.url, dir, 'bob');
    appendEvents(d.stateDir, 10);
    const ls = lines(d.stateDir);
    const key = `${d.deviceId}:1-5`;
    const a = await postBatch(t.url, d.token, ls.slice(0, 5), { key });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual([a.body.ackSeq, a.body.duplicates, a.body.accepted], [5, 0, 5]);
    assert.equal(a.body.ackHash, lineHash(ls[4]!));
    const replay = await postBatch(t.url, d.token, ls.slice(0, 5), { key });
    assert.deepEqual(replay.body, a.body, 'the same reply for the same key');
    const reused = await postBatch(t.url, d.token, ls.slice(0, 4), { key });
    assert.equal(reused.status, 422);
    const dup = await postBatch(t.url, d.token, ls.slice(0, 5));
    assert.deepEqual([dup.status, dup.body.ackSeq, dup.body.duplicates, dup.body.accepted], [200, 5, 5, 0]);
    const overlap = await postBatch(t.url, d.token, ls.slice(2, 10), { gzip: false });
    assert.deepEqual([overlap.status, overlap.body.ackSeq, overlap.body.duplicates, overlap.body.accepted], [200, 10, 3, 5]);
    assert.deepEqual((await stored(t, d.deviceId)).map((x) => Number(x.seq)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a gap is refused with 409 and the expected seq; an edited event is a fork (409 + alert)', async () => {
    const d = await enrolledDevice(t.url, dir, 'carol');
    appendEvents(d.stateDir, 6);
    const ls = lines(d.stateDir);
    assert.equal((await postBatch(t.url, d.token, ls.slice(0, 2))).status, 200);
    const gap = await postBatch(t.url, d.token, ls.slice(3, 6));
    assert.equal(gap.status, 409);
    assert.equal(gap.body.error, 'gap');
    assert.equal(gap.body.expectedSeq, 3);
    // seq 2 sent again with other bytes: the device's chain was rewritten
    const edited = ls[1]!.replace('"user":"alice"', '"user":"eve00"');
    assert.notEqual(edited, ls[1]);
    const fork = await postBatch(t.url, d.token, [ls[0]!, edited]);
    assert.equal(fork.status, 409);
    assert.equal(fork.body.error, 'fork');
    // seq 3 edited, then seq 4 chains to the original seq 3: caught on the chain
    const e3 = ls[2]!.replace('"user":"alice"', '"user":"eve00"');
    const chainBreak = await postBatch(t.url, d.token, [e3, ls[3]!]);
    assert.equal(chainBreak.status, 409);
    const alerts = await api(t.url, 'GET', `/v1/audit/alerts?device=${d.deviceId}`, { token: ADMIN });
    assert.ok((alerts.body.alerts as { kind: string }[]).filter((a) => a.kind === 'fork').length >= 2, JSON.stringify(alerts.body));
    assert.deepEqual((await stored(t, d.deviceId)).map((x) => Number(x.seq)), [1, 2]);
  });

  it("a device cannot write another device's events (422 foreign-device, alert, nothing stored)", async () => {
    const a = await enrolledDevice(t.url, dir, 'dana');
    const b = await enrolledDevice(t.url, dir, 'mallory');
    appendEvents(a.stateDir, 3);
    const res = await postBatch(t.url, b.token, lines(a.stateDir));
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'foreign-device');
    assert.equal(res.body.index, 0);
    assert.equal((await stored(t, a.deviceId)).length, 0);
    assert.equal((await stored(t, b.deviceId)).length, 0);
    // actor.deviceId lying inside an event with the right source is refused too
    appendAuditEvent(b.stateDir, decisionDraft(b.stateDir, 0, { deviceId: b.deviceId }));
    const line = lines(b.stateDir)[0]!.replace(`"deviceId":"${b.deviceId}"`, `"deviceId":"${a.deviceId}"`);
    assert.equal((await postBatch(t.url, b.token, [line])).body.code, 'foreign-device');
    const alerts = await api(t.url, 'GET', `/v1/audit/alerts?device=${b.deviceId}&kind=foreign-device`, { token: ADMIN });
    assert.ok((alerts.body.alerts as unknown[]).length >= 1);
  });

  it('malformed batches: bad gzip, wrong content type, no token, empty', async () => {
    const d = await enrolledDevice(t.url, dir, 'ed');
    appendEvents(d.stateDir, 2);
    assert.equal((await postBatch(t.url, 'awd_bogus', lines(d.stateDir))).status, 401);
    assert.equal((await api(t.url, 'POST', '/v1/audit/events', { token: d.token, body: Buffer.from('not gzip'), headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' } })).status, 400);
    assert.equal((await api(t.url, 'POST', '/v1/audit/events', { token: d.token, body: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
    assert.equal((await postBatch(t.url, d.token, [], { raw: Buffer.from('') })).status, 400);
    const bad = await postBatch(t.url, d.token, ['{"seq":1,"prev":"nope"}']);
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, 'malformed');
  });

  it('query: by device, user, session, decision, rule, time range, with cursor paging', async () => {
    const d = await enrolledDevice(t.url, dir, 'quinn');
    const base = Date.parse('2026-03-01T00:00:00Z');
    for (let i = 0; i < 30; i++) appendAuditEvent(d.stateDir, decisionDraft(d.stateDir, i, { user: i < 20 ? 'quinn' : 'quinn-other', session: `s${i % 2}`, now: base + i * 60_000 }));
    assert.equal((await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST }).drain()).state, 'caught-up');
    const q = (qs: string) => api(t.url, 'GET', `/v1/audit/events?device=${d.deviceId}&${qs}`, { token: ADMIN });
    assert.equal((await q('limit=1000')).body.events.length, 30);
    assert.equal((await q('user=quinn')).body.events.length, 20);
    assert.equal((await q('session=s1')).body.events.length, 15);
    assert.equal((await q('decision=deny')).body.events.length, 10);
    assert.equal((await q('rule=net.curl')).body.events.length, 10);
    assert.equal((await q('rule=no.such')).body.events.length, 0);
    assert.equal((await q(`from=${new Date(base + 10 * 60_000).toISOString()}&to=${base + 20 * 60_000}`)).body.events.length, 10);
    const seqs: number[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const r = (await q(`limit=7${cursor ? `&cursor=${cursor}` : ''}`)) as unknown as { body: { events: { seq: number }[]; nextCursor: string | null } };
      seqs.push(...r.body.events.map((e) => e.seq));
      cursor = r.body.nextCursor;
      pages++;
    }
    assert.equal(pages, 5);
    assert.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => i + 1));
    const aud = (await api(t.url, 'POST', '/v1/admin/tokens', { token: ADMIN, json: { principal: 'auditor1', roles: ['auditor'] } })).body.token as string;
    assert.equal((await api(t.url, 'GET', '/v1/audit/events', { token: aud })).status, 200);
    assert.equal((await api(t.url, 'GET', '/v1/audit/events', { token: d.token })).status, 401);
  });

  it('one bad event in a batch is isolated by bisection, dead-lettered, skipped with an alert; the rest arrive once', async () => {
    const d = await enrolledDevice(t.url, dir, 'pat');
    appendEvents(d.stateDir, 40);
    const poison = decisionDraft(d.stateDir, 40);
    (poison as { time: string }).time = 'not a time';
    appendAuditEvent(d.stateDir, poison);
    appendEvents(d.stateDir, 59, { from: 41 });
    const reports: ForwardReport[] = [];
    const r = await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST, onReport: (x) => reports.push(x) }).drain();
    assert.equal(r.state, 'caught-up', JSON.stringify(r));
    assert.deepEqual(r.deadLettered, [41]);
    assert.ok(reports.some((x) => x.kind === 'bisect'));
    const rows = await stored(t, d.deviceId);
    assert.deepEqual(rows.map((x) => Number(x.seq)), Array.from({ length: 100 }, (_, i) => i + 1).filter((s) => s !== 41));
    assert.ok(fs.existsSync(`${d.stateDir}/audit/deadletter/${String(41).padStart(16, '0')}.json`));
    const alerts = await api(t.url, 'GET', `/v1/audit/alerts?device=${d.deviceId}&kind=rejected`, { token: ADMIN });
    assert.equal((alerts.body.alerts as unknown[]).length, 1);
    assert.equal(readCursor(d.stateDir)!.ackedSeq, 100);
    // the chain goes on after the skip
    appendEvents(d.stateDir, 3, { from: 100 });
    assert.equal((await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST }).drain()).acked, 3);
  });

  it("the forwarder dead-letters another device's events found in its spool; the server never stores them", async () => {
    const a = await enrolledDevice(t.url, dir, 'gail');
    const b = await enrolledDevice(t.url, dir, 'hugo');
    appendEvents(b.stateDir, 5);
    appendAuditEvent(b.stateDir, decisionDraft(b.stateDir, 5, { deviceId: a.deviceId }));
    appendEvents(b.stateDir, 4, { from: 6 });
    const r = await new Forwarder({ stateDir: b.stateDir, managedDir: null, limits: FAST }).drain();
    assert.equal(r.state, 'caught-up');
    assert.deepEqual(r.deadLettered, [6]);
    assert.equal((await stored(t, a.deviceId)).length, 0);
    assert.deepEqual((await stored(t, b.deviceId)).map((x) => Number(x.seq)), [1, 2, 3, 4, 5, 7, 8, 9, 10]);
  });

  it('the forwarder rides out 503/429/502 (Retry-After honoured), halves on 413, and stores every event once', async () => {
    const d = await enrolledDevice(t.url, dir, 'ivan');
    appendEvents(d.stateDir, 300);
    const script: string[] = [];
    const proxy = await faultProxy(t.url, ({ n, path, body }) => {
      if (!path.startsWith('/v1/audit/events')) return null;
      const events = zlib.gunzipSync(body).toString().trim().split('\n').length;
      if (n === 0) return (script.push('503'), { status: 503, headers: { 'retry-after': '1' } });
      if (n === 1) return (script.push('429'), { status: 429, headers: { 'retry-after': '1' } });
      if (n === 2) return (script.push('502'), { status: 502 });
      if (events > 80) return (script.push(`413:${events}`), { status: 413 });
      if (n === 6) return (script.push('500'), { status: 500 });
      script.push(`ok:${events}`);
      return null;
    });
    try {
      const reports: ForwardReport[] = [];
      const t0 = Date.now();
      const r = await new Forwarder({ stateDir: d.stateDir, server: proxy.url, managedDir: null, limits: FAST, onReport: (x) => reports.push(x) }).drain();
      assert.equal(r.state, 'caught-up', JSON.stringify(r));
      assert.ok(Date.now() - t0 >= 2000, 'two Retry-After: 1 waits');
      assert.deepEqual(script.slice(0, 3), ['503', '429', '502']);
      assert.ok(script.some((s) => s.startsWith('413')));
      assert.ok(reports.some((x) => x.kind === 'shrink'));
      assert.ok(script.filter((s) => s.startsWith('ok')).every((s) => Number(s.slice(3)) <= 80));
    } finally {
      await proxy.close();
    }
    assert.deepEqual((await stored(t, d.deviceId)).map((x) => Number(x.seq)), Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('a lost reply (the server stored the batch, the client never heard) is re-sent and stored once', async () => {
    const d = await enrolledDevice(t.url, dir, 'judy');
    appendEvents(d.stateDir, 50);
    let dropped = 0;
    const t2 = new URL(t.url);
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const up = http.request({ host: t2.hostname, port: t2.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
          if (req.url?.startsWith('/v1/audit/events') && dropped++ === 0) {
            r.resume();
            req.socket.destroy(); // the server stored it; the answer is lost
            return;
          }
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const reports: ForwardReport[] = [];
      const r = await new Forwarder({ stateDir: d.stateDir, server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, managedDir: null, limits: FAST, onReport: (x) => reports.push(x) }).drain();
      assert.equal(r.state, 'caught-up');
      assert.equal(r.acked, 50);
      assert.equal(reports.filter((x) => x.kind === 'retry').length, 1, 'the batch was sent twice');
      assert.equal(dropped, 2);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    assert.equal((await stored(t, d.deviceId)).length, 50);
  });

  it('a revoked device: the forwarder stops as unauthorized and keeps the spool', async () => {
    const d = await enrolledDevice(t.url, dir, 'kim');
    appendEvents(d.stateDir, 5);
    await api(t.url, 'POST', `/v1/admin/devices/${d.deviceId}/revoke`, { token: ADMIN });
    const r = await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST }).drain();
    assert.equal(r.state, 'unauthorized');
    assert.equal(spoolStatus(d.stateDir).backlog, 5);
  });

  it('signed receipts name the device, seq and hash, under the receipt key of the trust', async () => {
    const d = await enrolledDevice(t.url, dir, 'lee');
    appendEvents(d.stateDir, 3);
    const r = await postBatch(t.url, d.token, lines(d.stateDir));
    const env = parseEnvelope(Buffer.from(JSON.stringify(r.body.receipt)));
    const trust = openAnchor(trustRoot(), sha256Hex(trustRoot()), leanTrustParser, null);
    const { payload } = verifyWithTrust(env, PAYLOAD_TYPES.receipt, trust, Date.now());
    const doc = parseJsonBytes(payload) as Record<string, unknown>;
    assert.deepEqual([doc.deviceId, doc.seq, doc.hash, doc.tenant], [d.deviceId, 3, r.body.ackHash, 'acme']);
    assert.ok(envelopePayload(env));
  });
});

forEachDb('audit ingest limits', (kind) => {
  let dir: string;
  before(() => (dir = tmpDir('aw-srv-lim-')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('413 over the body cap (counted after decompression); 503 with Retry-After under pressure', async () => {
    const t = await startServer(kind, dir, { limits: { maxBatchBytes: 8 * 1024 } });
    try {
      const d = await enrolledDevice(t.url, dir, 'zoe');
      appendEvents(d.stateDir, 20);
      const ls = lines(d.stateDir);
      const big = await postBatch(t.url, d.token, ls);
      assert.equal(big.status, 413);
      assert.equal((await postBatch(t.url, d.token, ls.slice(0, 2))).status, 200);
      // the forwarder halves until batches fit
      const r = await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST }).drain();
      assert.equal(r.state, 'caught-up');
      assert.equal((await stored(t, d.deviceId)).length, 20);
    } finally {
      await t.close();
    }
    const busy = await startServer(kind, dir, { limits: { maxInflightIngest: 0 } });
    try {
      const d = await enrolledDevice(busy.url, dir, 'yan');
      appendEvents(d.stateDir, 1);
      const r = await postBatch(busy.url, d.token, lines(d.stateDir));
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      const f = await new Forwarder({ stateDir: d.stateDir, managedDir: null, limits: FAST, maxAttempts: 2 }).drain();
      assert.equal(f.state, 'error');
      assert.equal(spoolStatus(d.stateDir).backlog, 1, 'nothing is dropped');
    } finally {
      await busy.close();
    }
  });
});
