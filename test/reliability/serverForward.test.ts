/**
 * The audit trail with real processes: `node dist/cli.js server` (SQLite file; PostgreSQL too when
 * AGENT_WARDEN_TEST_PG_URL is set) and `node dist/cli.js forward`, killed with SIGKILL and restarted.
 * Run after `npm run build && npx tsc -p .`:
 *   npx mocha --no-config --timeout 300000 out/test/reliability/serverForward.test.js
 *
 * 1. The server is SIGKILLed three times while the forwarder ships 6000 events: every event is stored
 *    exactly once, in seq order, with the spool's hashes.
 * 2. The forwarder is SIGKILLed again and again mid-stream (most kills land while a batch is in flight):
 *    every event stored exactly once.
 * 3. A device three days offline (20 000 events spread over 3 days, pre-generated spool) drains in order
 *    with one `warden forward --once`.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { readCursor, spoolStatus, verifyChain } from '../../src/runtime/audit/spool';
import { ADMIN, api, enrollmentToken, forEachDb, freshDb, pregenSpool, publish, tmpDir, trustRoot, type DbKind } from '../server/support';
import { enroll } from '../../src/runtime/enroll';
import { testKey } from '../cases/bundles/harness';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const p: Proc = { child, out: '', err: '', exit: undefined as never };
  child.stdout!.on('data', (c: Buffer) => (p.out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (p.err = (p.err + c.toString()).slice(-20_000)));
  p.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return p;
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class ServerProc {
  proc: Proc | undefined;
  url: string;
  constructor(
    private readonly port: number,
    private readonly args: string[],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }
  async start(): Promise<void> {
    this.proc = run(['server', '--port', String(this.port), '--log-level', 'warn', ...this.args]);
    const p = this.proc;
    await until(() => p.out.includes('warden server listening') || p.child.exitCode !== null, 'the server to listen', 30_000);
    if (!p.out.includes('warden server listening')) throw new Error(`the server did not start: ${p.err}`);
  }
  async kill(): Promise<void> {
    this.proc!.child.kill('SIGKILL');
    await this.proc!.exit;
  }
  async stop(): Promise<void> {
    if (!this.proc || this.proc.child.exitCode !== null || this.proc.child.signalCode) return;
    this.proc.child.kill('SIGTERM');
    await this.proc.exit;
  }
}

/** Every stored event of a device, via the query API (admin token), in ingest order. */
async function storedSeqs(url: string, deviceId: string): Promise<{ seq: number; id: string; time: string }[]> {
  const out: { seq: number; id: string; time: string }[] = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const r: { status: number; body: Record<string, unknown> } = await api(url, 'GET', `/v1/audit/events?device=${deviceId}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token: ADMIN });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const e of r.body.events as { seq: number; event: { id: string; time: string } }[]) out.push({ seq: e.seq, id: e.event.id, time: e.event.time });
    cursor = r.body.nextCursor as string | null;
  }
  return out;
}

function assertExactlyOnce(rows: { seq: number; id: string }[], n: number): void {
  assert.equal(rows.length, n, `${rows.length} events stored, ${n} expected`);
  assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: n }, (_, i) => i + 1), 'seq 1..n, once each, in order');
  assert.equal(new Set(rows.map((r) => r.id)).size, n, 'no event id twice');
}

forEachDb('reliability: server and forwarder as real processes', (kind: DbKind) => {
  let dir: string;
  let files: { admin: string; trust: string; receipt: string };
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    dir = tmpDir('aw-rel-srv-');
    files = { admin: path.join(dir, 'admin.token'), trust: path.join(dir, 'trust.json'), receipt: path.join(dir, 'receipt.key') };
    fs.writeFileSync(files.admin, ADMIN + '\n', { mode: 0o600 });
    fs.writeFileSync(files.trust, trustRoot());
    const k = testKey('receipt');
    fs.writeFileSync(files.receipt, JSON.stringify({ type: 'agentwarden-private-key', alg: 'ed25519', keyid: k.keyid, role: 'receipt', privateKey: k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }), { mode: 0o600 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function setup(name: string): Promise<{ server: ServerProc; drop(): Promise<void> }> {
    const db = await freshDb(kind, dir);
    const url = db.url.startsWith('sqlite:') ? `sqlite:${path.join(dir, `${name}.sqlite`)}` : db.url;
    const server = new ServerProc(await freePort(), ['--db', url, '--admin-token-file', files.admin, '--trust-root', files.trust, '--receipt-key', files.receipt]);
    await server.start();
    assert.equal((await publish(server.url, 1)).status, 201);
    return { server, drop: () => db.drop() };
  }

  async function device(server: ServerProc, user: string): Promise<{ stateDir: string; deviceId: string }> {
    const stateDir = fs.mkdtempSync(path.join(dir, 'dev-'));
    const r = await enroll({ stateDir, server: server.url, token: await enrollmentToken(server.url, user), trustRoot: trustRoot(), managedDir: null });
    return { stateDir, deviceId: r.enrollment.deviceId };
  }

  it('the server is SIGKILLed three times while forwarding: every event stored exactly once', async () => {
    const { server, drop } = await setup('kill-server');
    const N = 6000;
    let fwd: Proc | undefined;
    try {
      const d = await device(server, 'alice');
      pregenSpool(d.stateDir, N, { start: Date.now() - 3600_000, spanMs: 3600_000 });
      fwd = run(['forward', '--follow', '--home', d.stateDir]);
      for (const at of [800, 2500, 4200]) {
        await until(() => (readCursor(d.stateDir)?.ackedSeq ?? 0) >= at, `ack ≥ ${at}`);
        await server.kill();
        const acked = readCursor(d.stateDir)?.ackedSeq ?? 0;
        await sleep(300 + Math.random() * 700);
        assert.equal(readCursor(d.stateDir)?.ackedSeq ?? 0, acked, 'no acknowledgement while the server is down');
        await server.start();
      }
      await until(() => (readCursor(d.stateDir)?.ackedSeq ?? 0) === N, 'everything acknowledged');
      fwd.child.kill('SIGTERM');
      assert.equal((await fwd.exit).code, 0, fwd.err);
      assertExactlyOnce(await storedSeqs(server.url, d.deviceId), N);
      const alerts = await api(server.url, 'GET', `/v1/audit/alerts?device=${d.deviceId}`, { token: ADMIN });
      assert.deepEqual(alerts.body.alerts, [], 'no gap or fork was seen');
      assert.equal(verifyChain(d.stateDir).ok, true);
    } finally {
      fwd?.child.kill('SIGKILL');
      await server.stop();
      await drop();
    }
  });

  it('the forwarder is SIGKILLed mid-stream again and again: every event stored exactly once', async () => {
    const { server, drop } = await setup('kill-forwarder');
    // 40 batches of 500: each run is killed within ~60 ms of its first acknowledged batch, so most kills land
    // mid-stream however fast this machine drains (a fast one drained 5000 events in 4 kills).
    const N = 20_000;
    try {
      const d = await device(server, 'bob');
      pregenSpool(d.stateDir, N, { start: Date.now() - 3600_000, spanMs: 3600_000 });
      let kills = 0;
      let midStream = 0;
      while ((readCursor(d.stateDir)?.ackedSeq ?? 0) < N && kills < 200) {
        const before = readCursor(d.stateDir)?.ackedSeq ?? 0;
        const fwd = run(['forward', '--follow', '--home', d.stateDir]);
        // let it get going, then kill it at a random moment
        await until(() => (readCursor(d.stateDir)?.ackedSeq ?? 0) > before || fwd.child.exitCode !== null, 'progress', 30_000);
        await sleep(Math.random() * 60);
        fwd.child.kill('SIGKILL');
        await fwd.exit;
        kills++;
        if ((readCursor(d.stateDir)?.ackedSeq ?? 0) < N) midStream++;
      }
      assert.ok(midStream >= 5, `only ${midStream} kills landed before the end`);
      const last = run(['forward', '--once', '--home', d.stateDir]);
      assert.equal((await last.exit).code, 0, last.out + last.err);
      assert.equal(readCursor(d.stateDir)?.ackedSeq, N);
      assertExactlyOnce(await storedSeqs(server.url, d.deviceId), N);
    } finally {
      await server.stop();
      await drop();
    }
  });

  it('three days offline: a 20 000-event backlog drains in order with one `warden forward --once`', async () => {
    const { server, drop } = await setup('backlog');
    const N = 20_000;
    try {
      const d = await device(server, 'carol');
      const start = Date.now() - 3 * 86_400_000;
      pregenSpool(d.stateDir, N, { start, spanMs: 3 * 86_400_000 });
      assert.equal(spoolStatus(d.stateDir).backlog, N);
      const t0 = Date.now();
      const f = run(['forward', '--once', '--home', d.stateDir]);
      const { code } = await f.exit;
      assert.equal(code, 0, f.out + f.err);
      const result = JSON.parse(f.out) as { state: string; batches: number; acked: number };
      assert.equal(result.state, 'caught-up');
      assert.equal(result.acked, N);
      assert.ok(result.batches >= N / 500, 'batches of at most 500 events');
      const rows = await storedSeqs(server.url, d.deviceId);
      assertExactlyOnce(rows, N);
      const times = rows.map((r) => Date.parse(r.time));
      assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!), 'stored in time order');
      assert.ok(times[0]! - start < 60_000 && Date.now() - times[N - 1]! < 3600_000, 'the events span three days');
      assert.equal(spoolStatus(d.stateDir).backlog, 0);
      process.stdout.write(`      (${N} events drained in ${Date.now() - t0} ms)\n`);
    } finally {
      await server.stop();
      await drop();
    }
  });
});
