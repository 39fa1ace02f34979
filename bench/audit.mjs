#!/usr/bin/env node
// Audit spool benchmark: what one durable append adds to a hook, and how the spool scales with
// concurrent hook processes.
//
//   node bench/audit.mjs [--iterations 2000] [--spawns 40] [--procs 1,8,32,128] [--events 1000] [--json]
//
// 1. In-process: p50/p99 of building a decision event (redaction included), of appendAuditEvent (write +
//    fdatasync, uncontended) and of recordDecision (device id + build + append), on a fresh state dir.
// 2. Whole process: a hook-like script bundled like dist/hook.js (esbuild, minified) that records one
//    decision and exits, against the same script without the audit call: the difference is the hook's
//    added cost per tool call (module load + one durable append).
// 3. Concurrency: N processes started together append events/N each (total --events); events/s over the
//    whole run and p50/p99 latency of one append as the processes saw it.
// No assertions: numbers only. Bundles go to .bench/audit/ (git-ignored); state dirs to the OS temp dir.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000' },
    spawns: { type: 'string', default: '40' },
    procs: { type: 'string', default: '1,8,32,128' },
    events: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
});
const ITER = Number(args.iterations);
const SPAWNS = Number(args.spawns);
const PROCS = args.procs.split(',').map(Number);
const EVENTS = Number(args.events);

const out = path.join(root, '.bench', 'audit');
fs.mkdirSync(out, { recursive: true });
const tmpDirs = [];
const freshDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-bench-'));
  tmpDirs.push(d);
  return d;
};

// ---------------------------------------------------------------------------------------------------------
// bundles

const lib = path.join(out, 'lib.cjs');
fs.writeFileSync(
  path.join(out, 'lib-entry.ts'),
  `export { buildDecisionEvent } from ${JSON.stringify(path.join(root, 'src/core/audit/event'))};
export { appendAuditEvent, verifyChain } from ${JSON.stringify(path.join(root, 'src/runtime/audit/spool'))};
export { recordDecision, auditContext } from ${JSON.stringify(path.join(root, 'src/runtime/audit/record'))};
`,
);
const sample = `
const decision = { effect: 'allow', verdict: 'allow', ruleIds: [], reason: 'no rule matched', explicit: false, mode: 'enforce', matches: [], unanalyzable: [], policy: { id: 'builtin:baseline', version: '1' } };
const input = (i) => ({ session_id: '1140fd57-0e83-4711-b744-54421b504715', transcript_path: '/home/u/.claude/projects/p/s.jsonl', cwd: '/home/u/project', permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_use_id: 'toolu_' + i, tool_input: { command: 'npm test -- --grep "spool" && git status --porcelain # ' + i, description: 'Run tests' } });
`;
// Hook-like scripts: read the state dir from argv, (optionally) record one decision, print a decision.
fs.writeFileSync(
  path.join(out, 'hook-base.ts'),
  `import * as fs from 'node:fs'; import * as crypto from 'node:crypto';${sample}
const t0 = performance.now(); void fs; void crypto; void input(0);
process.stdout.write(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse' }, ms: performance.now() - t0 }) + '\\n');`,
);
fs.writeFileSync(
  path.join(out, 'hook-audit.ts'),
  `import { recordDecision } from ${JSON.stringify(path.join(root, 'src/runtime/audit/record'))};${sample}
const t0 = performance.now();
const r = recordDecision({ stateDir: process.argv[2], user: 'bench', clientVersion: 'bench' }, input(0), decision, { latencyMs: 0.3 });
process.stdout.write(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse' }, seq: r.seq, ms: performance.now() - t0 }) + '\\n');`,
);
// Concurrency worker: wait for the go file, append K events, print per-append latencies and the window.
fs.writeFileSync(
  path.join(out, 'worker.ts'),
  `import * as fs from 'node:fs';
import { recordDecision } from ${JSON.stringify(path.join(root, 'src/runtime/audit/record'))};${sample}
const [stateDir, k] = [process.argv[2], Number(process.argv[3])];
process.stdout.write('ready\\n');
const cell = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(stateDir + '.go')) Atomics.wait(cell, 0, 0, 5);
const lat = []; const begin = performance.timeOrigin + performance.now(); const cpu0 = process.cpuUsage();
for (let i = 0; i < k; i++) {
  const t = performance.now();
  recordDecision({ stateDir, user: 'bench', clientVersion: 'bench', spool: { timeoutMs: 60000 } }, input(i), decision, { latencyMs: 0.3 });
  lat.push(performance.now() - t);
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ begin, end: performance.timeOrigin + performance.now(), lat, cpuMs: (cpu.user + cpu.system) / 1000 }) + '\\n');`,
);
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error', minify: true };
await esbuild.build({ ...common, entryPoints: [path.join(out, 'lib-entry.ts')], outfile: lib, minify: false });
for (const n of ['hook-base', 'hook-audit', 'worker']) await esbuild.build({ ...common, entryPoints: [path.join(out, `${n}.ts`)], outfile: path.join(out, `${n}.js`) });

const require = createRequire(import.meta.url);
const { buildDecisionEvent, appendAuditEvent, recordDecision, auditContext, verifyChain } = require(lib);

// ---------------------------------------------------------------------------------------------------------
// helpers

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const ms = (x) => `${x.toFixed(3)} ms`;
const results = { machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => +x.toFixed(2)), tmp: os.tmpdir() } };
const say = (s) => {
  if (!args.json) console.log(s);
};

// ---------------------------------------------------------------------------------------------------------
// 1. in-process

{
  const decision = { effect: 'allow', verdict: 'allow', ruleIds: [], reason: 'no rule matched', explicit: false, mode: 'enforce', matches: [], unanalyzable: [], policy: { id: 'builtin:baseline', version: '1' } };
  const input = (i) => ({ session_id: 's', cwd: '/home/u/project', permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_use_id: 'toolu_' + i, tool_input: { command: 'npm test -- --grep "spool" && git status --porcelain # ' + i, description: 'Run tests' } });
  const dir = freshDir();
  const setup = { stateDir: dir, user: 'bench', clientVersion: 'bench' };
  const ctx = auditContext(setup);
  const build = [];
  const append = [];
  const record = [];
  for (let i = 0; i < ITER; i++) {
    let t = performance.now();
    const e = buildDecisionEvent(input(i), decision, ctx, { latencyMs: 0.3 });
    build.push(performance.now() - t);
    t = performance.now();
    appendAuditEvent(dir, e);
    append.push(performance.now() - t);
    t = performance.now();
    recordDecision(setup, input(i), decision, { latencyMs: 0.3 });
    record.push(performance.now() - t);
  }
  const v = verifyChain(dir);
  const r = (xs) => ({ p50: +pct(xs, 50).toFixed(4), p99: +pct(xs, 99).toFixed(4) });
  results.inProcess = { iterations: ITER, build: r(build), append: r(append), recordDecision: r(record), lineBytes: Math.round(fs.statSync(path.join(dir, 'audit', 'log', fs.readdirSync(path.join(dir, 'audit', 'log'))[0])).size / (2 * ITER)), chainOk: v.ok };
  say(`In-process (${ITER} iterations, uncontended, ${results.inProcess.lineBytes} B/line)`);
  say(`  build decision event        p50 ${ms(pct(build, 50))}  p99 ${ms(pct(build, 99))}`);
  say(`  appendAuditEvent (durable)  p50 ${ms(pct(append, 50))}  p99 ${ms(pct(append, 99))}`);
  say(`  recordDecision (all of it)  p50 ${ms(pct(record, 50))}  p99 ${ms(pct(record, 99))}`);
}

// ---------------------------------------------------------------------------------------------------------
// 2. whole process

{
  const run = (script, dir) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [path.join(out, script), dir], { encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
    return { wall, inner: JSON.parse(r.stdout).ms };
  };
  const dir = freshDir();
  run('hook-audit.js', dir); // create the device id and the first segment outside the measurement
  const base = [];
  const audit = [];
  const inner = [];
  for (let i = 0; i < SPAWNS; i++) {
    base.push(run('hook-base.js', dir).wall);
    const a = run('hook-audit.js', dir);
    audit.push(a.wall);
    inner.push(a.inner);
  }
  const size = fs.statSync(path.join(out, 'hook-audit.js')).size;
  results.wholeProcess = {
    spawns: SPAWNS,
    baseline: { p50: +pct(base, 50).toFixed(2), p99: +pct(base, 99).toFixed(2) },
    withAudit: { p50: +pct(audit, 50).toFixed(2), p99: +pct(audit, 99).toFixed(2) },
    addedP50: +(pct(audit, 50) - pct(base, 50)).toFixed(2),
    appendInsideProcess: { p50: +pct(inner, 50).toFixed(3), p99: +pct(inner, 99).toFixed(3) },
    auditBundleBytes: size,
  };
  say(`\nWhole process (${SPAWNS} spawns each, esbuild-minified like dist/hook.js; audit code ${(size / 1024).toFixed(1)} KiB)`);
  say(`  node + hook without audit   p50 ${ms(pct(base, 50))}  p99 ${ms(pct(base, 99))}`);
  say(`  node + hook with one append p50 ${ms(pct(audit, 50))}  p99 ${ms(pct(audit, 99))}`);
  say(`  added per hook process      p50 ${ms(pct(audit, 50) - pct(base, 50))}   (first append in a fresh process: p50 ${ms(pct(inner, 50))}, p99 ${ms(pct(inner, 99))})`);
}

// ---------------------------------------------------------------------------------------------------------
// 3. concurrency

async function concurrent(n, total) {
  const dir = freshDir();
  const k = Math.max(1, Math.round(total / n));
  const kids = Array.from({ length: n }, () => {
    const c = spawn(process.execPath, [path.join(out, 'worker.js'), dir, String(k)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const w = { out: '', done: new Promise((res, rej) => c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`worker exited ${code}`))))) };
    c.stdout.on('data', (d) => (w.out += d));
    return w;
  });
  while (!kids.every((w) => w.out.startsWith('ready'))) await new Promise((r) => setTimeout(r, 10));
  fs.writeFileSync(dir + '.go', '');
  tmpDirs.push(dir + '.go');
  await Promise.all(kids.map((w) => w.done));
  const reports = kids.map((w) => JSON.parse(w.out.split('\n')[1]));
  const begin = Math.min(...reports.map((r) => r.begin));
  const end = Math.max(...reports.map((r) => r.end));
  const lat = reports.flatMap((r) => r.lat);
  const cpuMs = reports.reduce((n, r) => n + r.cpuMs, 0);
  const v = verifyChain(dir);
  if (!v.ok || v.lastSeq !== n * k) throw new Error(`chain check failed: ${JSON.stringify(v)}`);
  return { processes: n, events: n * k, seconds: +((end - begin) / 1000).toFixed(3), eventsPerSecond: Math.round((n * k) / ((end - begin) / 1000)), appendP50: +pct(lat, 50).toFixed(2), appendP99: +pct(lat, 99).toFixed(2), cpuMsPerEvent: +(cpuMs / (n * k)).toFixed(3) };
}

results.concurrency = [];
say(`\nConcurrent processes (${EVENTS} events in total; chain verified after each run)`);
for (const n of PROCS) {
  const r = await concurrent(n, EVENTS);
  results.concurrency.push(r);
  say(`  ${String(n).padStart(4)} processes: ${String(r.eventsPerSecond).padStart(6)} events/s   one append p50 ${ms(r.appendP50)}  p99 ${ms(r.appendP99)}   CPU ${ms(r.cpuMsPerEvent)}/event`);
}

results.machine.loadavgAfter = os.loadavg().map((x) => +x.toFixed(2));
say(`\n${os.cpus().length} CPUs, Node ${process.version}, load average before ${results.machine.loadavg.join(' ')}, after ${results.machine.loadavgAfter.join(' ')}; state dirs in ${os.tmpdir()}`);
if (args.json) console.log(JSON.stringify(results, null, 2));
for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
