/**
 * `warden doctor` against real settings files in temp directories (every layer path injected), running
 * the installed hook commands for real.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { featuresOf, parseVersion } from '../../src/runtime/install/claudeVersion';
import { runDoctor } from '../../src/runtime/install/doctor';
import { installGuard } from '../../src/runtime/install/install';
import { cleanEnv, HOOK, requireBuilt, runCli, tempDir } from '../hook/support';

describe('doctor', function () {
  this.timeout(30_000);
  let home: string;
  let proj: string;
  let managed: string;
  let env: NodeJS.ProcessEnv;
  before(requireBuilt);
  beforeEach(() => {
    home = tempDir();
    proj = tempDir();
    managed = path.join(home, 'managed', 'managed-settings.json');
    env = cleanEnv(home);
  });
  const doctor = (extra: Partial<Parameters<typeof runDoctor>[0]> = {}) => runDoctor({ env, projectDir: proj, managedSettings: managed, ...extra });
  const errors = (r: ReturnType<typeof runDoctor>) => r.issues.filter((i) => i.severity === 'error').map((i) => i.message);

  it('nothing installed: not guarded', () => {
    const r = doctor();
    assert.equal(r.ok, false);
    assert.match(errors(r).join('\n'), /no settings layer runs a working Agent Warden PreToolUse hook/);
  });

  it('installed at user scope: guarded, and the probe really got a deny from the hook', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath });
    const r = doctor();
    assert.equal(r.ok, true, JSON.stringify(r.issues, null, 2));
    const user = r.layers.find((l) => l.scope === 'user')!;
    assert.deepEqual(user.missingEvents, []);
    assert.equal(user.commands.length, 1);
    assert.equal(user.commands[0]!.probe!.denied, true);
    assert.match(user.commands[0]!.probe!.reason!, /secrets\.read/);
    assert.deepEqual(errors(r), []);
  });

  it('reports the active policy and the audit spool backlog of the guard\'s state directory', () => {
    const state = path.join(home, 'state');
    installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath, home: state });
    const r = doctor();
    assert.equal(r.policy.source, 'builtin');
    assert.equal(r.policy.id, 'builtin:baseline');
    assert.equal(r.spool.stateDir, state);
    assert.equal(r.spool.available, true);
    assert.equal(r.spool.backlog, 2, 'the probes\' decisions are in the spool, not yet acknowledged');
    assert.match(r.spool.detail, /2 events recorded, 2 not yet acknowledged/);
  });

  it('reports a --policy file in the hook command, and warns when it is missing', () => {
    const policy = path.join(home, 'p.yaml');
    fs.copyFileSync(path.join(path.dirname(HOOK), '..', 'policies', 'baseline.yaml'), policy);
    installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath, policy });
    assert.equal(doctor().policy.source, 'file');
    fs.rmSync(policy);
    const r = doctor();
    assert.equal(r.ok, false, 'a hook whose policy is missing denies every call');
    assert.ok(r.issues.some((i) => /--policy file .* does not exist/.test(i.message)));
    assert.ok(r.issues.some((i) => /denies even an ordinary call/.test(i.message)));
  });

  it('reports a hook script that no longer exists (the hook would fail open)', () => {
    const copy = path.join(home, 'dist', 'hook.js');
    fs.mkdirSync(path.dirname(copy));
    fs.copyFileSync(HOOK, copy);
    installGuard({ scope: 'project', env, projectDir: proj, hookScript: copy, node: process.execPath, inPlace: true });
    fs.rmSync(copy);
    const r = doctor();
    assert.equal(r.ok, false);
    assert.match(errors(r).join('\n'), /hook script .*hook\.js does not exist/);
  });

  it('reports a runtime that no longer exists', () => {
    const node = path.join(home, 'node');
    fs.copyFileSync(process.execPath, node);
    fs.chmodSync(node, 0o755);
    installGuard({ scope: 'user', env, hookScript: HOOK, node });
    fs.rmSync(node);
    assert.match(errors(doctor()).join('\n'), /runtime .*node does not exist/);
  });

  it('reports hooks switched off by disableAllHooks in managed settings', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath });
    fs.mkdirSync(path.dirname(managed), { recursive: true });
    fs.writeFileSync(managed, JSON.stringify({ disableAllHooks: true }));
    const r = doctor();
    assert.equal(r.ok, false);
    assert.match(errors(r).join('\n'), /managed settings set disableAllHooks/);
  });

  it('allowManagedHooksOnly: user hooks do not count, managed ones (and drop-ins) do', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath });
    fs.mkdirSync(path.join(path.dirname(managed), 'managed-settings.d'), { recursive: true });
    fs.writeFileSync(managed, JSON.stringify({ allowManagedHooksOnly: true }));
    assert.equal(doctor().ok, false);
    installGuard({ scope: 'managed', env, managedSettings: path.join(path.dirname(managed), 'managed-settings.d', '50-agent-warden.json'), hookScript: HOOK, node: process.execPath });
    const r = doctor();
    assert.equal(r.ok, true, JSON.stringify(r.issues, null, 2));
    assert.equal(r.layers.find((l) => l.scope === 'user')!.hooksRun, false);
  });

  it('reports a corrupt layer and an invalid layer', () => {
    fs.mkdirSync(path.join(proj, '.claude'));
    fs.writeFileSync(path.join(proj, '.claude', 'settings.json'), '{ nope');
    fs.writeFileSync(path.join(proj, '.claude', 'settings.local.json'), JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'x' }] }] } }));
    const msgs = errors(doctor()).join('\n');
    assert.match(msgs, /settings\.json:1:3: not valid JSON/);
    assert.match(msgs, /settings\.local\.json: hooks\.Stop\[0\]\.hooks\[0\]\.type: must be one of .* Claude Code ignores this whole file/);
  });

  it('bypass-permissions mode: allowed unless disableBypassPermissionsMode is "disable"', () => {
    assert.equal(doctor().bypassPermissionsMode, 'allowed');
    fs.mkdirSync(path.dirname(managed), { recursive: true });
    fs.writeFileSync(managed, JSON.stringify({ permissions: { disableBypassPermissionsMode: 'disable' } }));
    assert.equal(doctor().bypassPermissionsMode, 'disabled');
  });

  it('Claude Code version: onFailure supported but not set is a warning; old versions get the fail-open notice', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath, onFailure: 'omit' });
    const at = (v: string) => ({ path: '/x/claude', raw: `${v} (Claude Code)`, version: parseVersion(v)!, features: featuresOf(parseVersion(v)!) });
    const r329 = doctor({ claude: at('2.1.329') });
    assert.equal(r329.claude.version, '2.1.329');
    assert.ok(r329.issues.some((i) => i.severity === 'warning' && /supports onFailure/.test(i.message)));
    const r197 = doctor({ claude: at('2.1.197') });
    assert.ok(r197.issues.some((i) => /no fail-closed hook option/.test(i.message)));
    assert.ok(doctor({ claude: at('2.0.5') }).issues.some((i) => /older than any version/.test(i.message)));
  });

  it('warden doctor --json through the CLI: machine-readable, exit 0 when guarded, 1 when not', () => {
    const e = { ...env, AGENT_WARDEN_MANAGED_SETTINGS: managed };
    const bad = runCli(['doctor', '--json', '--dir', proj], { env: e });
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.stdout).ok, false);
    installGuard({ scope: 'project', env, projectDir: proj, hookScript: HOOK, node: process.execPath });
    const good = runCli(['doctor', '--json', '--dir', proj], { env: e });
    assert.equal(good.code, 0, good.stdout);
    const rep = JSON.parse(good.stdout);
    assert.equal(rep.ok, true);
    assert.deepEqual(rep.layers.map((l: { scope: string }) => l.scope), ['user', 'project', 'local', 'managed']);
    const text = runCli(['doctor', '--dir', proj], { env: e });
    assert.match(text.stdout, /^OK: Agent Warden guards Claude Code here \(project settings\)/);
  });
});
