/** `warden audit verify|tail|status`, through the CLI's main() and, for --follow, as a real process. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildDecisionEvent, buildHookEvent, type AuditContext } from '../../src/core/audit/event';
import type { Decision } from '../../src/core/types';
import { parseBytes } from '../../src/cli/commands/audit';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/types';
import { ackUpTo, appendAuditEvent } from '../../src/runtime/audit/spool';

const ROOT = path.resolve(__dirname, '../../..');
const ctx: AuditContext = { actor: { user: 'alice', deviceId: 'dev-cli-0001', host: 'h' }, client: { version: '0.1.0', os: 'linux-x64' } };
const decision: Decision = { effect: 'deny', verdict: 'deny', ruleIds: ['secrets.read'], reason: 'reads a credentials file', explicit: true, mode: 'enforce', matches: [], unanalyzable: [], policy: { id: 'builtin:baseline', version: '1' } };
const bashInput = (i: number) => ({ hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: `cat ~/.aws/credentials # ${i}` } });

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n'), stdin: async () => '', cwd: process.cwd(), env: { ...process.env, HOME: '/nonexistent-home' } };
  const code = await main(args, io);
  return { code, out, err };
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-cli-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fill(n: number) {
  const rs = [];
  for (let i = 1; i <= n; i++) rs.push(appendAuditEvent(tmp, i % 3 ? buildDecisionEvent(bashInput(i), decision, ctx, { latencyMs: 1 }) : buildHookEvent({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: {}, tool_response: { stdout: 'ok', stderr: '' } }, ctx)));
  return rs;
}

describe('warden audit', () => {
  it('--help documents the three subcommands; a missing or unknown subcommand is a usage error', async () => {
    const h = await run(['audit', '--help']);
    assert.equal(h.code, 0);
    for (const s of ['warden audit verify', 'warden audit tail', 'warden audit status', '--json', '--home']) assert.ok(h.out.includes(s), s);
    const v = await run(['audit', 'verify', '--help']);
    assert.equal(v.code, 0);
    assert.ok(v.out.includes('warden audit verify'));
    assert.equal((await run(['audit'])).code, 2);
    const u = await run(['audit', 'frobnicate', '--home', tmp]);
    assert.equal(u.code, 2);
    assert.match(u.err, /unknown subcommand "frobnicate"/);
    assert.equal((await run(['audit', 'status', '--bogus'])).code, 2);
  });

  it('verify: exit 0 on an intact chain, 1 with the first break', async () => {
    const empty = await run(['audit', 'verify', '--home', tmp]);
    assert.equal(empty.code, 0);
    assert.match(empty.out, /no audit events/);
    const rs = fill(6);
    const ok = await run(['audit', 'verify', '--home', tmp]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /ok: 6 events, seq 1\.\.6, chain intact/);
    assert.ok(ok.out.includes(rs[5]!.hash));
    const j = JSON.parse((await run(['audit', 'verify', '--home', tmp, '--json'])).out) as { ok: boolean; lastSeq: number };
    assert.deepEqual([j.ok, j.lastSeq], [true, 6]);

    const seg = path.join(tmp, 'audit', 'log', fs.readdirSync(path.join(tmp, 'audit', 'log'))[0]!);
    fs.writeFileSync(seg, fs.readFileSync(seg, 'utf8').replace('# 2', '# 9'));
    const bad = await run(['audit', 'verify', '--home', tmp]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /BROKEN: prev-mismatch at seg-0000000000000001\.ndjson line 3/);
    const bj = await run(['audit', 'verify', '--home', tmp, '--json']);
    assert.equal(bj.code, 1);
    assert.equal((JSON.parse(bj.out) as { break: { kind: string; seq: number } }).break.seq, 3);
  });

  it('tail: newest N events for people, stored lines with --json, --from', async () => {
    fill(7);
    const t = await run(['audit', 'tail', '--home', tmp, '-n', '3']);
    assert.equal(t.code, 0);
    const ls = t.out.trim().split('\n');
    assert.equal(ls.length, 3);
    assert.match(ls[0]!, /^\s*5\s+\S+Z\s+deny\s+Bash \[secrets\.read\] reads a credentials file\s+[0-9A-Z]{26}$/);
    assert.match(ls[1]!, /^\s+6\s+\S+Z\s+PostToolUse\s+Bash response/);
    const j = await run(['audit', 'tail', '--home', tmp, '-n', '2', '--json']);
    const file = fs.readFileSync(path.join(tmp, 'audit', 'log', 'seg-0000000000000001.ndjson'), 'utf8').trim().split('\n');
    assert.deepEqual(j.out.trim().split('\n'), file.slice(-2));
    const f = await run(['audit', 'tail', '--home', tmp, '--from', '2', '--json']);
    assert.equal(f.out.trim().split('\n').length, 6);
    assert.equal((await run(['audit', 'tail', '--home', tmp, '-n', 'x'])).code, 2);
  });

  it('status: backlog, bytes, cap level', async () => {
    const rs = fill(10);
    ackUpTo(tmp, 4, rs[3]!.hash);
    const s = await run(['audit', 'status', '--home', tmp]);
    assert.equal(s.code, 0);
    assert.match(s.out, /backlog\s+6 events not acknowledged \(acknowledged up to seq 4\)/);
    assert.match(s.out, /of 256\.0 MiB \(0\.0 %\): ok/);
    const j = JSON.parse((await run(['audit', 'status', '--home', tmp, '--json', '--cap', '12KiB'])).out) as { backlog: number; capBytes: number; level: string; bytesUsed: number };
    assert.equal(j.backlog, 6);
    assert.equal(j.capBytes, 12 * 1024);
    assert.equal(j.level, j.bytesUsed > 12 * 1024 ? 'full' : j.bytesUsed >= 0.95 * 12 * 1024 ? 'critical' : j.bytesUsed >= 0.8 * 12 * 1024 ? 'warn' : 'ok');
    const w = await run(['audit', 'status', '--home', tmp, '--cap', String(Math.ceil(j.bytesUsed / 0.85))]);
    assert.match(w.out, /WARN: above 80 %/);
    assert.equal((await run(['audit', 'status', '--home', tmp, '--cap', 'lots'])).code, 2);
  });

  it('parses cap sizes', () => {
    assert.equal(parseBytes('268435456'), 268435456);
    assert.equal(parseBytes('256MiB'), 256 * 1024 * 1024);
    assert.equal(parseBytes('1g'), 1024 ** 3);
    assert.equal(parseBytes('64 KiB'), 65536);
    assert.throws(() => parseBytes('-1'));
  });

  it('tail --follow prints events appended later (real process)', async function () {
    this.timeout(15_000);
    fill(2);
    const child = spawn(process.execPath, [path.join(ROOT, 'out/src/cli/entry.js'), 'audit', 'tail', '--home', tmp, '--follow', '--interval', '50', '-n', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const waitFor = async (re: RegExp): Promise<void> => {
      const t0 = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${re}; got:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    try {
      await waitFor(/^\s+2\s/m);
      assert.ok(!/^\s+1\s/m.test(out), '-n 1 prints only the newest');
      fill(1);
      appendAuditEvent(tmp, buildDecisionEvent(bashInput(4), decision, ctx, { latencyMs: 1 }));
      await waitFor(/^\s+4\s.*deny/m);
      assert.match(out, /^\s+3\s/m);
    } finally {
      child.kill();
    }
  });
});
