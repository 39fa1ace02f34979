/**
 * A hook-like process for the spool reliability tests (compiled to out/test/reliability/spoolWorker.js):
 *
 *   node spoolWorker.js <stateDir> <mode> [count] [segmentBytes] [staleLockMs]
 *
 * Prints `ready`, waits for `<stateDir>.go` to exist (so all workers start together), then
 *   mode fixed: appends <count> events and exits 0;
 *   mode loop:  appends until killed;
 *   mode hold:  takes the spool lock, prints `holding`, and sleeps (to be SIGKILLed while holding it).
 * Every successful append prints one JSON line {id, seq, hash} with a synchronous write, right after the
 * append returns (what a hook would do before answering). Errors go to stderr with exit code 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Decision, HookInput } from '../../src/core/types';
import { FileLock, sleepSync } from '../../src/runtime/audit/lock';
import { recordDecision, recordHookEvent, type AuditSetup } from '../../src/runtime/audit/record';

const [stateDir, mode, countArg, segArg, staleArg] = process.argv.slice(2);
if (!stateDir || !mode) {
  process.stderr.write('usage: spoolWorker <stateDir> <fixed|loop|hold> [count] [segmentBytes] [staleLockMs]\n');
  process.exit(2);
}
const count = Number(countArg ?? 5);
const setup: AuditSetup = {
  stateDir,
  user: 'worker',
  clientVersion: 'reliability',
  spool: { segmentBytes: Number(segArg ?? 65536), timeoutMs: 30_000, ...(staleArg ? { staleLockMs: Number(staleArg) } : {}) },
};

const say = (s: string): void => {
  fs.writeSync(1, s + '\n');
};

function decision(i: number): Decision {
  const effect = i % 4 === 0 ? 'deny' : 'allow';
  return { effect, verdict: effect, ruleIds: effect === 'deny' ? ['r.deny'] : [], reason: 'reliability', explicit: effect === 'deny', mode: 'enforce', matches: [], unanalyzable: [], policy: { id: 'builtin:baseline', version: '1' } };
}

function appendOne(i: number): void {
  const input: HookInput = {
    session_id: `pid-${process.pid}`,
    cwd: '/work',
    hook_event_name: 'PreToolUse',
    tool_name: 'Bash',
    tool_use_id: `toolu_${process.pid}_${i}`,
    // varying sizes so segments roll at different points
    tool_input: { command: `echo ${process.pid} ${i} ${'x'.repeat((process.pid * 7 + i * 131) % 3000)}` },
  };
  const r = i % 3 === 2 ? recordHookEvent(setup, { ...input, hook_event_name: 'PostToolUse', tool_response: { stdout: 'ok', stderr: '' } }) : recordDecision(setup, input, decision(i), { latencyMs: 0.1 });
  say(JSON.stringify({ id: r.id, seq: r.seq, hash: r.hash }));
}

say('ready');
const go = `${stateDir}.go`;
const t0 = Date.now();
while (!fs.existsSync(go)) {
  if (Date.now() - t0 > 60_000) {
    process.stderr.write('no go signal\n');
    process.exit(1);
  }
  sleepSync(20);
}
try {
  if (mode === 'fixed') for (let i = 0; i < count; i++) appendOne(i);
  else if (mode === 'loop') for (let i = 0; ; i++) appendOne(i);
  else if (mode === 'hold') {
    fs.mkdirSync(path.join(stateDir, 'audit'), { recursive: true });
    FileLock.acquire(path.join(stateDir, 'audit', 'lock'), { timeoutMs: 10_000 });
    say('holding');
    for (;;) sleepSync(1000);
  } else throw new Error(`unknown mode ${mode}`);
} catch (e) {
  process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
  process.exit(1);
}
