/**
 * The hook runner as Claude Code runs it: dist/hook.js spawned as a process, one JSON object on stdin.
 * Every failure must end in the event's fail-closed JSON on stdout and exit code 0 — never a crash, a
 * non-zero exit or an empty stdout (which Claude Code treats as allow).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spoolStatus, verifyChain } from '../../src/runtime/audit/spool';
import { World } from '../cases/bundles/harness';
import { auditEvents, cleanEnv, hookJson, preToolUse, requireBuilt, ROOT, runHook, tempDir, type ProcResult } from '../hook/support';

/** Mark a state directory enrolled (the hook only looks for the file; grants then report a device mismatch). */
function enrol(state: string): void {
  fs.mkdirSync(state, { recursive: true });
  const e = { schema: 1, server: 'http://127.0.0.1:9', deviceId: 'test-device', userId: 'dev', tenant: 'acme', bundleId: null, deviceToken: 'awd_test', enrolledAt: new Date().toISOString() };
  fs.writeFileSync(path.join(state, 'enrollment.json'), JSON.stringify(e), { mode: 0o600 });
}

function assertDeny(r: ProcResult, reason?: RegExp): Record<string, any> {
  assert.equal(r.code, 0, `exit code ${r.code}, stderr ${r.stderr}`);
  const out = hookJson(r);
  assert.equal(out.hookSpecificOutput?.hookEventName, 'PreToolUse', JSON.stringify(out));
  assert.equal(out.hookSpecificOutput?.permissionDecision, 'deny', JSON.stringify(out));
  if (reason) assert.match(out.hookSpecificOutput.permissionDecisionReason, reason);
  return out;
}

/** A baseline copy in observe mode (would-deny is recorded, nothing is blocked). */
export function observeBaseline(dir: string): string {
  const text = fs.readFileSync(path.join(ROOT, 'policies', 'baseline.yaml'), 'utf8');
  assert.match(text, /^mode: enforce$/m);
  const file = path.join(dir, 'observe.yaml');
  fs.writeFileSync(file, text.replace(/^mode: enforce$/m, 'mode: observe').replace(/^  id: builtin:baseline$/m, '  id: test-observe'));
  return file;
}

describe('hook process: fail closed', function () {
  this.timeout(30_000);
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(requireBuilt);
  beforeEach(() => {
    home = tempDir();
    env = cleanEnv(home);
  });

  it('denies a destructive command and records the decision before answering', async () => {
    const r = await runHook(preToolUse('Bash', { command: 'rm -rf ~' }), { env });
    const out = assertDeny(r, /delete\.root-or-home/);
    const events = auditEvents(path.join(home, '.agent-warden'));
    assert.equal(events.length, 1);
    assert.equal(events[0].data.decision.effect, 'deny');
    assert.ok(out.hookSpecificOutput.permissionDecisionReason.includes(`event ${events[0].id}`), 'the reason names the audit event id');
  });

  it('allows an ordinary build command without a decision (Claude Code\'s own permissions apply) and records it', async () => {
    const r = await runHook(preToolUse('Bash', { command: 'npm run build' }), { env });
    assert.equal(r.code, 0);
    const out = hookJson(r);
    assert.deepEqual(out, { hookSpecificOutput: { hookEventName: 'PreToolUse' } });
    assert.equal(auditEvents(path.join(home, '.agent-warden'))[0].data.decision.effect, 'allow');
  });

  /** A deny for input the hook could not evaluate is in the audit trail like any other, and its reason names it. */
  const assertRecorded = (out: Record<string, any>, reason: RegExp, state = path.join(home, '.agent-warden')): any => {
    const ev = auditEvents(state);
    assert.equal(ev.length, 1, 'exactly one record');
    assert.equal(ev[0].data.decision.effect, 'deny');
    assert.match(ev[0].data.decision.reason, reason);
    assert.ok(out.hookSpecificOutput.permissionDecisionReason.includes(`audit event ${ev[0].id}`), out.hookSpecificOutput.permissionDecisionReason);
    return ev[0];
  };

  it('denies malformed JSON, and records the deny with what can be read safely', async () => {
    const raw = '{"hook_event_name":"PreToolUse","session_id":"s-42","tool_name":"Bash","tool_input":{"command": ';
    const ev = assertRecorded(assertDeny(await runHook(raw, { env }), /not valid JSON/), /not valid JSON/);
    assert.equal(ev.data.agent.sessionId, 's-42');
    assert.equal(ev.data.tool.name, 'Bash');
    assert.match(ev.data.tool.input.unreadable, new RegExp(`^${Buffer.byteLength(raw)} bytes`));
  });
  it('denies empty input, recorded', async () => assertRecorded(assertDeny(await runHook('', { env }), /empty hook input/), /empty hook input/));
  it('denies a JSON value that is not an object, recorded', async () => assertRecorded(assertDeny(await runHook('[1,2,3]', { env }), /not a JSON object/), /not a JSON object/));

  it('denies input larger than the limit (default 8 MiB) without reading it all', async () => {
    const huge = preToolUse('Bash', { command: 'echo ' + 'a'.repeat(9 * 1024 * 1024) });
    assertDeny(await runHook(huge, { env }), /larger than 8388608 bytes/);
  });

  it('denies input larger than AGENT_WARDEN_MAX_INPUT, recorded', async () => {
    const out = assertDeny(await runHook(preToolUse('Bash', { command: 'echo ' + 'a'.repeat(5000) }), { env: { ...env, AGENT_WARDEN_MAX_INPUT: '2000' } }), /larger than 2000 bytes/);
    assert.equal(assertRecorded(out, /larger than 2000 bytes/).data.tool.name, 'Bash');
  });

  it('denies deeply nested input, recorded', async () => {
    let v: unknown = 'x';
    for (let i = 0; i < 200; i++) v = { a: v };
    assertRecorded(assertDeny(await runHook(preToolUse('Bash', v), { env }), /nested deeper than 64/), /nested deeper than 64/);
  });

  it('denies when the policy file does not exist', async () => {
    assertDeny(await runHook(preToolUse('Bash', { command: 'ls' }), { env, args: ['--policy', path.join(home, 'missing.yaml')] }), /policy could not be evaluated.*ENOENT/);
  });

  it('denies when the policy path is a directory', async () => {
    assertDeny(await runHook(preToolUse('Bash', { command: 'ls' }), { env, args: ['--policy', home] }), /policy could not be evaluated/);
  });

  it('denies when the policy is not valid YAML', async () => {
    const p = path.join(home, 'bad.yaml');
    fs.writeFileSync(p, 'apiVersion: [unclosed\n  - x: : y');
    assertDeny(await runHook(preToolUse('Bash', { command: 'ls' }), { env, args: ['--policy', p] }), /policy could not be evaluated/);
  });

  it('denies when loading the policy throws (schema violation)', async () => {
    const p = path.join(home, 'throws.yaml');
    fs.writeFileSync(p, 'apiVersion: agentwarden.dev/v1\nkind: Policy\nmetadata: { id: t, version: "1" }\ndefaultEffect: maybe\nrules: []\n');
    const out = assertDeny(await runHook(preToolUse('Bash', { command: 'ls' }), { env, args: ['--policy', p] }), /policy could not be evaluated/);
    // The failure is recorded like any decision.
    const ev = auditEvents(path.join(home, '.agent-warden'));
    assert.equal(ev.length, 1);
    assert.equal(ev[0].data.decision.effect, 'deny');
    assert.equal(ev[0].data.policy.id, 'unavailable');
    assert.ok(out.hookSpecificOutput.permissionDecisionReason.includes(ev[0].id));
  });

  it('denies on an unknown hook argument (misconfigured install), recorded in the --home it names', async () => {
    const state = path.join(home, 'state');
    assertRecorded(assertDeny(await runHook(preToolUse('Bash', { command: 'ls' }), { env, args: ['--home', state, '--bogus'] }), /misconfigured/), /misconfigured/, state);
  });

  it('denies when analysis runs past the deadline (AGENT_WARDEN_DEADLINE_MS); the same call is allowed with time to finish', async () => {
    const cmd = Array.from({ length: 1000 }, (_, i) => `echo ${i} > /dev/null`).join('; ');
    const slow = await runHook(preToolUse('Bash', { command: cmd }), { env: { ...env, AGENT_WARDEN_DEADLINE_MS: '260' } });
    assertDeny(slow, /analysis deadline exceeded/);
    const normal = await runHook(preToolUse('Bash', { command: cmd }), { env });
    assert.equal(hookJson(normal).hookSpecificOutput.permissionDecision, undefined, 'control: allowed when the analysis can finish');
  });

  it('denies when stdin is never closed (internal deadline fires well before the hook timeout)', async () => {
    const r = await runHook(null, { env: { ...env, AGENT_WARDEN_DEADLINE_MS: '700' }, holdMs: 20_000 });
    // Had the deadline not fired, stdin would have closed after 20 s and the answer would be "empty hook input".
    assertRecorded(assertDeny(r, /no decision within 700 ms/), /no decision within 700 ms/);
  });

  it('denies when the audit record cannot be written', async () => {
    const blocker = path.join(home, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const r = await runHook(preToolUse('Bash', { command: 'npm run build' }), { env, args: ['--home', path.join(blocker, 'state')] });
    assertDeny(r, /audit record could not be written/);
  });

  it('with the audit spool past 95 % of its cap (AGENT_WARDEN_SPOOL_CAP), a call that would be allowed is denied and that deny is recorded', async () => {
    const state = path.join(home, '.agent-warden');
    // Filler events are about 5 KB and the critical band (95-100 % of 200 KB) is 10 KB wide, so the spool
    // stops in it with room for the deny that replaces the allow.
    const capEnv = { ...env, AGENT_WARDEN_SPOOL_CAP: '200000' };
    enrol(state); // an enrolled device keeps every record for its server (no local retention)
    let level = 'ok';
    for (let i = 0; i < 200 && level !== 'critical'; i++) {
      const r = await runHook(preToolUse('Bash', { command: `rm -rf ~ # ${i} ${'pad '.repeat(800)}` }), { env: capEnv });
      assertDeny(r);
      level = spoolStatus(state, { capBytes: 200000 }).level;
    }
    assert.equal(level, 'critical', 'the spool reached the critical level with denies (which are always recorded)');
    const before = auditEvents(state).length;
    const r = await runHook(preToolUse('Bash', { command: 'npm run build' }), { env: capEnv });
    assertDeny(r, /audit spool is nearly full/);
    const after = auditEvents(state);
    assert.equal(after.length, before + 1, 'exactly the replacing deny was recorded');
    assert.equal(after.at(-1).data.decision.effect, 'deny');
    assert.equal(after.at(-1).data.tool.input.command, 'npm run build');
    const control = await runHook(preToolUse('Bash', { command: 'npm run build' }), { env });
    assert.equal(hookJson(control).hookSpecificOutput.permissionDecision, undefined, 'control: allowed under the default cap');
  });

  it('a device that is not enrolled keeps its spool under the cap by dropping its oldest records, and never denies for it', async () => {
    const state = path.join(home, '.agent-warden');
    const capEnv = { ...env, AGENT_WARDEN_SPOOL_CAP: '60000' };
    for (let i = 0; i < 40; i++) {
      const r = await runHook(preToolUse('Bash', { command: `npm run build # ${i} ${'pad '.repeat(300)}` }), { env: capEnv });
      assert.equal(hookJson(r).hookSpecificOutput.permissionDecision, undefined, `call ${i} was not denied`);
    }
    const st = spoolStatus(state, { capBytes: 60000 });
    assert.notEqual(st.level, 'critical');
    assert.ok(st.bytesUsed < 60000);
    const retention = auditEvents(state).filter((e) => e.data?.action === 'local-retention');
    assert.ok(retention.length >= 1, 'the chain records what was dropped');
    assert.equal(verifyChain(state).ok, true);
  });

  it('fail-open: with no usable bundle and a signed trust root that allows it, the baseline only records what it would block', async () => {
    // Bundles of the harness are issued at T0 (2026-07-01) and expire 7 days later: today they are past grace.
    const open = new World();
    await open.init({ trust: { bundles: { failOpen: true } } });
    const out = hookJson(await runHook(preToolUse('Bash', { command: 'rm -rf ~' }), { env, args: ['--home', open.stateDir] }));
    assert.equal(out.hookSpecificOutput.permissionDecision, undefined, JSON.stringify(out));
    assert.match(out.systemMessage, /observe mode\) would have blocked/);
    assert.match(out.systemMessage, /allows failing open/);
    const ev = auditEvents(open.stateDir).filter((e) => e.data?.decision).at(-1);
    assert.deepEqual([ev.data.decision.effect, ev.data.decision.verdict, ev.data.policy.state], ['allow', 'deny', 'fail-open']);
    // Control: the same state without the trust root's permission fails closed on the baseline.
    const closed = new World();
    await closed.init({});
    assertDeny(await runHook(preToolUse('Bash', { command: 'rm -rf ~' }), { env, args: ['--home', closed.stateDir] }), /delete\.root-or-home/);
  });

  it('a deny stays a deny (with its policy reason) when the audit record cannot be written', async () => {
    const blocker = path.join(home, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const r = await runHook(preToolUse('Bash', { command: 'rm -rf ~' }), { env, args: ['--home', path.join(blocker, 'state')] });
    assertDeny(r, /audit record could not be written.*policy also says/);
  });

  it('denies reading .env for a subagent exactly as for the main agent, and records agent_id/agent_type', async () => {
    const proj = tempDir();
    fs.writeFileSync(path.join(proj, '.env'), 'SECRET=1');
    const r = await runHook(preToolUse('Read', { file_path: path.join(proj, '.env') }, { cwd: proj, agent_id: 'a5cf868df96bfd2d7', agent_type: 'general-purpose' }), { env });
    assertDeny(r, /secrets\.read/);
    const ev = auditEvents(path.join(home, '.agent-warden'))[0];
    assert.equal(ev.data.agent.agentId, 'a5cf868df96bfd2d7');
    assert.equal(ev.data.agent.agentType, 'general-purpose');
  });

  it('observe mode: a would-be deny is not blocked, is shown to the user and recorded with its verdict', async () => {
    const policy = observeBaseline(home);
    const r = await runHook(preToolUse('Bash', { command: 'rm -rf ~' }), { env, args: ['--policy', policy] });
    assert.equal(r.code, 0);
    const out = hookJson(r);
    assert.equal(out.hookSpecificOutput.permissionDecision, undefined);
    assert.match(out.systemMessage, /observe mode\) would have blocked/);
    const ev = auditEvents(path.join(home, '.agent-warden'))[0];
    assert.equal(ev.data.decision.effect, 'allow');
    assert.equal(ev.data.decision.verdict, 'deny');
    assert.equal(ev.data.decision.mode, 'observe');
  });

  it('a stored --home state dir is used for the audit spool', async () => {
    const state = path.join(home, 'custom-state');
    await runHook(preToolUse('Bash', { command: 'ls' }), { env, args: ['--agent-warden', '--home', state] });
    assert.equal(auditEvents(state).length, 1);
  });
});

describe('hook process: recorded events never block', function () {
  this.timeout(30_000);
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(requireBuilt);
  beforeEach(() => {
    home = tempDir();
    env = cleanEnv(home, { CLAUDE_CODE_ENTRYPOINT: 'sdk-cli' });
  });
  const base = { session_id: 's1', transcript_path: '/tmp/t.jsonl', cwd: '/tmp' };

  const cases: [string, Record<string, unknown>][] = [
    ['PostToolUse', { tool_name: 'Bash', tool_input: { command: 'cat config' }, tool_response: { stdout: 'key=AKIAIOSFODNN7EXAMPLE\nok', stderr: '', interrupted: false }, tool_use_id: 't1', duration_ms: 12 }],
    ['PostToolUseFailure', { tool_name: 'Bash', tool_input: { command: 'false' }, tool_use_id: 't2', error: 'Exit code 3\nfailing', is_interrupt: false, duration_ms: 5 }],
    ['UserPromptSubmit', { prompt: 'deploy with token ghp_abcdefghijklmnopqrstuvwxyz0123456789', permission_mode: 'default' }],
    ['SessionStart', { source: 'startup', model: 'claude-opus-4-8' }],
    ['SessionEnd', { reason: 'other' }],
    ['SubagentStart', { agent_id: 'a1', agent_type: 'Explore' }],
    ['SubagentStop', { agent_id: 'a1', agent_type: 'Explore', stop_hook_active: false, agent_transcript_path: '/tmp/a.jsonl', last_assistant_message: 'done' }],
    ['Stop', { stop_hook_active: false, last_assistant_message: 'done' }],
    ['Notification', { message: 'hi', notification_type: 'idle' }],
  ];
  for (const [event, fields] of cases) {
    it(`${event}: answers {} with exit 0 and records the event`, async () => {
      const r = await runHook(JSON.stringify({ ...base, hook_event_name: event, ...fields }), { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(hookJson(r), {});
      const ev = auditEvents(path.join(home, '.agent-warden'));
      assert.equal(ev.length, 1);
      assert.equal(ev[0].data.hook.event, event);
      const text = JSON.stringify(ev[0]);
      assert.ok(!text.includes('AKIAIOSFODNN7EXAMPLE') && !text.includes('ghp_abcdefghijklmnopqrstuvwxyz0123456789'), 'secrets are redacted');
    });
  }

  it('PostToolUse records outcome, duration and a redacted excerpt of the output', async () => {
    await runHook(JSON.stringify({ ...base, hook_event_name: 'PostToolUse', ...cases[0]![1] }), { env });
    const ev = auditEvents(path.join(home, '.agent-warden'))[0];
    assert.equal(ev.data.tool.durationMs, 12);
    assert.match(ev.data.tool.response.excerpt, /\[REDACTED/);
    assert.match(ev.data.tool.response.sha256, /^[0-9a-f]{64}$/);
  });

  it('SessionStart records where the session was started from and the permission mode its settings select', async () => {
    const proj = tempDir();
    fs.mkdirSync(path.join(proj, '.claude'));
    fs.writeFileSync(path.join(proj, '.claude', 'settings.json'), JSON.stringify({ permissions: { defaultMode: 'acceptEdits' } }));
    fs.writeFileSync(path.join(proj, '.claude', 'settings.local.json'), JSON.stringify({ permissions: { defaultMode: 'plan' } }));
    const managed = path.join(home, 'managed.json');
    fs.writeFileSync(managed, JSON.stringify({ permissions: { disableBypassPermissionsMode: 'disable' } }));
    await runHook(JSON.stringify({ ...base, cwd: proj, hook_event_name: 'SessionStart', source: 'startup' }), { env: { ...env, CLAUDE_PROJECT_DIR: proj, AGENT_WARDEN_MANAGED_SETTINGS: managed } });
    const ev = auditEvents(path.join(home, '.agent-warden'))[0];
    assert.equal(ev.data.hook.fields.source, 'startup');
    assert.equal(ev.data.hook.fields.entrypoint, 'sdk-cli');
    assert.equal(ev.data.hook.fields.project_dir, proj);
    assert.equal(ev.data.hook.fields.settings_permission_mode, 'plan', 'local settings take precedence over project settings');
    assert.equal(ev.data.hook.fields.bypass_permissions_mode, 'disabled');
  });

  it('never copies the environment into the record', async () => {
    await runHook(JSON.stringify({ ...base, hook_event_name: 'SessionStart', source: 'startup' }), { env: { ...env, ANTHROPIC_API_KEY: 'sk-ant-must-not-leak-0123456789' } });
    assert.ok(!JSON.stringify(auditEvents(path.join(home, '.agent-warden'))).includes('must-not-leak'));
  });

  it('a recording failure is a warning for the user, never a block', async () => {
    const blocker = path.join(home, 'f');
    fs.writeFileSync(blocker, 'x');
    const r = await runHook(JSON.stringify({ ...base, hook_event_name: 'PostToolUse', ...cases[0]![1] }), { env, args: ['--home', path.join(blocker, 's')] });
    assert.equal(r.code, 0);
    const out = hookJson(r);
    assert.match(out.systemMessage, /could not record PostToolUse/);
    assert.equal(out.decision, undefined);
    assert.equal(out.hookSpecificOutput, undefined);
  });

  it('malformed input of a recording event gets a non-blocking answer', async () => {
    const r = await runHook('{"hook_event_name":"PostToolUse","tool_response": {', { env });
    assert.equal(r.code, 0);
    const out = hookJson(r);
    assert.equal(out.hookSpecificOutput, undefined);
    assert.equal(out.decision, undefined);
    assert.match(out.systemMessage, /not valid JSON/);
  });

  it('too deeply nested input of a recording event gets a non-blocking answer', async () => {
    let v: unknown = 1;
    for (let i = 0; i < 100; i++) v = [v];
    const r = await runHook(JSON.stringify({ ...base, hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: {}, tool_response: v }), { env });
    const out = hookJson(r);
    assert.equal(out.hookSpecificOutput, undefined);
    assert.match(out.systemMessage, /nested deeper/);
  });
});
