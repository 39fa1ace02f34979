/** The `warden` verbs this module owns (eval, test, explain, help), through main() with a captured Io. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMMANDS } from '../../src/cli/commands';
import { main } from '../../src/cli/main';
import { CLI_REFERENCE_FILE, cliReferenceText } from '../../src/cli/reference';
import type { Io } from '../../src/cli/types';

const ROOT = path.resolve(__dirname, '../../..');

async function run(args: string[], stdin = '', cwd = '/home/dev/project'): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += t + '\n'),
    err: (t) => (err += t + '\n'),
    stdin: async () => stdin,
    cwd,
    env: { HOME: '/home/dev', USER: 'dev' },
  };
  const code = await main(args, io);
  return { code, out, err };
}

describe('warden CLI', () => {
  it('prints help and the list of commands', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const verb of ['hook', 'eval', 'validate', 'test', 'explain']) assert.match(r.out, new RegExp(`^  ${verb} `, 'm'));
  });

  it(`${CLI_REFERENCE_FILE} is every command's --help (run \`npm run schemas\` after changing one)`, async () => {
    const onDisk = fs.readFileSync(path.join(ROOT, CLI_REFERENCE_FILE), 'utf8');
    assert.equal(onDisk, cliReferenceText());
    for (const c of COMMANDS) {
      const r = await run([c.name, '--help']);
      assert.equal(r.code, 0, c.name);
      assert.ok(onDisk.includes(r.out.trimEnd()), `docs/cli.md has the --help of ${c.name}`);
    }
  });

  it('rejects an unknown command with exit code 2', async () => {
    const r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "frobnicate"/);
  });

  for (const [verb, subs] of [
    ['audit', 'verify, tail or status'],
    ['bundle', 'sign, verify or publish'],
    ['trust', 'init, rotate, sign, verify or pin'],
    ['mcp', 'list or accept'],
    ['exception', 'request, list, show, approve, deny, revoke, cancel or sync'],
  ] as const) {
    it(`${verb}: a missing or unknown subcommand is a usage error (exit 2) that lists ${subs}`, async () => {
      const none = await run([verb]);
      assert.equal(none.code, 2);
      assert.ok(none.err.includes(`give a subcommand: ${subs}`), none.err);
      // an unknown subcommand is named before any option of it is judged
      const bad = await run([verb, 'toString', '--frob']);
      assert.equal(bad.code, 2);
      assert.ok(bad.err.includes(`unknown subcommand "toString"; expected ${subs}`), bad.err);
    });
  }

  it('every command has --help', async () => {
    for (const verb of ['hook', 'eval', 'validate', 'test', 'explain']) {
      const r = await run([verb, '--help']);
      assert.equal(r.code, 0, verb);
      assert.match(r.out, /^Usage: warden /);
    }
  });

  it('eval: one decision per JSON line, malformed lines denied with exit code 1', async () => {
    const lines = [
      JSON.stringify({ hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'cat .env' } }),
      JSON.stringify({ hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'npm test' } }),
      'not json',
      JSON.stringify({ hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'terraform destroy' } }),
    ].join('\n');
    const r = await run(['eval', '--policy', 'builtin:baseline'], lines);
    assert.equal(r.code, 1);
    const out = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(out.length, 4);
    assert.equal(out[0].effect, 'deny');
    assert.deepEqual(out[0].ruleIds, ['secrets.read']);
    assert.equal(out[1].effect, 'allow');
    assert.equal(out[2].effect, 'deny');
    assert.ok(out[2].error);
    assert.equal(out[3].effect, 'ask');
  });

  it('eval requires --policy', async () => {
    const r = await run(['eval'], '');
    assert.equal(r.code, 2);
    assert.match(r.err, /--policy is required/);
  });

  it('test: runs a suite and fails (exit 1) when a case fails, naming file:line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-cli-'));
    const suite = path.join(dir, 's.yaml');
    fs.writeFileSync(
      suite,
      [
        'suite: mini',
        'policy: builtin:baseline',
        'cases:',
        '  - name: passes',
        '    tool: Bash',
        '    input: { command: "cat .env" }',
        '    expect: { effect: deny }',
        '  - name: wrong on purpose',
        '    tool: Bash',
        '    input: { command: "ls" }',
        '    expect: { effect: deny }',
        '',
      ].join('\n'),
    );
    const r = await run(['test', suite]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`✗ wrong on purpose  \\(${suite.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:8\\)`));
    assert.match(r.out, /expected deny, got allow/);
    assert.match(r.out, /1 passed, 1 failed/);
    const j = await run(['test', suite, '--json']);
    const report = JSON.parse(j.out);
    assert.equal(report.passed, 1);
    assert.equal(report.failed, 1);
  });

  it('test: without arguments runs the baseline suite', async () => {
    const r = await run(['test']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /builtin:baseline essentials/);
  });

  it('test: a suite with a schema error reports file:line:col', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-cli-'));
    const suite = path.join(dir, 'bad.yaml');
    fs.writeFileSync(suite, 'suite: bad\npolicy: builtin:baseline\ncases:\n  - name: x\n    input: {}\n    expect: { effect: maybe }\n');
    const r = await run(['test', suite]);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`${path.basename(suite)}:6:23: cases.0.expect.effect`));
  });

  it('explain: shows facts, matched rules and the decision', async () => {
    const r = await run(['explain', '--command', 'cd ~/.ssh && tar czf /tmp/k.tgz .']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /read +\/home\/dev\/\.ssh \(recursive\)/);
    assert.match(r.out, /secrets\.read +→ deny/);
    assert.match(r.out, /Decision: DENY/);
    const j = await run(['explain', '--tool', 'Read', '--input', '{"file_path":"/home/dev/project/.env.example"}', '--json']);
    const parsed = JSON.parse(j.out);
    assert.equal(parsed.decision.effect, 'allow');
    assert.equal(parsed.facts.paths[0].path, '/home/dev/project/.env.example');
  });

  it('validate accepts the valid example policies', async () => {
    const r = await run(['validate', path.join(ROOT, 'test/cases/policies/valid/observe-team.yaml')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ok \(acme\/observe 2026\.11\.1, 2 rules, observe mode\)/);
  });
});
