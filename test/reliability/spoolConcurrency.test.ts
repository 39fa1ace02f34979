/**
 * The spool with real, concurrent processes (what Claude Code does: many hook processes at once).
 * Run: npx mocha --no-config --timeout 120000 out/test/reliability/spoolConcurrency.test.js
 *
 * 1. 200 processes start together on a fresh state dir and append 5 events each: every line complete,
 *    none lost or duplicated, seq contiguous, chain valid, one device id, each process's {seq, hash}
 *    is the stored line's.
 * 2. Processes are SIGKILLed at random moments while appending: every append that returned is on disk
 *    with its seq and hash, the chain is valid, and appends continue.
 * 3. A process is SIGKILLed while it holds the lock: the waiting processes break the stale lock,
 *    finish, and the chain records it.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EVENT_TYPES, type AuditEvent } from '../../src/core/audit/event';
import { lineHash } from '../../src/core/audit/chain';
import { appendAuditEvent, iterateAuditLines, verifyChain } from '../../src/runtime/audit/spool';
import { recordHookEvent } from '../../src/runtime/audit/record';
import { lockHolder } from '../../src/runtime/audit/lock';

/**
 * The workers run from a private copy of the compiled spool modules, so a concurrent `tsc` rewriting out/
 * cannot hand a half-written file to one of the hundreds of processes this test starts.
 */
const OUT = path.resolve(__dirname, '../..');
let snapshot: string;
let WORKER: string;
before(() => {
  snapshot = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-rel-code-'));
  // All of out/src (a few MB), so whatever the spool comes to import is there without a list to keep in step.
  for (const rel of ['src', 'test/reliability/spoolWorker.js']) {
    fs.cpSync(path.join(OUT, rel), path.join(snapshot, rel), { recursive: true, filter: (f) => !f.endsWith('.map') });
  }
  WORKER = path.join(snapshot, 'test/reliability/spoolWorker.js');
});
after(() => fs.rmSync(snapshot, { recursive: true, force: true }));

interface Worker {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const stderrOf = new WeakMap<ChildProcess, string>();

function start(stateDir: string, args: string[]): Worker {
  const child = spawn(process.execPath, [WORKER, stateDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const w: Worker = { child, out: '', err: '', exit: undefined as never };
  child.stdout!.on('data', (c: Buffer) => (w.out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    w.err += c.toString();
    stderrOf.set(child, w.err);
  });
  w.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return w;
}

async function until(pred: () => boolean, what: string, ms = 45_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    // a worker that died before it got there will never get there: say why at once
    const dead = children.find((c) => c.exitCode !== null && c.exitCode !== 0);
    if (dead) throw new Error(`a worker exited with code ${dead.exitCode} while waiting for ${what}: ${stderrOf.get(dead) ?? ''}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Reported {
  id: string;
  seq: number;
  hash: string;
}
const reported = (w: Worker): Reported[] =>
  w.out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Reported);

interface Stored {
  seq: number;
  hash: string;
  event: AuditEvent;
  bytes: number;
}

function stored(stateDir: string): Stored[] {
  const out: Stored[] = [];
  for (const l of iterateAuditLines(stateDir)) {
    assert.notEqual(l.seq, null, `malformed line in ${l.segment} at ${l.offset}`);
    out.push({ seq: l.seq!, hash: l.hash, event: JSON.parse(l.raw.toString('utf8')) as AuditEvent, bytes: l.raw.length });
  }
  return out;
}

/** Every complete line is an event, seq runs 1..n in storage order, ids unique, no stray bytes. */
function checkSpool(stateDir: string): Stored[] {
  const lines = stored(stateDir);
  lines.forEach((l, i) => assert.equal(l.seq, i + 1, `seq at position ${i}`));
  assert.equal(new Set(lines.map((l) => l.event.id)).size, lines.length, 'duplicate event ids');
  for (const l of lines) assert.ok(l.bytes <= 64 * 1024);
  const v = verifyChain(stateDir);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal((v as { lastSeq: number }).lastSeq, lines.length);
  return lines;
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-rel-'));
});
afterEach(() => {
  // a failed test must not leave workers behind (a holder sleeping forever would keep mocha alive)
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(`${tmp}.go`, { force: true });
});

describe('audit spool reliability (real processes)', function () {
  this.timeout(120_000);

  it('200 concurrent processes × 5 appends: nothing torn, interleaved, lost or duplicated; chain valid', async () => {
    const N = 200;
    const K = 5;
    const workers = Array.from({ length: N }, () => start(tmp, ['fixed', String(K), '65536']));
    await until(() => workers.every((w) => w.out.startsWith('ready')), 'all workers ready');
    const t0 = Date.now();
    fs.writeFileSync(`${tmp}.go`, '');
    const exits = await Promise.all(workers.map((w) => w.exit));
    const secs = (Date.now() - t0) / 1000;
    exits.forEach((x, i) => assert.deepEqual(x, { code: 0, signal: null }, workers[i]!.err));
    for (const w of workers) assert.equal(w.err, '');

    const lines = checkSpool(tmp);
    assert.equal(lines.length, N * K, 'exactly one line per append');
    const bySeq = new Map(lines.map((l) => [l.seq, l]));
    const all = workers.flatMap(reported);
    assert.equal(all.length, N * K);
    for (const r of all) {
      const l = bySeq.get(r.seq)!;
      assert.equal(l.event.id, r.id);
      assert.equal(l.hash, r.hash);
    }
    assert.equal(new Set(all.map((r) => r.seq)).size, N * K);
    // one device id, created once although 200 processes raced to create it
    const sources = new Set(lines.map((l) => l.event.source));
    assert.equal(sources.size, 1);
    assert.equal([...sources][0], `urn:agentwarden:device:${(JSON.parse(fs.readFileSync(path.join(tmp, 'device.json'), 'utf8')) as { deviceId: string }).deviceId}`);
    assert.ok(!lines.some((l) => l.event.type === EVENT_TYPES.audit), 'no recovery or lock-broken records without crashes');
    const segs = fs.readdirSync(path.join(tmp, 'audit', 'log'));
    assert.ok(segs.length > 3, `segments rolled (${segs.length})`);
    assert.equal(lockHolder(path.join(tmp, 'audit', 'lock')), null, 'lock released');
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'audit', 'inbox')), [], 'every request consumed, every result collected');
    console.log(`      ${N * K} events from ${N} processes in ${secs.toFixed(1)} s (from the start signal), ${segs.length} segments`);
  });

  it('processes SIGKILLed mid-append: every returned append is stored, the chain stays valid', async () => {
    const N = 30;
    const workers = Array.from({ length: N }, () => start(tmp, ['loop', '0', '32768']));
    await until(() => workers.every((w) => w.out.startsWith('ready')), 'all workers ready');
    fs.writeFileSync(`${tmp}.go`, '');
    // kill each at a random moment within ~3 s
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              w.child.kill('SIGKILL');
              resolve();
            }, 200 + Math.random() * 3000),
          ),
      ),
    );
    const exits = await Promise.all(workers.map((w) => w.exit));
    for (const [i, x] of exits.entries()) assert.equal(x.signal, 'SIGKILL', `worker ${i} exited early: ${workers[i]!.err}`);
    for (const w of workers) assert.equal(w.err, '');
    // a later hook still appends (breaking a lock left by a killed holder, cutting a torn line if any)
    const after = recordHookEvent({ stateDir: tmp, user: 'u', clientVersion: 'x', spool: { segmentBytes: 32768 } }, { hook_event_name: 'SessionEnd', reason: 'exit' });
    const lines = checkSpool(tmp);
    assert.equal(after.seq, lines[lines.length - 1]!.seq);
    const bySeq = new Map(lines.map((l) => [l.seq, l]));
    const all = workers.flatMap(reported);
    assert.ok(all.length > N, `appends happened (${all.length})`);
    for (const r of all) {
      const l = bySeq.get(r.seq);
      assert.ok(l, `acknowledged seq ${r.seq} missing`);
      assert.equal(l.event.id, r.id);
      assert.equal(l.hash, r.hash);
    }
    const broken = lines.filter((l) => l.event.type === EVENT_TYPES.audit).length;
    console.log(`      ${all.length} acknowledged appends, ${lines.length} lines, ${broken} recovery/lock-broken records`);
  });

  it('a holder SIGKILLed with the lock: waiting processes break the stale lock and finish', async () => {
    appendAuditEvent(tmp, JSON.parse(JSON.stringify({ specversion: '1.0', id: '01J00000000000000000000000', source: 'urn:agentwarden:device:x', type: EVENT_TYPES.hook, time: new Date().toISOString(), datacontenttype: 'application/json', dataschema: 'urn:agentwarden:schema:hook.v1', data: {} })));
    const holder = start(tmp, ['hold']);
    await until(() => holder.out.startsWith('ready'), 'holder ready');
    fs.writeFileSync(`${tmp}.go`, '');
    await until(() => holder.out.includes('holding'), 'holder holds the lock');
    assert.equal(lockHolder(path.join(tmp, 'audit', 'lock'))!.token!.pid, holder.child.pid);
    // the holder is alive for as long as it takes 50 processes to start on a loaded machine: only its death
    // (not the age of its lease) may let them in
    const workers = Array.from({ length: 50 }, () => start(tmp, ['fixed', '2', '65536', '600000']));
    await until(() => workers.every((w) => w.out.includes('ready')), 'workers ready');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(workers.flatMap(reported).length, 0, 'nobody appends while the lock is held');
    holder.child.kill('SIGKILL');
    const exits = await Promise.all(workers.map((w) => w.exit));
    exits.forEach((x, i) => assert.deepEqual(x, { code: 0, signal: null }, workers[i]!.err));
    const lines = checkSpool(tmp);
    assert.equal(lines.length, 1 + 1 + 100, 'first event + one lock-broken record + 100 appends');
    const brokenRecs = lines.filter((l) => l.event.type === EVENT_TYPES.audit);
    assert.equal(brokenRecs.length, 1);
    const d = brokenRecs[0]!.event.data as unknown as { action: string; detail: { pid: number } };
    assert.deepEqual([d.action, d.detail.pid], ['lock-broken', holder.child.pid]);
    assert.equal(lineHash(fs.readFileSync(path.join(tmp, 'audit', 'log', 'seg-0000000000000001.ndjson'), 'utf8').split('\n')[0]!), lines[0]!.hash);
  });
});
