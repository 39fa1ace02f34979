/**
 * The on-disk spool in one process: chaining, tamper detection (edit, delete, reorder, duplicate, gap),
 * torn trailing lines, segment rolling, cap levels, write errors, locks, acknowledgement and pruning.
 * Concurrency with real processes: test/reliability/spoolConcurrency.test.ts.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GENESIS_PREV, lineHash } from '../../src/core/audit/chain';
import { buildDecisionEvent, buildHookEvent, EVENT_TYPES, type AuditContext, type AuditEventDraft } from '../../src/core/audit/event';
import type { Decision, HookInput } from '../../src/core/types';
import { loadDeviceId, readDeviceId } from '../../src/runtime/audit/device';
import { FileLock, formatToken, genName, lockHolder } from '../../src/runtime/audit/lock';
import { recordDecision } from '../../src/runtime/audit/record';
import {
  ackUpTo,
  appendAuditEvent,
  AuditError,
  iterateAuditLines,
  readAudit,
  readAuditEvents,
  applyLocalRetention,
  defaultCapBytes,
  spoolStatus,
  verifyChain,
  type AppendOptions,
  type VerifyBreak,
} from '../../src/runtime/audit/spool';

const ctx: AuditContext = { actor: { user: 'alice', deviceId: 'dev-test-0001', host: 'h' }, client: { version: '0.1.0', os: 'linux-x64' } };

function decision(effect: Decision['effect']): Decision {
  return { effect, verdict: effect, ruleIds: effect === 'allow' ? [] : ['r.block'], reason: `${effect} because`, explicit: effect !== 'allow', mode: 'enforce', matches: [], unanalyzable: [], policy: { id: 'builtin:baseline', version: '1' } };
}

const input = (i: number): HookInput => ({ session_id: 's', cwd: '/w', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_use_id: `t${i}`, tool_input: { command: `echo ${i}` } });
const ev = (i: number, effect: Decision['effect'] = 'allow'): AuditEventDraft<unknown> => buildDecisionEvent(input(i), decision(effect), ctx, { latencyMs: 0.1 });

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-spool-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const segDir = (): string => path.join(tmp, 'audit', 'log');
const segFiles = (): string[] => fs.readdirSync(segDir()).sort().map((n) => path.join(segDir(), n));
const lines = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, ls: string[]): void => fs.writeFileSync(file, ls.map((l) => l + '\n').join(''));

function appendN(n: number, opts: AppendOptions = {}): void {
  for (let i = 1; i <= n; i++) appendAuditEvent(tmp, ev(i), opts);
}

function expectBreak(kind: string, seq: number | null): VerifyBreak {
  const r = verifyChain(tmp);
  assert.equal(r.ok, false, 'the break must be detected');
  const b = r as VerifyBreak;
  assert.equal(b.break.kind, kind, b.break.message);
  assert.equal(b.break.seq, seq, b.break.message);
  return b;
}

function audErr(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof AuditError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  };
}

describe('audit spool: append and chain', () => {
  it('assigns contiguous seq from 1 and chains prev to the hash of the previous raw line', () => {
    const results = Array.from({ length: 5 }, (_, i) => appendAuditEvent(tmp, ev(i)));
    assert.deepEqual(results.map((r) => r.seq), [1, 2, 3, 4, 5]);
    const ls = lines(segFiles()[0]!);
    assert.equal(ls.length, 5);
    let prev = GENESIS_PREV;
    ls.forEach((l, i) => {
      const o = JSON.parse(l) as { seq: number; prev: string; id: string };
      assert.ok(l.startsWith(`{"seq":${i + 1},"prev":"${prev}",`));
      assert.equal(o.prev, prev);
      assert.equal(o.id, results[i]!.id);
      assert.equal(results[i]!.hash, lineHash(l));
      prev = lineHash(l);
    });
    const v = verifyChain(tmp);
    assert.deepEqual(v, { ok: true, events: 5, firstSeq: 1, lastSeq: 5, lastHash: prev, tornTailBytes: 0, anchoredAt: null });
  });

  it('strips any seq/prev the caller put on the draft', () => {
    const e = { ...ev(1), seq: 99, prev: 'x' } as AuditEventDraft<unknown>;
    const r = appendAuditEvent(tmp, e);
    assert.equal(r.seq, 1);
    assert.equal((lines(segFiles()[0]!)[0]!.match(/"seq"/g) ?? []).length, 1);
  });

  it('rejects a draft that is not an event', () => {
    assert.throws(() => appendAuditEvent(tmp, { specversion: '1.0' } as AuditEventDraft<unknown>), audErr('INVALID'));
  });

  it('trims an oversized draft to the max event size', () => {
    const big = { ...ev(1), data: { blob: 'x'.repeat(200_000) } } as AuditEventDraft<unknown>;
    appendAuditEvent(tmp, big);
    const l = lines(segFiles()[0]!)[0]!;
    assert.ok(Buffer.byteLength(l) <= 64 * 1024);
    assert.equal((JSON.parse(l) as { data: { truncated: boolean } }).data.truncated, true);
  });

  it('rolls segments at the size limit, names them by first seq, reads and verifies across them', () => {
    appendN(40, { segmentBytes: 4096 });
    const names = fs.readdirSync(segDir()).sort();
    assert.ok(names.length > 5, names.join());
    let expectFirst = 1;
    for (const n of names) {
      assert.equal(n, `seg-${String(expectFirst).padStart(16, '0')}.ndjson`);
      const ls = lines(path.join(segDir(), n));
      assert.ok(fs.statSync(path.join(segDir(), n)).size <= 4096 || ls.length === 1);
      expectFirst += ls.length;
    }
    assert.equal(verifyChain(tmp).ok, true);
    const recs = readAuditEvents(tmp, 7, 20);
    assert.deepEqual(recs.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 7));
    assert.equal(recs[0]!.event!.seq, 7);
  });

  it('reads incrementally from a position and respects maxBytes', () => {
    appendN(10, { segmentBytes: 4096 });
    const a = readAudit(tmp, { fromSeq: 1, limit: 4 });
    assert.deepEqual(a.records.map((r) => r.seq), [1, 2, 3, 4]);
    const b = readAudit(tmp, { fromSeq: a.next!.seq, position: { segment: a.next!.segment, offset: a.next!.offset } });
    assert.deepEqual(b.records.map((r) => r.seq), [5, 6, 7, 8, 9, 10]);
    const c = readAudit(tmp, { fromSeq: 1, maxBytes: 1 });
    assert.equal(c.records.length, 1, 'at least one record even when larger than maxBytes');
    // a stale position (wrong offset) falls back to scanning
    const d = readAudit(tmp, { fromSeq: 6, position: { segment: a.next!.segment, offset: 3 } });
    assert.equal(d.records[0]!.seq, 6);
  });
});

describe('audit spool: tamper detection', () => {
  beforeEach(() => appendN(10));

  it('an edited line breaks the next link (prev mismatch)', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    ls[4] = ls[4]!.replace('"effect":"allow"', '"effect":"deny"');
    assert.ok(ls[4]!.includes('"effect":"deny"'));
    writeLines(f, ls);
    const b = expectBreak('prev-mismatch', 6);
    assert.equal(b.break.line, 6);
    assert.equal(b.events, 5);
  });

  it('a deleted line is a seq gap', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    ls.splice(3, 1);
    writeLines(f, ls);
    const b = expectBreak('seq-gap', 5);
    assert.equal(b.break.expectedSeq, 4);
  });

  it('reordered lines are reported as reordered', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    [ls[3], ls[4]] = [ls[4]!, ls[3]!];
    writeLines(f, ls);
    expectBreak('reordered', 5);
  });

  it('a duplicated line is reported as duplicate', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    ls.splice(5, 0, ls[4]!);
    writeLines(f, ls);
    expectBreak('duplicate', 5);
  });

  it('a garbage line is malformed', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    ls[2] = '{"hello":"world"}';
    writeLines(f, ls);
    expectBreak('malformed', null);
  });

  it('a line whose seq/prev fields disagree with its head is malformed', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    ls[2] = ls[2]!.slice(0, -1) + ',"seq":4}';
    writeLines(f, ls);
    expectBreak('malformed', 3);
  });

  it('a deleted middle segment is a seq gap', () => {
    appendN(30, { segmentBytes: 4096 });
    const files = segFiles();
    assert.ok(files.length >= 3);
    fs.rmSync(files[1]!);
    expectBreak('seq-gap', Number(path.basename(files[2]!).slice(4, 20)));
  });

  it('deleting the first segment without an anchor is a gap at the start', () => {
    appendN(30, { segmentBytes: 4096 });
    fs.rmSync(segFiles()[0]!);
    const b = expectBreak('seq-gap', Number(path.basename(segFiles()[0]!).slice(4, 20)));
    assert.equal(b.break.expectedSeq, 1);
  });

  it('an edit of the last line is caught once that line is acknowledged', () => {
    const f = segFiles()[0]!;
    const ls = lines(f);
    ackUpTo(tmp, 10, lineHash(ls[9]!));
    ls[9] = ls[9]!.replace('echo 10', 'echo 11');
    writeLines(f, ls);
    expectBreak('anchor-mismatch', 10);
  });
});

describe('audit spool: crash recovery', () => {
  it('a torn trailing line is ignored by readers and cut by the next append, which records it', () => {
    appendN(3);
    const f = segFiles()[0]!;
    const before = fs.readFileSync(f);
    const torn = '{"seq":4,"prev":"sha256:' + 'a'.repeat(30);
    fs.appendFileSync(f, torn);
    const v = verifyChain(tmp);
    assert.equal(v.ok, true);
    assert.equal((v as { tornTailBytes: number }).tornTailBytes, torn.length);
    assert.equal(spoolStatus(tmp).tornTailBytes, torn.length);
    assert.deepEqual(readAuditEvents(tmp).map((r) => r.seq), [1, 2, 3]);
    const r = appendAuditEvent(tmp, ev(4));
    assert.equal(r.seq, 5, 'seq 4 is the recovery record');
    const after = fs.readFileSync(f);
    assert.ok(after.subarray(0, before.length).equals(before), 'complete lines untouched');
    const recs = readAuditEvents(tmp);
    assert.deepEqual(recs.map((x) => x.seq), [1, 2, 3, 4, 5]);
    assert.equal(recs[3]!.event!.type, EVENT_TYPES.audit);
    assert.deepEqual((recs[3]!.event!.data as { action: string; detail: unknown }).detail, { segment: path.basename(f), offset: before.length, tornBytes: torn.length });
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('an empty segment left by a crash during a roll is reused', () => {
    appendN(3);
    fs.writeFileSync(path.join(segDir(), 'seg-0000000000000004.ndjson'), '');
    const r = appendAuditEvent(tmp, ev(4));
    assert.equal(r.seq, 4);
    assert.equal(lines(path.join(segDir(), 'seg-0000000000000004.ndjson')).length, 1);
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('a corrupt last line stops appends (fail closed) instead of extending a broken chain', () => {
    appendN(2);
    fs.appendFileSync(segFiles()[0]!, 'garbage\n');
    assert.throws(() => appendAuditEvent(tmp, ev(3)), audErr('CORRUPT'));
  });
});

describe('audit spool: local retention (a device with no server)', () => {
  it('past the warn level, the oldest sealed segments go until the spool is under 60 %, the chain still verifies, and the chain says what went', () => {
    const opts = { capBytes: 60 * 1024, segmentBytes: 4096 };
    let level = 'ok';
    let i = 0;
    while (level === 'ok') level = appendAuditEvent(tmp, ev(++i), opts).level;
    assert.equal(level, 'warn');
    const before = spoolStatus(tmp, opts);
    assert.deepEqual(applyLocalRetention(tmp, { capBytes: 40 * 1024 * 100 }), [], 'nothing to do below the warn level');
    const removed = applyLocalRetention(tmp, opts);
    assert.ok(removed.length > 0);
    const after = spoolStatus(tmp, opts);
    assert.equal(after.level, 'ok');
    assert.ok(after.bytesUsed <= opts.capBytes * 0.6 + 4096, `${after.bytesUsed} bytes left`);
    assert.ok(after.segments.length < before.segments.length);
    assert.equal(verifyChain(tmp).ok, true, JSON.stringify(verifyChain(tmp)));
    const last = readAuditEvents(tmp, after.lastSeq, 1)[0]!.event!;
    assert.equal(last.type, EVENT_TYPES.audit);
    const data = last.data as unknown as { action: string; detail: { fromSeq: number; toSeq: number; segments: string } };
    assert.equal(data.action, 'local-retention');
    assert.equal(data.detail.fromSeq, 1);
    assert.equal(data.detail.segments.split(',').length, removed.length);
    // Appending goes on from where the chain was.
    assert.equal(appendAuditEvent(tmp, ev(++i), opts).seq, after.lastSeq + 1);
  });

  it('the segment size follows a small cap, so there is always something retention can remove', () => {
    for (let i = 1; i <= 40; i++) appendAuditEvent(tmp, ev(i), { capBytes: 200_000 });
    assert.ok(spoolStatus(tmp, { capBytes: 200_000 }).segments.length > 1);
  });
});

describe('audit spool: disk cap', () => {
  it('the default cap is AGENT_WARDEN_SPOOL_CAP when set (so the hook, doctor and audit status agree), else 256 MiB', () => {
    assert.equal(defaultCapBytes({}), 256 * 1024 * 1024);
    assert.equal(defaultCapBytes({ AGENT_WARDEN_SPOOL_CAP: '123456' }), 123456);
    for (const bad of ['', '0', '-5', '1.5', 'lots']) assert.equal(defaultCapBytes({ AGENT_WARDEN_SPOOL_CAP: bad }), 256 * 1024 * 1024, bad);
    const before = process.env.AGENT_WARDEN_SPOOL_CAP;
    process.env.AGENT_WARDEN_SPOOL_CAP = '50000';
    try {
      assert.equal(spoolStatus(tmp).capBytes, 50000);
    } finally {
      if (before === undefined) delete process.env.AGENT_WARDEN_SPOOL_CAP;
      else process.env.AGENT_WARDEN_SPOOL_CAP = before;
    }
  });

  it('ok → warn at 80 % (recorded) → critical at 95 %: allow refused, deny accepted → full: everything refused', () => {
    const cap = 40 * 1024;
    const opts = { capBytes: cap };
    const levels: string[] = [];
    let criticalSeen = false;
    for (let i = 0; i < 200; i++) {
      try {
        levels.push(appendAuditEvent(tmp, ev(i, 'allow'), opts).level);
      } catch (e) {
        assert.ok(e instanceof AuditError);
        assert.equal(e.code, 'CRITICAL', e.message);
        criticalSeen = true;
        break;
      }
    }
    assert.ok(criticalSeen);
    assert.ok(levels.includes('ok') && levels.includes('warn'), levels.join());
    const overflow = readAuditEvents(tmp, 1, 1000).filter((r) => r.event!.type === EVENT_TYPES.audit);
    assert.equal(overflow.length, 1);
    assert.deepEqual((overflow[0]!.event!.data as unknown as { detail: { level: string } }).detail.level, 'warn');
    // deny and ask decisions and hook events are still recorded above 95 %
    let full = false;
    let priorityWrites = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      try {
        const r = appendAuditEvent(tmp, i % 2 ? ev(i, 'deny') : buildHookEvent({ hook_event_name: 'SessionEnd', reason: 'exit' }, ctx), opts);
        seen.add(r.level);
        priorityWrites++;
      } catch (e) {
        assert.ok(e instanceof AuditError, String(e));
        assert.equal(e.code, 'FULL', e.message);
        full = true;
        break;
      }
    }
    assert.ok(full && priorityWrites > 0);
    assert.ok(seen.has('critical'), [...seen].join());
    assert.throws(() => appendAuditEvent(tmp, ev(1, 'deny'), opts), audErr('FULL'));
    assert.throws(() => appendAuditEvent(tmp, ev(1, 'allow'), opts), audErr('FULL'));
    const st = spoolStatus(tmp, opts);
    assert.ok(st.bytesUsed <= cap);
    assert.ok(st.level === 'critical', st.level);
    const crit = readAuditEvents(tmp, 1, 1000).filter((r) => r.event!.type === EVENT_TYPES.audit).map((r) => (r.event!.data as unknown as { detail: { level: string } }).detail.level);
    assert.deepEqual(crit, ['warn', 'critical']);
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('near the cap, acknowledged segments are deleted to make room', () => {
    const opts = { capBytes: 32 * 1024, segmentBytes: 4096 };
    let last = appendAuditEvent(tmp, ev(0), opts);
    while (last.bytesUsed < opts.capBytes * 0.6) last = appendAuditEvent(tmp, ev(last.seq), opts);
    ackUpTo(tmp, last.seq, last.hash, opts);
    const perEvent = last.bytesUsed / last.seq;
    const more = Math.ceil((opts.capBytes * 0.6) / perEvent); // 120 % of the cap in total: only fits if acked segments go
    for (let i = 0; i < more; i++) appendAuditEvent(tmp, ev(i), opts);
    const st = spoolStatus(tmp, opts);
    assert.ok(st.bytesUsed <= opts.capBytes * 0.8, `${st.bytesUsed}`);
    assert.equal(st.lastSeq, last.seq + more);
    const v = verifyChain(tmp);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.ok((v as { anchoredAt: number | null }).anchoredAt! > 0);
  });

  it('a file-system error throws IO (the hook then denies)', () => {
    fs.mkdirSync(path.join(tmp, 'audit'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'audit', 'log'), 'not a directory');
    assert.throws(() => appendAuditEvent(tmp, ev(1)), audErr('IO'));
    const blocked = path.join(tmp, 'file-as-state-dir');
    fs.writeFileSync(blocked, '');
    assert.throws(() => appendAuditEvent(blocked, ev(1)), audErr('IO'));
  });
});

describe('audit spool: lock', () => {
  const lockDir = (): string => path.join(tmp, 'audit', 'lock');
  const genFile = (n: number): string => path.join(lockDir(), genName(n));
  const token = (pid: number, created: number): string => formatToken({ pid, host: os.hostname(), boot: Math.round(Date.now() / 1000 - os.uptime()), created, nonce: '0123456789abcdef' });
  /** Plant generation n, newer than any the appends made, held by `text`. */
  const plant = (text: string): string => {
    const n = 1000;
    fs.writeFileSync(genFile(n), text);
    return genFile(n);
  };

  it('each append takes a new generation and releases it', () => {
    appendN(3);
    assert.equal(lockHolder(lockDir()), null);
    const names = fs.readdirSync(lockDir()).sort();
    assert.ok(names.every((n) => n.endsWith('.rel')), names.join());
    assert.ok(names.includes(`${genName(3)}.rel`));
    assert.ok(names.length <= 3, 'old generations are cleaned up');
  });

  it('a lease held by a live process makes the append wait, then fail with BUSY', () => {
    appendN(1);
    const f = plant(token(process.pid, Date.now()));
    assert.equal(lockHolder(lockDir())!.token!.pid, process.pid);
    assert.equal(spoolStatus(tmp).lock!.pid, process.pid);
    const t0 = Date.now();
    assert.throws(() => appendAuditEvent(tmp, ev(2), { timeoutMs: 300 }), audErr('BUSY'));
    assert.ok(Date.now() - t0 >= 290);
    assert.ok(fs.existsSync(f), 'a live lease is not taken over');
  });

  it('a lease left by a dead process is taken over at once, and recorded', () => {
    appendN(1);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    plant(token(dead, Date.now()));
    const t0 = Date.now();
    const r = appendAuditEvent(tmp, ev(2), { timeoutMs: 2000 });
    assert.ok(Date.now() - t0 < 1500);
    assert.equal(r.seq, 3);
    const rec = readAuditEvents(tmp)[1]!;
    assert.equal(rec.event!.type, EVENT_TYPES.audit);
    assert.equal((rec.event!.data as { action: string }).action, 'lock-broken');
    assert.equal((rec.event!.data as unknown as { detail: { pid: number } }).detail.pid, dead);
    assert.equal(lockHolder(lockDir()), null);
    assert.ok(fs.existsSync(`${genFile(1001)}.rel`), 'the next generation was used');
  });

  it('a lease held longer than the stale limit by a live-looking pid is taken over', () => {
    appendN(1);
    const f = plant(token(process.pid, Date.now() - 60_000));
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(f, old, old);
    const r = appendAuditEvent(tmp, ev(2), { timeoutMs: 2000, staleLockMs: 1000 });
    assert.equal(r.seq, 3);
  });

  it('an empty lease (holder died before writing its token) is taken over after the stale limit', () => {
    appendN(1);
    const f = plant('');
    assert.throws(() => appendAuditEvent(tmp, ev(2), { timeoutMs: 200, staleLockMs: 5000 }), audErr('BUSY'));
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(f, old, old);
    assert.equal(appendAuditEvent(tmp, ev(2), { timeoutMs: 2000, staleLockMs: 5000 }).seq, 3);
  });

  it('a holder that was superseded does not write (LOCK_LOST)', () => {
    fs.mkdirSync(lockDir(), { recursive: true });
    const a = FileLock.acquire(lockDir());
    a.assertHeld();
    // another process takes over (as after the stale limit)
    fs.writeFileSync(genFile(a.generation + 1), token(process.pid, Date.now()));
    assert.throws(() => a.assertHeld(), /lost the audit spool lock/);
    a.release();
    assert.equal(lockHolder(lockDir())!.generation, a.generation + 1);
  });
});

describe('audit spool: group commit through the inbox', () => {
  const inbox = (): string => path.join(tmp, 'audit', 'inbox');
  /** What a waiting process leaves: `<id>.<ms base 36>-<8 hex>.req` = `P|N` newline body. */
  const request = (e: AuditEventDraft<unknown>, tag: string, priority = false, ext = 'req'): string => {
    fs.mkdirSync(inbox(), { recursive: true });
    const key = `${e.id}.${Date.now().toString(36)}-${Buffer.from(tag.padEnd(4, '0').slice(0, 4)).toString('hex')}`;
    fs.writeFileSync(path.join(inbox(), `${key}.${ext}`), `${priority ? 'P' : 'N'}\n${JSON.stringify(e)}`);
    return key;
  };
  const result = (key: string): { ok: boolean; seq?: number; hash?: string; code?: string } => JSON.parse(fs.readFileSync(path.join(inbox(), `${key}.res`), 'utf8'));

  it('the lock holder stores waiting requests in the same batch and hands each its seq and hash', () => {
    appendN(1);
    const a = request(ev(10), 'aaaa');
    const b = request(ev(11, 'deny'), 'bbbb', true);
    const own = appendAuditEvent(tmp, ev(12));
    const recs = readAuditEvents(tmp);
    assert.equal(recs.length, 4);
    const ra = result(a);
    const rb = result(b);
    assert.equal(ra.ok, true);
    assert.equal(rb.ok, true);
    const bySeq = new Map(recs.map((r) => [r.seq, r]));
    assert.equal(bySeq.get(ra.seq!)!.event!.id, a.split('.')[0]);
    assert.equal(ev(0).id.length, 26);
    assert.equal(bySeq.get(ra.seq!)!.hash, ra.hash);
    assert.equal(bySeq.get(rb.seq!)!.event!.id, b.split('.')[0]);
    assert.equal(bySeq.get(own.seq)!.event!.id, own.id);
    assert.deepEqual(fs.readdirSync(inbox()).sort(), [`${a}.res`, `${b}.res`].sort(), 'requests consumed, results published');
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('a request claimed by a leader that died after writing it is answered from the log, not stored twice', () => {
    const e = ev(20);
    appendAuditEvent(tmp, e);
    const key = request(e, 'dead', false, 'claimed'); // claimed, and its line is already in the log
    const other = request(ev(21), 'live0', false, 'claimed'); // claimed but never written
    appendAuditEvent(tmp, ev(22));
    const recs = readAuditEvents(tmp);
    assert.deepEqual(recs.map((r) => r.event!.id).filter((id) => id === e.id).length, 1, 'not duplicated');
    assert.equal(result(key).seq, 1);
    assert.equal(result(other).ok, true);
    assert.equal(recs.length, 3);
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('a damaged request is refused without breaking the batch or the framing', () => {
    appendN(1);
    fs.mkdirSync(inbox(), { recursive: true });
    const bad = `01J0000000000000000000BAD0.${Date.now().toString(36)}-cafecafe`;
    fs.writeFileSync(path.join(inbox(), `${bad}.req`), 'N\n{"a":1}\n{"injected":true}');
    const good = request(ev(40), 'good');
    appendAuditEvent(tmp, ev(41));
    assert.deepEqual([result(bad).ok, result(bad).code], [false, 'INVALID']);
    assert.equal(result(good).ok, true);
    assert.equal(readAuditEvents(tmp).length, 3);
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('results of old-dated events survive; results nobody collected for a minute are removed', () => {
    appendN(1);
    const old = buildDecisionEvent(input(50), decision('allow'), { ...ctx, now: Date.UTC(2020, 0, 1) }, { latencyMs: 0 });
    const key = request(old, 'old0');
    const stale = `${ev(51).id}.${(Date.now() - 120_000).toString(36)}-00000000.res`;
    fs.writeFileSync(path.join(inbox(), stale), '{}');
    appendAuditEvent(tmp, ev(52)); // leads: stores the request, then looks for more (and cleans up)
    appendAuditEvent(tmp, ev(53));
    assert.equal(result(key).ok, true);
    assert.ok(!fs.existsSync(path.join(inbox(), stale)));
  });

  it('requests over the cap get the refusal as their result', () => {
    const cap = 100 * 1024;
    let r = appendAuditEvent(tmp, ev(0, 'deny'), { capBytes: cap });
    while (r.bytesUsed < cap * 0.955) r = appendAuditEvent(tmp, ev(r.seq, 'deny'), { capBytes: cap });
    const allow = request(ev(30), 'allow');
    const deny = request(ev(31, 'deny'), 'denyy', true);
    appendAuditEvent(tmp, buildHookEvent({ hook_event_name: 'SessionEnd' }, ctx), { capBytes: cap });
    assert.deepEqual([result(allow).ok, result(allow).code], [false, 'CRITICAL']);
    assert.equal(result(deny).ok, true);
  });

  it('a waiter that gives up withdraws its request (nothing is stored for a call that was denied)', () => {
    appendN(1);
    fs.writeFileSync(path.join(tmp, 'audit', 'lock', genName(1000)), formatToken({ pid: process.pid, host: os.hostname(), boot: Math.round(Date.now() / 1000 - os.uptime()), created: Date.now(), nonce: 'feedfacefeedface' }));
    assert.throws(() => appendAuditEvent(tmp, ev(2), { timeoutMs: 200 }), audErr('BUSY'));
    assert.deepEqual(fs.readdirSync(inbox()), []);
    fs.rmSync(path.join(tmp, 'audit', 'lock', genName(1000)));
    appendAuditEvent(tmp, ev(3));
    assert.equal(readAuditEvents(tmp).length, 2);
  });
});

describe('audit spool: acknowledgement and pruning', () => {
  it('ackUpTo checks the hash, moves the cursor, and status reports the backlog', () => {
    const rs = Array.from({ length: 12 }, (_, i) => appendAuditEvent(tmp, ev(i)));
    assert.equal(spoolStatus(tmp).backlog, 12);
    assert.throws(() => ackUpTo(tmp, 5, rs[5]!.hash), audErr('ACK_MISMATCH'));
    assert.throws(() => ackUpTo(tmp, 99, rs[5]!.hash), audErr('INVALID'));
    assert.throws(() => ackUpTo(tmp, 0, rs[0]!.hash), audErr('INVALID'));
    assert.throws(() => ackUpTo(tmp, 5, 'nope'), audErr('INVALID'));
    const a = ackUpTo(tmp, 5, rs[4]!.hash);
    assert.deepEqual([a.ackedSeq, a.ackedHash], [5, rs[4]!.hash]);
    const st = spoolStatus(tmp);
    assert.deepEqual([st.ackedSeq, st.backlog, st.lastSeq], [5, 7, 12]);
    // an older ack changes nothing
    assert.equal(ackUpTo(tmp, 3, rs[2]!.hash).ackedSeq, 5);
    assert.equal(spoolStatus(tmp).ackedSeq, 5);
  });

  it('deletes only sealed, fully acknowledged segments past retention; the chain still verifies from the anchor', () => {
    const rs = Array.from({ length: 40 }, (_, i) => appendAuditEvent(tmp, ev(i), { segmentBytes: 4096 }));
    const names = fs.readdirSync(segDir()).sort();
    const firstSeqs = names.map((n) => Number(n.slice(4, 20)));
    // ack up to the middle of the third segment
    const ackSeq = firstSeqs[2]! + 1;
    const hash = rs[ackSeq - 1]!.hash;
    const kept = ackUpTo(tmp, ackSeq, hash); // default retention 7 days: nothing is old enough
    assert.deepEqual(kept.removed, []);
    const now = Date.now() + 8 * 24 * 3600 * 1000;
    const r = ackUpTo(tmp, ackSeq, hash, { now });
    assert.deepEqual(r.removed, names.slice(0, 2), 'the partially acknowledged third segment stays');
    assert.deepEqual(fs.readdirSync(segDir()).sort(), names.slice(2));
    const v = verifyChain(tmp);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal((v as { anchoredAt: number }).anchoredAt, firstSeqs[2]! - 1);
    // appends continue the chain
    assert.equal(appendAuditEvent(tmp, ev(99), { segmentBytes: 4096 }).seq, 41);
    assert.equal(verifyChain(tmp).ok, true);
    // acknowledging everything never deletes the last (current) segment
    const last = readAuditEvents(tmp, 41, 1)[0]!;
    const all = ackUpTo(tmp, 41, last.hash, { retainMs: 0 });
    assert.ok(all.removed.length > 0);
    assert.deepEqual(fs.readdirSync(segDir()).length, 1);
    assert.equal(spoolStatus(tmp).backlog, 0);
    assert.equal(appendAuditEvent(tmp, ev(100), { segmentBytes: 4096 }).seq, 42);
    assert.equal(verifyChain(tmp).ok, true);
  });

  it('a tampered anchor is detected', () => {
    const rs = Array.from({ length: 30 }, (_, i) => appendAuditEvent(tmp, ev(i), { segmentBytes: 4096 }));
    ackUpTo(tmp, 30, rs[29]!.hash, { retainMs: 0 });
    const anchorFile = path.join(tmp, 'audit', 'anchor.json');
    const a = JSON.parse(fs.readFileSync(anchorFile, 'utf8')) as { hash: string };
    fs.writeFileSync(anchorFile, JSON.stringify({ ...a, hash: 'sha256:' + '1'.repeat(64) }));
    expectBreak('prev-mismatch', Number(path.basename(segFiles()[0]!).slice(4, 20)));
  });
});

describe('audit spool: device id and the hook helper', () => {
  it('creates the device id once and reuses it', () => {
    assert.equal(readDeviceId(tmp), null);
    const id = loadDeviceId(tmp);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(loadDeviceId(tmp), id);
    assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'device.json'), 'utf8')).deviceId, id);
  });

  it('recordDecision builds, sequences and stores the event under the device source', () => {
    const r = recordDecision({ stateDir: tmp, user: 'alice', clientVersion: '9.9.9' }, input(1), decision('deny'), { latencyMs: 2 });
    const rec = readAuditEvents(tmp)[0]!;
    assert.equal(rec.event!.id, r.id);
    assert.equal(rec.event!.source, `urn:agentwarden:device:${readDeviceId(tmp)}`);
    assert.equal((rec.event!.data as { client: { version: string } }).client.version, '9.9.9');
    const st = spoolStatus(tmp);
    assert.equal(st.deviceId, readDeviceId(tmp));
    assert.equal([...iterateAuditLines(tmp)].length, 1);
  });

  it('an empty state dir verifies as empty', () => {
    assert.deepEqual(verifyChain(tmp), { ok: true, events: 0, firstSeq: null, lastSeq: 0, lastHash: GENESIS_PREV, tornTailBytes: 0, anchoredAt: null });
    const st = spoolStatus(tmp);
    assert.deepEqual([st.lastSeq, st.backlog, st.bytesUsed, st.level], [0, 0, 0, 'ok']);
  });
});
