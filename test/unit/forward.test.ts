/**
 * The forwarder against a scripted HTTP server on 127.0.0.1 (no database): what it sends (gzip NDJSON,
 * Idempotency-Key, bearer token, ≤ 500 events / ≤ 1 MiB), and what it does with each kind of answer —
 * acknowledgement (cursor moves only then), 401, 409 gap (re-send from the expected seq), a fork (an
 * acknowledgement whose hash is not the local line), a refusal that names no event, a second forwarder
 * on the same state directory, and the backoff bounds.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { lineHash } from '../../src/core/audit/chain';
import { loadDeviceId } from '../../src/runtime/audit/device';
import { FileLock } from '../../src/runtime/audit/lock';
import { readAudit, readCursor } from '../../src/runtime/audit/spool';
import { writeEnrollment } from '../../src/runtime/enroll';
import { Forwarder, forwardBackoff, FORWARD_DEFAULTS, readForwardStatus } from '../../src/runtime/forward';
import { appendEvents } from '../server/support';

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  lines: string[];
  json?: Record<string, unknown>;
}

async function scripted(answer: (req: Seen, n: number) => { status: number; body?: unknown; headers?: Record<string, string> }) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const s: Seen = { path: req.url ?? '', headers: req.headers, lines: [] };
      if (req.headers['content-encoding'] === 'gzip') s.lines = zlib.gunzipSync(raw).toString('utf8').split('\n').filter(Boolean);
      else if (raw.length) s.json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      seen.push(s);
      const a = answer(s, seen.length - 1);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body === undefined ? '' : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** An "honest" server: acknowledges every batch up to its last line. */
const ack = (s: Seen) => {
  const last = s.lines[s.lines.length - 1]!;
  return { status: 200, body: { ackSeq: JSON.parse(last).seq as number, ackHash: lineHash(last), duplicates: 0 } };
};

const FAST = { backoffBaseMs: 5, backoffCapMs: 20, retryAfterMinMs: 5 };

describe('forwarder (scripted server)', () => {
  let root: string;
  let n = 0;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-fwd-'))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  function state(server: string, events: number): string {
    const dir = path.join(root, `s${++n}`);
    fs.mkdirSync(dir);
    const deviceId = loadDeviceId(dir);
    writeEnrollment(dir, { schema: 1, server, deviceId, userId: 'alice', tenant: 'acme', bundleId: null, deviceToken: 'awd_secret', enrolledAt: new Date().toISOString() });
    if (events) appendEvents(dir, events);
    return dir;
  }

  it('sends gzip NDJSON batches of ≤ 500 events with the token and Idempotency-Key <device>:<first>-<last>', async () => {
    const srv = await scripted(ack);
    try {
      const dir = state(srv.url, 1100);
      const r = await new Forwarder({ stateDir: dir, limits: FAST }).drain();
      assert.equal(r.state, 'caught-up');
      const batches = srv.seen.filter((s) => s.path === '/v1/audit/events');
      assert.deepEqual(batches.map((b) => b.lines.length), [500, 500, 100]);
      const id = loadDeviceId(dir);
      assert.deepEqual(batches.map((b) => b.headers['idempotency-key']), [`${id}:1-500`, `${id}:501-1000`, `${id}:1001-1100`]);
      assert.ok(batches.every((b) => b.headers.authorization === 'Bearer awd_secret' && b.headers['content-type'] === 'application/x-ndjson'));
      assert.deepEqual(batches.flatMap((b) => b.lines), readAudit(dir, { limit: 2000 }).records.map((x) => x.line), 'the raw spool lines, in order');
      assert.equal(readCursor(dir)!.ackedSeq, 1100);
      assert.equal(readForwardStatus(dir)!.state, 'caught-up');
    } finally {
      await srv.close();
    }
  });

  it('keeps batches under 1 MiB of raw lines', async () => {
    const srv = await scripted(ack);
    try {
      const dir = state(srv.url, 300);
      const r = await new Forwarder({ stateDir: dir, limits: { ...FAST, maxBytes: 64 * 1024 } }).drain();
      assert.equal(r.state, 'caught-up');
      for (const b of srv.seen) assert.ok(Buffer.byteLength(b.lines.join('\n') + '\n') <= 64 * 1024);
      assert.ok(srv.seen.length > 3);
    } finally {
      await srv.close();
    }
  });

  it('the cursor moves only after an acknowledgement; 5xx is retried, 401 stops', async () => {
    let mode: 'fail' | 'auth' = 'fail';
    const srv = await scripted(() => (mode === 'fail' ? { status: 500 } : { status: 401, body: { error: 'unauthorized' } }));
    try {
      const dir = state(srv.url, 10);
      const r = await new Forwarder({ stateDir: dir, limits: FAST, maxAttempts: 3 }).drain();
      assert.equal(r.state, 'error');
      assert.equal(srv.seen.length, 3);
      assert.equal(readCursor(dir), null, 'nothing acknowledged, nothing moved');
      mode = 'auth';
      const u = await new Forwarder({ stateDir: dir, limits: FAST }).drain();
      assert.equal(u.state, 'unauthorized');
      assert.match(u.message!, /re-enrol/);
    } finally {
      await srv.close();
    }
  });

  it('409 gap: re-sends from the seq the server expects', async () => {
    let gapped = false;
    const srv = await scripted((s) => {
      const first = JSON.parse(s.lines[0]!).seq as number;
      if (first === 21 && !gapped) {
        gapped = true;
        return { status: 409, body: { error: 'gap', expectedSeq: 11 } };
      }
      return ack(s);
    });
    try {
      const dir = state(srv.url, 30);
      const f = new Forwarder({ stateDir: dir, limits: { ...FAST, maxEvents: 10 } });
      const r = await f.drain();
      assert.equal(r.state, 'caught-up');
      const firsts = srv.seen.map((s) => JSON.parse(s.lines[0]!).seq as number);
      assert.deepEqual(firsts, [1, 11, 21, 11, 21]);
      assert.equal(readCursor(dir)!.ackedSeq, 30);
    } finally {
      await srv.close();
    }
  });

  it('an acknowledgement whose hash is not the local line is a fork: stop, cursor unchanged', async () => {
    const srv = await scripted((s) => ({ status: 200, body: { ackSeq: JSON.parse(s.lines[s.lines.length - 1]!).seq, ackHash: 'sha256:' + '1'.repeat(64), duplicates: 0 } }));
    try {
      const dir = state(srv.url, 5);
      const r = await new Forwarder({ stateDir: dir, limits: FAST }).drain();
      assert.equal(r.state, 'fork');
      assert.equal(readCursor(dir), null);
    } finally {
      await srv.close();
    }
  });

  it('a refusal of a single event that does not name it stops instead of dead-lettering', async () => {
    const srv = await scripted(() => ({ status: 400, body: { error: 'bad-request', message: 'the server is confused' } }));
    try {
      const dir = state(srv.url, 4);
      const r = await new Forwarder({ stateDir: dir, limits: FAST }).drain();
      assert.equal(r.state, 'rejected');
      assert.deepEqual(r.deadLettered, []);
      assert.equal(fs.existsSync(path.join(dir, 'audit', 'deadletter')), false);
      const sizes = srv.seen.map((s) => s.lines.length);
      assert.deepEqual(sizes, [4, 2, 1], 'bisected down to one event first');
    } finally {
      await srv.close();
    }
  });

  it('one forwarder per state directory across processes', async () => {
    const srv = await scripted(ack);
    try {
      const dir = state(srv.url, 3);
      const held = FileLock.tryAcquire(path.join(dir, 'audit', 'forward.lock'), { staleMs: 3600_000 });
      assert.ok(held.lock);
      try {
        assert.equal((await new Forwarder({ stateDir: dir, limits: FAST }).drain()).state, 'busy');
      } finally {
        held.lock!.release();
      }
      assert.equal((await new Forwarder({ stateDir: dir, limits: FAST }).drain()).state, 'caught-up');
    } finally {
      await srv.close();
    }
  });

  it('not enrolled: says so and sends nothing', async () => {
    const dir = path.join(root, 'bare');
    fs.mkdirSync(dir);
    assert.equal((await new Forwarder({ stateDir: dir }).drain()).state, 'not-enrolled');
  });

  it('backoff: full jitter under min(cap, base·2^(n−1)), at least 100 ms', () => {
    for (let a = 1; a < 30; a++) {
      const hi = forwardBackoff(a, FORWARD_DEFAULTS, () => 0.999999);
      assert.ok(hi <= Math.min(FORWARD_DEFAULTS.backoffCapMs, 1000 * 2 ** (a - 1)));
      assert.equal(forwardBackoff(a, FORWARD_DEFAULTS, () => 0), 100);
    }
    assert.equal(forwardBackoff(40, FORWARD_DEFAULTS, () => 0.5), 150_000);
  });
});
