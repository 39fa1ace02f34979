/**
 * Following the real audit spool in plain Node: the tail reads only the newest events at start, then
 * exactly what is new, across segment rolls and a reset spool; the watcher hands new records over as the
 * hook appends them (no timing asserted: it waits for them).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appendAuditEvent, type AuditRecord } from '../../src/runtime/audit/spool';
import { SpoolTail } from '../../src/extension/model/spoolTail';
import { SpoolWatcher } from '../../src/extension/services/spoolWatcher';
import { buildDecisionEvent, type AuditContext } from '../../src/core/audit/event';
import type { Decision } from '../../src/core/types';
import { hookInput } from '../vscode/support/events';

const ctx: AuditContext = { actor: { user: 'dev', deviceId: 'dev-test', host: 'h' }, client: { version: '0.1.0', os: 'linux-x64' } };
const deny: Decision = { effect: 'deny', verdict: 'deny', ruleIds: ['r'], reason: 'no', explicit: true, mode: 'enforce', matches: [], unanalyzable: [], policy: { id: 'p', version: '1' } };
const append = (dir: string, i: number, opts = {}): void => void appendAuditEvent(dir, buildDecisionEvent(hookInput('Bash', { command: `echo ${i}` }), deny, ctx, { latencyMs: 1 }), opts);

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-ext-spool-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const seqs = (rs: AuditRecord[]): number[] => rs.map((r) => r.seq);

describe('extension: spool tail', () => {
  it('an empty or missing spool reads nothing, then what the hook appends', () => {
    const t = new SpoolTail(dir, 10);
    assert.deepEqual(t.read(), []);
    append(dir, 1);
    append(dir, 2);
    assert.deepEqual(seqs(t.read()), [1, 2]);
    assert.deepEqual(t.read(), []);
    append(dir, 3);
    assert.deepEqual(seqs(t.read()), [3]);
  });

  it('at start reads only the newest `backlog` events, however long the spool is', () => {
    for (let i = 1; i <= 40; i++) append(dir, i);
    const t = new SpoolTail(dir, 5);
    assert.deepEqual(seqs(t.read()), [36, 37, 38, 39, 40]);
  });

  it('follows across segment rolls', () => {
    const small = { segmentBytes: 4096 };
    const t = new SpoolTail(dir, 100);
    for (let i = 1; i <= 10; i++) append(dir, i, small);
    assert.equal(t.read().length, 10);
    for (let i = 11; i <= 60; i++) append(dir, i, small);
    assert.ok(fs.readdirSync(path.join(dir, 'audit', 'log')).length > 3, 'several segments');
    assert.deepEqual(seqs(t.read()), Array.from({ length: 50 }, (_, i) => i + 11));
  });

  it('a spool reset under it (state directory recreated) starts over from the newest events', () => {
    const t = new SpoolTail(dir, 100);
    for (let i = 1; i <= 5; i++) append(dir, i);
    assert.equal(t.read().length, 5);
    // Another process recreates the state directory: a fresh spool appears in its place.
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-ext-spool-fresh-'));
    append(fresh, 100);
    append(fresh, 101);
    fs.rmSync(path.join(dir, 'audit'), { recursive: true, force: true });
    fs.renameSync(path.join(fresh, 'audit'), path.join(dir, 'audit'));
    fs.rmSync(fresh, { recursive: true, force: true });
    const again = t.read();
    assert.deepEqual(seqs(again), [1, 2]);
    assert.match(again[1]!.line, /echo 101/);
  });
});

describe('extension: spool watcher', () => {
  it('hands over what the hook appends, in order, without duplicates', async function () {
    this.timeout(20_000);
    const got: number[] = [];
    let initial = 0;
    let notify: () => void = () => undefined;
    const w = new SpoolWatcher(dir, (recs, first) => {
      if (first) initial += recs.length;
      got.push(...seqs(recs));
      notify();
    }, { pollMs: 200 });
    append(dir, 1);
    w.start();
    assert.equal(initial, 1);
    for (let i = 2; i <= 6; i++) append(dir, i);
    await new Promise<void>((resolve) => {
      notify = () => got.length >= 6 && resolve();
      notify();
    });
    w.stop();
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  });

  it('switches to another state directory', async function () {
    this.timeout(20_000);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-ext-spool2-'));
    try {
      append(other, 1);
      append(other, 2);
      const got: string[] = [];
      const w = new SpoolWatcher(dir, (recs) => got.push(...recs.map((r) => r.line)), { pollMs: 200 });
      w.start();
      w.setStateDir(other);
      assert.equal(w.dir, other);
      assert.equal(got.length, 2);
      w.stop();
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
