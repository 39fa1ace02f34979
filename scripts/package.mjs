#!/usr/bin/env node
// `npm run package`: a production build, then the .vsix (@vscode/vsce; its contents are package.json's
// "files" allowlist, the same one `npm pack` uses for the CLI package), then checks on what it holds.
// Fails (exit 1) when a required file is missing, something outside the allowlist got in (sources, tests,
// source maps, native modules, node_modules), or the package is over its size budget. Prints the contents
// and sizes.
//
//   node scripts/package.mjs [--out <file.vsix>] [--budget-kib <n>]
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
if (process.argv.includes('--help')) {
  console.log('Usage: node scripts/package.mjs [--out <file.vsix>] [--budget-kib <n>]   (default budget 2048 KiB)');
  process.exit(0);
}
const out = path.resolve(ROOT, arg('--out', `${pkg.name}-${pkg.version}.vsix`));
/** The packaged .vsix may not grow past this without a deliberate change here. */
const BUDGET_KIB = Number(arg('--budget-kib', '2048'));

const REQUIRED = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/dist/extension-deferred.js',
  'extension/dist/hook.js',
  'extension/dist/hook-main.js',
  'extension/dist/cli.js',
  'extension/dist/policy-loader.js',
  'extension/policies/baseline.yaml',
  'extension/schemas/policy.schema.json',
  'extension/media/icon.png',
  'extension/readme.md',
  'extension/changelog.md',
  'extension/LICENSE.txt',
];
const FORBIDDEN = [/\.node$/, /\.map$/, /\.cache$/, /(^|\/)node_modules\//, /^extension\/(src|test|out|bench|scripts)\//, /\.ts$/];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

run('node', ['esbuild.config.mjs', '--production']);
run('npx', ['--no-install', 'vsce', 'package', '--no-dependencies', '--out', out]);

// The zip's central directory: name and uncompressed size of every entry (unzip is not needed).
function listZip(file) {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file}: not a zip archive`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: damaged central directory`);
    const size = buf.readUInt32LE(p + 24);
    const n = buf.readUInt16LE(p + 28), x = buf.readUInt16LE(p + 30), c = buf.readUInt16LE(p + 32);
    entries.push({ name: buf.subarray(p + 46, p + 46 + n).toString('utf8'), size });
    p += 46 + n + x + c;
  }
  return entries;
}

const entries = listZip(out);
const names = new Set(entries.map((e) => e.name));
const problems = [];
for (const r of REQUIRED) if (!names.has(r)) problems.push(`missing: ${r}`);
for (const e of entries) if (FORBIDDEN.some((re) => re.test(e.name))) problems.push(`must not ship: ${e.name}`);
const kib = fs.statSync(out).size / 1024;
if (kib > BUDGET_KIB) problems.push(`the package is ${kib.toFixed(0)} KiB, over its ${BUDGET_KIB} KiB budget`);

console.log(`\n${path.relative(ROOT, out)}: ${kib.toFixed(0)} KiB compressed, ${entries.length} files, budget ${BUDGET_KIB} KiB`);
for (const e of [...entries].sort((a, b) => b.size - a.size)) console.log(`  ${(e.size / 1024).toFixed(1).padStart(8)} KiB  ${e.name}`);
if (problems.length) {
  console.error(`\npackage: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
// Rebuild the development bundles (with source maps) so the checkout is as `npm run build` leaves it.
execFileSync('node', ['esbuild.config.mjs'], { cwd: ROOT, stdio: 'ignore' });
