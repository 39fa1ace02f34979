// `node bench/bundle.mjs [--quick]` (after `node esbuild.config.mjs`): what signed bundles cost.
//
//  1. A policy with 1,000 rules is signed and verified with the real CLI (dist/cli.js): whole-process
//     times of `warden bundle sign` and `warden bundle verify` (node start + zod/yaml + verification).
//  2. Acceptance in process (what a sync does with fetched bytes): envelope, Ed25519, strict schemas,
//     policy validation, anti-rollback, atomic write.
//  3. The hook's start-up cost of re-verifying the cached bundle (`activePolicy`): in process, and as a
//     whole fresh process next to `node -e 0`, interleaved so machine noise hits both alike. The hook
//     path is bundled here with the same esbuild settings as dist/hook.js (minified CJS, node20) into
//     node_modules/.cache, since the hook is wired to it separately; the bench also checks that this
//     bundle contains neither zod nor yaml.
// Prints a table and writes .bench/bundle.json. Never asserts timings: benchmarks measure, tests decide.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const quick = process.argv.includes('--quick');
const cli = path.join(root, 'dist/cli.js');
if (!fs.existsSync(cli)) {
  console.error('dist/cli.js is missing: run `node esbuild.config.mjs` first');
  process.exit(1);
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}
const ms = (ns) => Number(ns) / 1e6;
const fmt = (x) => x.toFixed(2).padStart(8);
const line = (label, st) => console.log(`  ${label.padEnd(52)} p50 ${fmt(st.p50)} ms   p99 ${fmt(st.p99)} ms   (n=${st.n})`);

function timed(args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', ...opts });
  const t = ms(process.hrtime.bigint() - t0);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`node ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { t, r };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-bench-bundle-'));
const cache = path.join(root, 'node_modules', '.cache', 'agent-warden');
fs.mkdirSync(cache, { recursive: true });
const f = (n) => path.join(work, n);

// ---------------------------------------------------------------------------------------------- 1. CLI
const RULES = 1000;
function policyYaml(n) {
  const rules = [];
  for (let i = 0; i < n; i++) {
    const id = `r-${String(i).padStart(4, '0')}`;
    switch (i % 4) {
      case 0:
        rules.push(`  - id: ${id}\n    effect: deny\n    reason: tool ${i} is not allowed\n    remediation: use the approved wrapper instead\n    match:\n      command: { program: [tool-${i}, tool-${i}-cli], flags: { any: [--force, -f] } }`);
        break;
      case 1:
        rules.push(`  - id: ${id}\n    effect: ask\n    reason: files of component ${i} need review\n    match:\n      tool: [Write, Edit]\n      path: { glob: "**/component-${i}/**", access: write }`);
        break;
      case 2:
        rules.push(`  - id: ${id}\n    effect: deny\n    reason: host ${i} is off limits\n    match:\n      url: { host: ["*.host-${i}.example.com", "host-${i}.example.net"] }`);
        break;
      default:
        rules.push(`  - id: ${id}\n    effect: deny\n    reason: secrets of service ${i}\n    exception: { allowed: true, maxDuration: 4h }\n    match:\n      path: { glob: ["~/.config/service-${i}/**", "**/service-${i}.key"], access: [read, write] }`);
    }
  }
  return `apiVersion: agentwarden.dev/v1\nkind: Policy\nmetadata: { id: acme/bench, version: "1" }\ndefaultEffect: allow\nrules:\n${rules.join('\n')}\n`;
}
fs.writeFileSync(f('policy.yaml'), policyYaml(RULES));
for (const [name, role] of [['root1', 'root'], ['root2', 'root'], ['policy', 'policy']]) timed([cli, 'keygen', '--role', role, '--out', f(name)]);
timed([cli, 'trust', 'init', '--tenant', 'acme', '--key', f('root1.pub'), '--key', f('root2.pub'), '--key', f('policy.pub'), '--threshold', 'root=2', '--sign', f('root1.key'), '--sign', f('root2.key'), '--out', f('trust.json')]);
const sign = timed([cli, 'bundle', 'sign', f('policy.yaml'), '--key', f('policy.key'), '--trust', f('trust.json'), '--bundle-id', 'acme/bench', '--version', '1', '--out', f('bundle.json')]);
const bundleBytes = fs.readFileSync(f('bundle.json'));
const cliVerify = [];
for (let i = 0; i < (quick ? 5 : 15); i++) cliVerify.push(timed([cli, 'bundle', 'verify', f('bundle.json'), '--trust', f('trust.json'), '--bundle-id', 'acme/bench', '--json']).t);

// ---------------------------------------------------------------------------------------------- builds
async function build(entry, out, contents) {
  const r = await esbuild.build({
    stdin: { contents, resolveDir: root, sourcefile: entry, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    outfile: out,
    metafile: true,
    logLevel: 'silent',
    define: { __AW_VERSION__: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version) },
  });
  return { out, size: fs.statSync(out).size, inputs: Object.keys(r.metafile.inputs) };
}
const hookBuild = await build('bench-hook-path.ts', path.join(cache, 'bench-hook-path.cjs'), "export { activePolicy } from './src/runtime/bundleActive';");
const heavy = hookBuild.inputs.filter((i) => /node_modules\/(zod|yaml)\/|core\/policy\/load/.test(i));
const acceptBuild = await build(
  'bench-accept.ts',
  path.join(cache, 'bench-accept.cjs'),
  "export { acceptBundleBytes } from './src/runtime/bundleAccept'; export { pinTrust } from './src/runtime/trustAccept'; export { writeClientConfig } from './src/runtime/bundleStore'; export { acceptBundle } from './src/core/bundle/accept'; export { loadValidatedChain } from './src/runtime/trustAccept';",
);

// ---------------------------------------------------------------------------------------------- 2. acceptance
const A = require(acceptBuild.out);
const stateDir = f('state');
await A.pinTrust(stateDir, fs.readFileSync(f('trust.json')), { managedDir: null });
A.writeClientConfig(stateDir, { bundleId: 'acme/bench' });
let t0 = process.hrtime.bigint();
const first = await A.acceptBundleBytes(stateDir, bundleBytes, { managedDir: null });
const acceptFirst = ms(process.hrtime.bigint() - t0);
if (first.outcome !== 'accepted') throw new Error(`bundle not accepted: ${first.code}: ${first.message}`);
const trust = A.loadValidatedChain(stateDir, null).current;
const acceptPure = [];
for (let i = 0; i < (quick ? 20 : 100); i++) {
  t0 = process.hrtime.bigint();
  A.acceptBundle(bundleBytes, { trust, bundleId: 'acme/bench', now: Date.now(), clientVersion: '0.1.0' });
  acceptPure.push(ms(process.hrtime.bigint() - t0));
}
const acceptStore = [];
for (let i = 0; i < (quick ? 10 : 40); i++) {
  t0 = process.hrtime.bigint();
  await A.acceptBundleBytes(stateDir, bundleBytes, { managedDir: null });
  acceptStore.push(ms(process.hrtime.bigint() - t0));
}

// ---------------------------------------------------------------------------------------------- 3. hook
const H = require(hookBuild.out);
function measureHook(dir, label) {
  const warm = [];
  for (let i = 0; i < (quick ? 50 : 300); i++) {
    const t = process.hrtime.bigint();
    const a = H.activePolicy(dir, Date.now(), { managedDir: null });
    warm.push(ms(process.hrtime.bigint() - t));
    if (a.source !== 'bundle') throw new Error(`${label}: hook path fell back: ${a.reason}: ${a.message}`);
  }
  // A fresh process per sample, as the hook runs: require the hook-path bundle, call activePolicy once.
  // With `preload`, node:crypto is loaded before timing starts, as the hook's audit chain loads it anyway.
  const probe = (preload) =>
    `${preload ? 'require("node:crypto");' : ''}const t0=process.hrtime.bigint();const m=require(${JSON.stringify(hookBuild.out)});const t1=process.hrtime.bigint();` +
    `const a=m.activePolicy(${JSON.stringify(dir)},Date.now(),{managedDir:null});const t2=process.hrtime.bigint();` +
    `process.stdout.write(JSON.stringify({source:a.source,load:Number(t1-t0)/1e6,call:Number(t2-t1)/1e6}))`;
  const cold = { load: [], call: [], proc: [], bare: [], preloaded: [] };
  for (let i = 0; i < (quick ? 15 : 60); i++) {
    const p = timed(['-e', probe(false)]);
    const o = JSON.parse(p.r.stdout);
    if (o.source !== 'bundle') throw new Error(`${label}: cold hook path fell back`);
    cold.load.push(o.load);
    cold.call.push(o.call);
    cold.proc.push(p.t);
    cold.bare.push(timed(['-e', '0']).t);
    const q = JSON.parse(timed(['-e', probe(true)]).r.stdout);
    cold.preloaded.push(q.load + q.call);
  }
  return {
    warmCall: stats(warm),
    coldRequire: stats(cold.load),
    coldCall: stats(cold.call),
    coldRequirePlusCall: stats(cold.load.map((x, i) => x + cold.call[i])),
    coldWithCryptoLoaded: stats(cold.preloaded),
    process: stats(cold.proc),
    nodeE0: stats(cold.bare),
  };
}
const hook1000 = measureHook(stateDir, '1,000 rules');

// The shipped baseline (42 rules) as a bundle: the size most teams start from.
const smallDir = f('state-small');
timed([cli, 'bundle', 'sign', path.join(root, 'policies/baseline.yaml'), '--key', f('policy.key'), '--trust', f('trust.json'), '--bundle-id', 'acme/small', '--version', '1', '--out', f('small.json')]);
const smallBytes = fs.readFileSync(f('small.json'));
await A.pinTrust(smallDir, fs.readFileSync(f('trust.json')), { managedDir: null });
A.writeClientConfig(smallDir, { bundleId: 'acme/small' });
if ((await A.acceptBundleBytes(smallDir, smallBytes, { managedDir: null })).outcome !== 'accepted') throw new Error('small bundle not accepted');
const hookSmall = measureHook(smallDir, 'baseline');

// ---------------------------------------------------------------------------------------------- report
const res = {
  node: process.version,
  cpu: os.cpus()[0]?.model,
  rules: RULES,
  bundleBytes: bundleBytes.length,
  cli: { signMs: sign.t, verify: stats(cliVerify) },
  accept: { firstInProcessMs: acceptFirst, pure: stats(acceptPure), withStore: stats(acceptStore) },
  hookPath: { codeBytes: hookBuild.size, zodOrYamlInputs: heavy, rules1000: hook1000, baseline42: { bundleBytes: smallBytes.length, ...hookSmall } },
};
console.log(`Signed bundles — ${res.node}, ${res.cpu}`);
console.log(`  bundle: ${RULES} rules, ${(bundleBytes.length / 1024).toFixed(0)} KiB envelope`);
console.log(`  warden bundle sign (whole process, incl. validation + checkGlobs)  ${fmt(sign.t)} ms`);
line('warden bundle verify (whole process)', res.cli.verify);
console.log(`  acceptance, first call in a fresh process (loads zod/yaml)   ${fmt(acceptFirst)} ms`);
line('acceptance, verify + schemas + policy (warm)', res.accept.pure);
line('acceptance incl. lock, state, atomic writes (warm)', res.accept.withStore);
console.log(`  hook path bundle: ${(hookBuild.size / 1024).toFixed(1)} KiB, zod/yaml inputs: ${heavy.length ? heavy.join(', ') : 'none'}`);
for (const [title, h] of [[`1,000 rules (${(bundleBytes.length / 1024).toFixed(0)} KiB)`, hook1000], [`baseline, 42 rules (${(smallBytes.length / 1024).toFixed(0)} KiB)`, hookSmall]]) {
  console.log(`  hook start-up, cached bundle of ${title}:`);
  line('  activePolicy, warm', h.warmCall);
  line('  fresh process: require hook path', h.coldRequire);
  line('  fresh process: first activePolicy call', h.coldCall);
  line('  fresh process: require + activePolicy', h.coldRequirePlusCall);
  line('  same, node:crypto already loaded (audit loads it)', h.coldWithCryptoLoaded);
  line('  fresh process: whole `node -e <require+call>`', h.process);
  line('  `node -e 0` (interleaved)', h.nodeE0);
  console.log(`    added to a bare node start (p50): ${fmt(h.process.p50 - h.nodeE0.p50)} ms`);
}
fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
fs.writeFileSync(path.join(root, '.bench', 'bundle.json'), JSON.stringify(res, null, 2) + '\n');
fs.rmSync(work, { recursive: true, force: true });
