#!/usr/bin/env node
// Central server benchmark: events/s through spool → forwarder → server → database.
//
//   node bench/server.mjs [--events 20000] [--devices 1,4] [--json]
//
// For each database (SQLite always; PostgreSQL when AGENT_WARDEN_TEST_PG_URL is set) and each device count:
// a real `dist/cli.js server` process on 127.0.0.1 (receipts signed, as in production), N enrolled devices
// each with a pre-generated spool of events/N chained decision events, and N forwarders (the real
// Forwarder, in this process, one request in flight each) draining concurrently. Reports events/s from
// the first request to the last acknowledgement, batches, and the bytes sent. The spool is pre-generated
// (writing it is the spool benchmark's business: bench/audit.mjs). Numbers only, no assertions.
// Needs `npm run build && npx tsc -p .` first.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const sup = require(path.join(root, 'out/test/server/support.js'));
const { Forwarder } = require(path.join(root, 'out/src/runtime/forward.js'));
const { enroll } = require(path.join(root, 'out/src/runtime/enroll.js'));
const { testKey } = require(path.join(root, 'out/test/cases/bundles/harness.js'));

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '20000' }, devices: { type: 'string', default: '1,4' }, json: { type: 'boolean', default: false } } });
const EVENTS = Number(args.events);
const DEVICES = args.devices.split(',').map(Number);
const CLI = path.join(root, 'dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: npm run build');

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

async function startServer(dbUrl, dir) {
  const admin = path.join(dir, 'admin.token');
  const trust = path.join(dir, 'trust.json');
  const receipt = path.join(dir, 'receipt.key');
  fs.writeFileSync(admin, sup.ADMIN, { mode: 0o600 });
  fs.writeFileSync(trust, sup.trustRoot());
  const k = testKey('receipt');
  fs.writeFileSync(receipt, JSON.stringify({ type: 'agentwarden-private-key', alg: 'ed25519', keyid: k.keyid, role: 'receipt', privateKey: k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }), { mode: 0o600 });
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'server', '--port', String(port), '--db', dbUrl, '--admin-token-file', admin, '--trust-root', trust, '--receipt-key', receipt, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const t0 = Date.now();
  while (!out.includes('listening')) {
    if (Date.now() - t0 > 30_000 || child.exitCode !== null) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = `http://127.0.0.1:${port}`;
  await sup.publish(url, 1);
  return { url, stop: () => new Promise((r) => (child.on('exit', r), child.kill('SIGTERM'))) };
}

async function runOne(kind, devices) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-bench-srv-'));
  const db = await sup.freshDb(kind, dir);
  const dbUrl = kind === 'sqlite' ? `sqlite:${path.join(dir, 'bench.sqlite')}` : db.url;
  const server = await startServer(dbUrl, dir);
  try {
    const per = Math.floor(EVENTS / devices);
    const states = [];
    for (let i = 0; i < devices; i++) {
      const stateDir = fs.mkdtempSync(path.join(dir, 'dev-'));
      await enroll({ stateDir, server: server.url, token: await sup.enrollmentToken(server.url, `user${i}`), trustRoot: sup.trustRoot(), managedDir: null });
      sup.pregenSpool(stateDir, per, { start: Date.now() - 3 * 86_400_000, spanMs: 3 * 86_400_000 });
      states.push(stateDir);
    }
    const bytes = states.reduce((n, s) => n + fs.readdirSync(path.join(s, 'audit', 'log')).reduce((m, f) => m + fs.statSync(path.join(s, 'audit', 'log', f)).size, 0), 0);
    const t0 = process.hrtime.bigint();
    const results = await Promise.all(states.map((stateDir) => new Forwarder({ stateDir, managedDir: null }).drain()));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const acked = results.reduce((n, r) => n + r.acked, 0);
    if (results.some((r) => r.state !== 'caught-up') || acked !== per * devices) throw new Error(`not drained: ${JSON.stringify(results)}`);
    return { db: kind, devices, events: acked, seconds: +secs.toFixed(3), eventsPerSec: Math.round(acked / secs), batches: results.reduce((n, r) => n + r.batches, 0), rawMiB: +(bytes / 1048576).toFixed(1), mibPerSec: +(bytes / 1048576 / secs).toFixed(1) };
  } finally {
    await server.stop();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const kinds = ['sqlite', ...(process.env.AGENT_WARDEN_TEST_PG_URL ? ['postgres'] : [])];
const rows = [];
for (const kind of kinds) for (const d of DEVICES) rows.push(await runOne(kind, d));
const meta = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString() };
if (args.json) console.log(JSON.stringify({ meta, rows }, null, 2));
else {
  console.log(`spool → forwarder → server → database (${meta.node}, ${meta.cpus} × ${meta.cpu})`);
  console.log('db        devices  events   seconds  events/s  batches  raw MiB  MiB/s');
  for (const r of rows) console.log(`${r.db.padEnd(9)} ${String(r.devices).padStart(7)}  ${String(r.events).padStart(6)}  ${String(r.seconds).padStart(8)}  ${String(r.eventsPerSec).padStart(8)}  ${String(r.batches).padStart(7)}  ${String(r.rawMiB).padStart(7)}  ${String(r.mibPerSec).padStart(5)}`);
}
if (!kinds.includes('postgres')) console.log('(PostgreSQL skipped: set AGENT_WARDEN_TEST_PG_URL, e.g. eval "$(bash scripts/ci-postgres.sh)")');
