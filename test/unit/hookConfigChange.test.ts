/**
 * ConfigChange through the real hook process: a settings change that would remove or disable the guard is
 * vetoed (`{"decision":"block"}`, the shape Claude Code 2.1.197 and 2.1.329 honour), any other change passes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installGuard, recordFileFor } from '../../src/runtime/install/install';
import { auditEvents, cleanEnv, HOOK, hookJson, requireBuilt, runHook, tempDir } from '../hook/support';

describe('hook process: ConfigChange', function () {
  this.timeout(30_000);
  let home: string;
  let proj: string;
  let env: NodeJS.ProcessEnv;
  let file: string;
  before(requireBuilt);
  beforeEach(() => {
    home = tempDir();
    proj = tempDir();
    env = cleanEnv(home, { CLAUDE_PROJECT_DIR: proj, AGENT_WARDEN_MANAGED_SETTINGS: path.join(home, 'no-managed.json') });
    file = installGuard({ scope: 'project', env, projectDir: proj, hookScript: HOOK, node: process.execPath }).file;
  });

  const change = (source: string, filePath?: string) =>
    runHook(JSON.stringify({ session_id: 's', transcript_path: '/tmp/t', cwd: proj, hook_event_name: 'ConfigChange', source, ...(filePath ? { file_path: filePath } : {}) }), { env, cwd: proj });
  const edit = (f: (s: any) => void) => {
    const s = JSON.parse(fs.readFileSync(file, 'utf8'));
    f(s);
    fs.writeFileSync(file, JSON.stringify(s, null, 2));
  };
  const assertVeto = async (p: ReturnType<typeof change>, re: RegExp) => {
    const r = await p;
    assert.equal(r.code, 0);
    const out = hookJson(r);
    assert.equal(out.decision, 'block', JSON.stringify(out));
    assert.match(out.reason, re);
    assert.match(out.systemMessage, /restarted/);
    const ev = auditEvents(path.join(home, '.agent-warden')).pop();
    assert.equal(ev.data.hook.event, 'ConfigChange');
    assert.equal(ev.data.hook.fields.warden_outcome, 'blocked');
  };

  it('accepts an unrelated change (and records it)', async () => {
    edit((s) => (s.permissions.allow = ['Bash(npm test)']));
    const r = await change('project_settings', file);
    assert.deepEqual(hookJson(r), {});
    assert.equal(auditEvents(path.join(home, '.agent-warden'))[0].data.hook.fields.warden_outcome, 'accepted');
  });

  it('vetoes removing the guard\'s PreToolUse hook', async () => {
    edit((s) => delete s.hooks.PreToolUse);
    await assertVeto(change('project_settings', file), /no longer holds Agent Warden's hook for PreToolUse/);
  });

  it('vetoes replacing the guard command with another script', async () => {
    edit((s) => (s.hooks.PreToolUse[0].hooks[0].command = `"${process.execPath}" "/tmp/fake-hook.js" --agent-warden`));
    await assertVeto(change('project_settings'), /no longer holds Agent Warden's hook for PreToolUse/);
  });

  it('vetoes disableAllHooks', async () => {
    edit((s) => (s.disableAllHooks = true));
    await assertVeto(change('project_settings', file), /disableAllHooks/);
  });

  it('vetoes a file Claude Code would drop as invalid', async () => {
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/}\s*$/, ',}'));
    await assertVeto(change('project_settings', file), /not valid JSON/);
  });

  it('vetoes a file that fails validation (bad hook type)', async () => {
    edit((s) => (s.hooks.Stop[0].hooks[0].type = 'commnd'));
    await assertVeto(change('project_settings', file), /fails validation/);
  });

  it('vetoes deleting the settings file', async () => {
    fs.rmSync(file);
    await assertVeto(change('project_settings', file), /was deleted/);
  });

  it('vetoes removing a backstop deny rule', async () => {
    edit((s) => (s.permissions.deny = s.permissions.deny.filter((r: string) => r !== 'Read(**/.env)')));
    await assertVeto(change('project_settings', file), /backstop deny rule Read\(\*\*\/\.env\)/);
  });

  it('managed settings cannot be vetoed: the change is recorded and the user warned, nothing blocked', async () => {
    const managed = path.join(home, 'managed.json');
    installGuard({ scope: 'managed', env, managedSettings: managed, hookScript: HOOK, node: process.execPath });
    fs.writeFileSync(managed, '{}');
    const r = await change('policy_settings', managed);
    const out = hookJson(r);
    assert.equal(out.decision, undefined);
    assert.match(out.systemMessage, /managed settings changed in a way that disables Agent Warden/);
  });

  it('skills changes are recorded only', async () => {
    assert.deepEqual(hookJson(await change('skills', path.join(proj, '.claude', 'skills', 'x', 'SKILL.md'))), {});
  });

  it('without an install record: accepts a change to a file without the guard while another layer keeps it', async () => {
    const userFile = installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath }).file;
    assert.ok(fs.existsSync(userFile));
    const local = path.join(proj, '.claude', 'settings.local.json');
    fs.writeFileSync(local, JSON.stringify({ permissions: { allow: ['Bash(ls)'] } }));
    assert.deepEqual(hookJson(await change('local_settings', local)), {});
  });

  it('without an install record: vetoes a change that leaves no layer with the guard', async () => {
    fs.rmSync(recordFileFor(file));
    edit((s) => delete s.hooks);
    await assertVeto(change('project_settings', file), /no settings file holds Agent Warden's PreToolUse hook/);
  });

  it('a ConfigChange input that cannot be parsed is vetoed (fail closed), never answered with a PreToolUse shape', async () => {
    const r = await runHook('{"hook_event_name":"ConfigChange","source":', { env });
    const out = hookJson(r);
    assert.equal(out.decision, 'block');
    assert.equal(out.hookSpecificOutput, undefined);
  });
});
