#!/usr/bin/env node
// `npm test`: every test suite, after one build. `npm run test:<suite>` runs one.
// Run `node scripts/test.mjs --help` for the suites and options.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const mocha = (...args) => ['npx', '--no-install', 'mocha', ...args];

/**
 * Each suite: what it proves, how it runs, and what it needs installed first (an idempotent script that
 * returns at once when everything is already there). Nothing here downloads at test time except those
 * setup scripts, which use only the npm registry and Debian's apt repositories.
 */
const SUITES = {
  unit: {
    about: 'core, hook process, CLI, bundles, audit spool, exceptions, extension UI logic (plain Node)',
    run: [mocha()], // .mocharc.json: out/test/unit/**/*.test.js
  },
  reliability: {
    about: 'audit spool under 200 concurrent processes and random SIGKILLs',
    run: [mocha('--no-config', '--timeout', '180000', '--slow', '20000', 'out/test/reliability/spoolConcurrency.test.js')],
  },
  server: {
    about: 'central server on SQLite and PostgreSQL; server and forwarder killed mid-stream',
    setup: 'postgres',
    run: [mocha('--no-config', '--timeout', '120000', '--slow', '5000', 'out/test/server/**/*.test.js', 'out/test/reliability/serverForward.test.js')],
  },
  e2e: {
    about: 'the real Claude Code CLI (pinned versions) against a fake Messages API on 127.0.0.1',
    setup: 'scripts/install-e2e-deps.sh',
    run: [mocha('--no-config', '--timeout', '180000', '--slow', '15000', 'out/test/e2e/**/*.test.js')],
  },
  vscode: {
    about: 'the extension in the real VS Code workbench (code-server) driven in headless chromium',
    setup: 'scripts/install-vscode-deps.sh',
    run: [
      ['node', 'out/test/vscode/runInHost.js'],
      mocha('--no-config', '--reporter', 'spec', '--timeout', '300000', '--slow', '30000', 'out/test/vscode/ui/**/*.test.js'),
    ],
  },
};

const HELP = `Usage: node scripts/test.mjs [suite…] [--no-build] [--no-setup] [--help]

Runs the named test suites (default: all of them, in this order) after building dist/ and compiling the
tests once, and exits non-zero if any suite failed. Every suite runs even when an earlier one failed.

Suites:
${Object.entries(SUITES)
  .map(([name, s]) => `  ${name.padEnd(12)}${s.about}`)
  .join('\n')}

Before a suite that needs more than npm packages, its setup script installs what is missing (Claude Code
CLIs into .cache/, code-server and Debian's chromium, a throwaway PostgreSQL on 127.0.0.1:54329); each
returns at once when everything is there. The PostgreSQL variants of the server suite are pending when
no database can be started, except under CI=1, where they fail.

Options:
  --no-build   use dist/ and out/ as they are
  --no-setup   skip the setup scripts (a suite whose dependencies are missing then fails with a message)
  --help       this text`;

function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  for (const f of flags) if (!['--no-build', '--no-setup'].includes(f)) return usage(`unknown option ${f}`);
  const names = argv.filter((a) => !a.startsWith('-'));
  for (const n of names) if (!SUITES[n]) return usage(`unknown suite "${n}"`);
  const chosen = names.length ? names : Object.keys(SUITES);

  if (!flags.has('--no-build')) {
    if (!step('build', ['npm', 'run', '--silent', 'build'])) return 1;
    if (!step('compile tests', ['npm', 'run', '--silent', 'compile-tests'])) return 1;
  }
  const env = { ...process.env };
  const results = [];
  for (const name of chosen) {
    const suite = SUITES[name];
    const started = Date.now();
    let ok = true;
    if (suite.setup && !flags.has('--no-setup')) ok = setup(suite.setup, env);
    if (ok) for (const cmd of suite.run) ok = step(`${name}: ${cmd.slice(cmd[0] === 'npx' ? 3 : 0).join(' ')}`, cmd, env) && ok;
    results.push({ name, ok, seconds: Math.round((Date.now() - started) / 1000) });
  }
  console.log('\nTest suites:');
  for (const r of results) console.log(`  ${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(12)}${r.seconds} s`);
  return results.every((r) => r.ok) ? 0 : 1;
}

function usage(message) {
  console.error(`test: ${message}\n\n${HELP}`);
  return 2;
}

function step(label, cmd, env = process.env) {
  console.log(`\n==> ${label}`);
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, env, stdio: 'inherit', shell: false });
  if (r.error) console.error(`test: cannot run ${cmd[0]}: ${r.error.message}`);
  return r.status === 0;
}

function setup(what, env) {
  if (what !== 'postgres') return step(`setup: ${what}`, ['bash', what], env);
  if (env.AGENT_WARDEN_TEST_PG_URL) return true;
  console.log('\n==> setup: a throwaway PostgreSQL on 127.0.0.1 (scripts/ci-postgres.sh)');
  const r = spawnSync('bash', ['scripts/ci-postgres.sh'], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /^export AGENT_WARDEN_TEST_PG_URL=(\S+)$/m.exec(r.stdout ?? '');
  if (r.status === 0 && m) {
    env.AGENT_WARDEN_TEST_PG_URL = m[1];
    return true;
  }
  // Not fatal here: without a database the PostgreSQL variants are pending (and fail under CI=1).
  console.error('test: no PostgreSQL could be started; the PostgreSQL variants of the server suite will not run');
  return true;
}

if (!fs.existsSync(path.join(ROOT, 'package.json'))) throw new Error(`not a checkout: ${ROOT}`);
process.exitCode = main(process.argv.slice(2));
