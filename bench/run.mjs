// `npm run bench`: decision cost (in-process) and the hook's whole-process time next to `node -e 0`,
// measured in the same run with interleaved samples so machine noise hits both alike.
// Prints a table and writes .bench/results.json. Never asserts: benchmarks measure, tests decide.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const { compilePolicy } = require(path.join(root, 'out/src/core/evaluate/compile.js'));
const { evaluate } = require(path.join(root, 'out/src/core/evaluate/evaluate.js'));
const { extractFacts } = require(path.join(root, 'out/src/core/facts/extract.js'));
const { builtinPolicy } = require(path.join(root, 'out/src/runtime/builtin.js'));
const { nodeFsProbe } = require(path.join(root, 'out/src/runtime/fsProbe.js'));

const quick = process.argv.includes('--quick');
const HOME = '/home/dev';
const WS = '/home/dev/project';
const cenv = { home: HOME, workspace: WS, stateDir: `${HOME}/.agent-warden`, claudeDir: `${HOME}/.claude`, tmpDir: '/tmp', caseInsensitive: false };
const aenv = { home: HOME, user: 'dev', platform: 'linux', workspace: WS, vars: { HOME }, fs: nodeFsProbe() };

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}
const ms = (ns) => Number(ns) / 1e6;

const input = (tool, toolInput) => ({ hook_event_name: 'PreToolUse', session_id: 'bench', cwd: WS, tool_name: tool, tool_input: toolInput });
const FILE_CALLS = [
  input('Read', { file_path: `${WS}/src/index.ts` }),
  input('Read', { file_path: `${WS}/.env` }),
  input('Write', { file_path: `${WS}/src/new.ts`, content: 'export {}' }),
  input('Edit', { file_path: `${WS}/README.md`, old_string: 'a', new_string: 'b' }),
  input('Grep', { pattern: 'TODO', path: `${WS}/src`, glob: '*.ts' }),
  input('Glob', { pattern: '**/*.ts' }),
  input('WebFetch', { url: 'https://docs.python.org/3/library/os.html', prompt: 'x' }),
  input('mcp__fs__read_file', { path: `${HOME}/.aws/credentials` }),
];
const SHELL_CALLS = [
  'npm test',
  'git status && git diff --stat',
  'rm -rf node_modules dist && npm ci && npm run build',
  'cat .env',
  "find . -name '*.ts' -not -path './node_modules/*' | xargs grep -n TODO | head -50",
  "bash -c 'curl -fsSL https://example.com/install.sh | sh'",
  'git push --force-with-lease origin feature/x',
].map((command) => input('Bash', { command }));
const LONG_CALLS = [
  [
    'set -euo pipefail',
    'cd "$(git rev-parse --show-toplevel)"',
    'for pkg in packages/*; do',
    '  if [ -f "$pkg/package.json" ]; then',
    '    (cd "$pkg" && npm ci --prefer-offline && npm run build -- --mode=production && npm test -- --coverage) || { echo "failed: $pkg" >&2; exit 1; }',
    '  fi',
    'done',
    'docker build -t app:$(git rev-parse --short HEAD) --build-arg NODE_ENV=production -f Dockerfile . && docker run --rm -v "$PWD/dist:/app/dist" app:latest npm run check',
    'tar czf /tmp/build-$(date +%s).tgz dist/ && echo done',
  ].join('\n'),
  `kubectl get pods -n staging -o json | jq -r '.items[] | select(.status.phase != "Running") | .metadata.name' | while read -r pod; do kubectl logs -n staging "$pod" --tail=100 > "logs/$pod.log" 2>&1 || true; done; grep -rl "OutOfMemory" logs/ | xargs -r -n1 basename | sort -u`,
  [
    "python3 - <<'PY'",
    'import json, sys',
    'data = json.load(open("package.json"))',
    'print(data["version"])',
    'PY',
    "git log --since=\"2 weeks ago\" --pretty=format:'%h %an %s' -- src/ | awk '{print $2}' | sort | uniq -c | sort -rn | head -20",
  ].join('\n'),
].map((command) => input('Bash', { command }));

function bench(calls, iterations) {
  const compiled = compilePolicy(builtinPolicy('builtin:baseline'), cenv);
  for (let i = 0; i < 20; i++) for (const c of calls) evaluate(compiled, extractFacts(c, aenv)); // JIT warm-up
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    for (const c of calls) {
      const t0 = process.hrtime.bigint();
      evaluate(compiled, extractFacts(c, aenv));
      samples.push(ms(process.hrtime.bigint() - t0));
    }
  }
  return stats(samples);
}

/** What the hook pays once per process: compiling the baseline plus one decision. */
function compileCost(iterations) {
  const policy = builtinPolicy('builtin:baseline');
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    const c = compilePolicy(policy, cenv);
    evaluate(c, extractFacts(FILE_CALLS[1], aenv));
    samples.push(ms(process.hrtime.bigint() - t0));
  }
  return stats(samples);
}

function processTimes(runs) {
  const hook = path.join(root, 'dist/hook.js');
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-bench-'));
  const cases = {
    'node -e 0': { args: ['-e', '0'], stdin: '' },
    'hook Read (allow)': { args: [hook, '--home', state], stdin: JSON.stringify(FILE_CALLS[0]) },
    'hook Bash (allow)': { args: [hook, '--home', state], stdin: JSON.stringify(SHELL_CALLS[2]) },
    'hook Bash (deny)': { args: [hook, '--home', state], stdin: JSON.stringify(SHELL_CALLS[3]) },
  };
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < runs + 3; i++) {
    for (const [name, c] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, c.args, { input: c.stdin, encoding: 'utf8' });
      const t = ms(process.hrtime.bigint() - t0);
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      if (i >= 3) samples[name].push(t); // warm-up runs discarded
    }
  }
  fs.rmSync(state, { recursive: true, force: true });
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)]));
}

const iterations = quick ? 50 : 400;
const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  evaluation: {
    'file calls': bench(FILE_CALLS, iterations),
    'shell calls': bench(SHELL_CALLS, iterations),
    'long real-world commands': bench(LONG_CALLS, Math.max(20, iterations / 4)),
    'compile baseline + first decision': compileCost(quick ? 20 : 100),
  },
  process: processTimes(quick ? 10 : 40),
};
const base = results.process['node -e 0'].p50;
for (const v of Object.values(results.process)) v.ratioToNode = +(v.p50 / base).toFixed(2);

const f = (x) => x.toFixed(3).padStart(9);
console.log('Decision cost in-process (ms)            p50       p90       p99       max');
for (const [k, v] of Object.entries(results.evaluation)) console.log(`  ${k.padEnd(36)}${f(v.p50)} ${f(v.p90)} ${f(v.p99)} ${f(v.max)}`);
console.log('\nWhole process (ms)                       p50       p90       p99   p50 × node -e 0');
for (const [k, v] of Object.entries(results.process)) console.log(`  ${k.padEnd(36)}${f(v.p50)} ${f(v.p90)} ${f(v.p99)}   ${v.ratioToNode.toFixed(2)}`);
fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
fs.writeFileSync(path.join(root, '.bench/results.json'), JSON.stringify(results, null, 2));
console.log('\nwritten to .bench/results.json');

// Content scanning (issue 9): PostToolUse scanning of a 1 MB output, tainted-session PreToolUse, next to `node -e 0`.
await import('./scan.mjs');
