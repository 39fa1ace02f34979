// The VS Code extension's size and activation cost.
//
//   npm run build && npm run compile-tests && node bench/extension.mjs [--runs 3]
//
// Reports:
// - bundle sizes: dist/extension.js (what activation loads), dist/extension-deferred.js (sync, enrolment,
//   forwarding, policy tools: loaded after activation, on first use) and dist/policy-loader.js (YAML + zod,
//   loaded for policy files only), raw and gzip;
// - activation time as VS Code itself measures it ("Developer: Show Running Extensions": code loading +
//   activate()), in the real workbench (code-server, headless chromium), one fresh window per run;
// - for comparison, the time Node takes to load dist/extension.js alone (parse + module init, no vscode).
// Needs `bash scripts/install-vscode-deps.sh` (code-server, chromium). Writes .bench/extension.json.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const require = createRequire(import.meta.url);
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sizes = {};
for (const f of ['extension.js', 'extension-deferred.js', 'policy-loader.js']) {
  const p = path.join(root, 'dist', f);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run npm run build`);
  const b = fs.readFileSync(p);
  sizes[f] = { bytes: b.length, gzip: zlib.gzipSync(b).length };
}

// Plain-Node load of the bundle, in fresh processes (a stand-in `vscode` module: nothing runs but module init).
const loadMs = [];
const probe = `const M=require('module');const o=M._load;M._load=function(r,...a){return r==='vscode'?{}:o.call(this,r,...a)};const t=process.hrtime.bigint();require(${JSON.stringify(path.join(root, 'dist', 'extension.js'))});console.log(Number(process.hrtime.bigint()-t)/1e6)`;
for (let i = 0; i < 5; i++) loadMs.push(Number(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim()));

// Activation in the real workbench.
const harness = path.join(root, 'out', 'test', 'vscode', 'harness');
if (!fs.existsSync(path.join(harness, 'workbench.js'))) throw new Error('the test harness is not compiled: run npm run compile-tests');
const { startCodeServer, workbenchUrl } = require(path.join(harness, 'codeServer.js'));
const { launchBrowser } = require(path.join(harness, 'browser.js'));
const { waitForWorkbench, runCommand } = require(path.join(harness, 'workbench.js'));
const activation = [];
for (let i = 0; i < runs; i++) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-bench-'));
  fs.mkdirSync(path.join(tmp, 'home'));
  fs.mkdirSync(path.join(tmp, 'project'));
  const cs = await startCodeServer({ stateDir: path.join(tmp, 'cs'), env: { HOME: path.join(tmp, 'home') } });
  const b = await launchBrowser();
  try {
    await b.page.goto(workbenchUrl(cs, { folder: path.join(tmp, 'project'), devPath: root }), { waitUntil: 'domcontentloaded' });
    await waitForWorkbench(b.page);
    await b.page.locator('.part.statusbar .statusbar-item', { hasText: 'Warden' }).first().waitFor({ timeout: 60_000 });
    await runCommand(b.page, 'Developer: Show Running Extensions');
    const t = b.page.locator('.monaco-list[aria-label="Runtime Extensions"] .monaco-list-row', { hasText: 'agent-warden.agent-warden' }).first().locator('.activation-time');
    await t.waitFor({ timeout: 30_000 });
    const m = /Activation: (\d+)\s*ms/.exec(await t.innerText());
    if (m) activation.push(Number(m[1]));
  } finally {
    await b.close();
    await cs.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const result = {
  sizes,
  activationMs: { runs: activation, median: median(activation) },
  nodeLoadMs: { runs: loadMs.map((x) => Math.round(x * 10) / 10), median: Math.round(median(loadMs) * 10) / 10 },
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`,
};
fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
fs.writeFileSync(path.join(root, '.bench', 'extension.json'), JSON.stringify(result, null, 2) + '\n');
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log('bundle (loaded at activation)  dist/extension.js           ' + `${kb(sizes['extension.js'].bytes)} (${kb(sizes['extension.js'].gzip)} gzip)`);
console.log('deferred (after activation)    dist/extension-deferred.js  ' + `${kb(sizes['extension-deferred.js'].bytes)} (${kb(sizes['extension-deferred.js'].gzip)} gzip)`);
console.log('policy files only              dist/policy-loader.js       ' + `${kb(sizes['policy-loader.js'].bytes)} (${kb(sizes['policy-loader.js'].gzip)} gzip)`);
console.log(`activation (VS Code's Running Extensions, ${runs} fresh windows): median ${result.activationMs.median} ms  [${activation.join(', ')}]`);
console.log(`load dist/extension.js in plain Node: median ${result.nodeLoadMs.median} ms`);
