/**
 * The state snapshot in plain Node, against real files in a temporary HOME: not installed → installed with
 * the real installer → the hook's own state directory and policy; sync status → offline / rejected.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installGuard } from '../../src/runtime/install/install';
import { writeStatusFile } from '../../src/runtime/syncStatus';
import { doctorMarkdown } from '../../src/extension/model/reports';
import { statusView } from '../../src/extension/model/state';
import { collectSnapshot } from '../../src/extension/services/collect';
import { runDoctor } from '../../src/runtime/install/doctor';

const ROOT = path.resolve(__dirname, '../../..');
const HOOK = path.join(ROOT, 'dist', 'hook.js');

let home: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-ext-home-'));
  fs.mkdirSync(path.join(home, 'project'));
  env = { HOME: home, PATH: process.env.PATH, AGENT_WARDEN_MANAGED_SETTINGS: path.join(home, 'managed-settings.json') };
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('extension: state snapshot', () => {
  before(function () {
    if (!fs.existsSync(HOOK)) this.skip(); // needs `npm run build`
  });

  it('a clean machine: not installed, the built-in baseline, no server', () => {
    const s = collectSnapshot({ env, projectDir: path.join(home, 'project') });
    assert.equal(s.install.installed, false);
    assert.match(s.install.problem ?? '', /no settings layer runs a working Agent Warden PreToolUse hook/);
    assert.equal(s.policy.source, 'baseline');
    assert.equal(s.policy.id, 'builtin:baseline');
    assert.equal(s.stateDir, path.join(home, '.agent-warden'));
    assert.equal(s.server.configured, false);
    assert.ok(s.policyDoc && s.policyDoc.rules.length > 10);
    assert.equal(statusView({ install: s.install, policy: s.policy, server: s.server, deniesThisSession: 0, pendingExceptions: 0, activeExceptions: 0, now: Date.now() }).kind, 'notInstalled');
  });

  it('installed in user settings: installed, with the state directory of the hook command', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK, home: path.join(home, 'state') });
    const s = collectSnapshot({ env, projectDir: path.join(home, 'project') });
    assert.equal(s.install.installed, true);
    assert.deepEqual(s.install.scopes, ['user']);
    assert.equal(s.stateDir, path.join(home, 'state'));
  });

  it('a --policy file in the hook command is the policy shown', () => {
    const policy = path.join(home, 'team.warden.yaml');
    fs.writeFileSync(policy, 'apiVersion: agentwarden.dev/v1\nkind: Policy\nmetadata: { id: team/p, version: "3" }\ndefaultEffect: allow\nmode: observe\nrules:\n  - id: no-curl\n    effect: deny\n    reason: no curl\n    match: { command: { program: curl } }\n');
    installGuard({ scope: 'project', projectDir: path.join(home, 'project'), env, hookScript: HOOK, policy });
    const s = collectSnapshot({ env, projectDir: path.join(home, 'project') });
    assert.deepEqual(s.install.scopes, ['project']);
    assert.equal(s.policy.source, 'file');
    assert.equal(s.policy.mode, 'observe');
    assert.deepEqual(s.policyDoc!.rules.map((r) => r.id), ['no-curl']);
    assert.equal(s.policyFile, policy);
  });

  it('sync status: an unreachable server is offline; a refused update is reported', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK });
    const stateDir = path.join(home, '.agent-warden');
    fs.mkdirSync(stateDir, { recursive: true });
    const at = new Date().toISOString();
    writeStatusFile(stateDir, { schema: 1, server: 'https://w.test', consecutiveFailures: 3, lastAttempt: { at, result: 'error', code: 'network', message: 'connect ECONNREFUSED 127.0.0.1:9' } });
    let s = collectSnapshot({ env, projectDir: home, serverUrl: 'https://w.test' });
    assert.equal(s.server.reachable, false);
    assert.equal(s.server.lastError, 'connect ECONNREFUSED 127.0.0.1:9');
    writeStatusFile(stateDir, { schema: 1, consecutiveFailures: 0, lastAttempt: { at, result: 'rejected', code: 'rollback', message: 'older than the accepted version' }, lastRejection: { at, code: 'rollback', message: 'older than the accepted version' } });
    s = collectSnapshot({ env, projectDir: home, serverUrl: 'https://w.test' });
    assert.equal(s.server.reachable, true);
    assert.equal(s.policy.rejected?.code, 'rollback');
  });

  it('the doctor report renders the real doctor run', () => {
    installGuard({ scope: 'user', env, hookScript: HOOK });
    const rep = runDoctor({ env, projectDir: path.join(home, 'project'), probe: true });
    const md = doctorMarkdown(rep, { stateDir: path.join(home, '.agent-warden'), extensionVersion: '0.1.0', enrolled: false });
    assert.match(md, /\*\*✅ Guarding\*\*/);
    assert.match(md, /\| user \| `[^`]*settings\.json` \| loaded \| \d+ events; runtime ok; hook ok; denies a known-bad call/);
    assert.match(md, /Not connected: the policy is enforced offline/);
  });
});
