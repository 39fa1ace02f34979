/**
 * Settings in plain Node: every value validated when read (invalid → default, reported), precedence, and
 * organisation-managed values that win and show as locked.
 */
import * as assert from 'node:assert/strict';
import { checkServerUrl, DEFAULTS, parseManagedConfig, resolveSettings, type Inspected, type SettingKey } from '../../src/extension/model/settings';

const from = (m: Partial<Record<SettingKey, Inspected>>) => (k: SettingKey): Inspected | undefined => m[k];

describe('extension: settings', () => {
  it('defaults when nothing is set', () => {
    const r = resolveSettings(from({}));
    for (const [k, v] of Object.entries(DEFAULTS)) assert.deepEqual(r.settings[k as SettingKey], { value: v, source: 'default', locked: false });
    assert.deepEqual(r.problems, []);
  });

  it('workspace over user, each layer validated; an invalid value is ignored and reported', () => {
    const r = resolveSettings(from({ notifications: { globalValue: 'all', workspaceValue: 'off' }, syncInterval: { globalValue: 5 }, maxDecisions: { globalValue: 500, workspaceValue: 'lots' } }));
    assert.deepEqual(r.settings.notifications, { value: 'off', source: 'workspace', locked: false });
    assert.deepEqual(r.settings.syncInterval, { value: 90, source: 'default', locked: false });
    assert.deepEqual(r.settings.maxDecisions, { value: 500, source: 'user', locked: false });
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0]!, /agentWarden\.syncInterval in user settings must be a whole number of seconds from 30 to 86400; using 90/);
    assert.match(r.problems[1]!, /agentWarden\.maxDecisions in workspace settings .*; using 500/);
  });

  it('server URLs: https, or http to loopback only; no credentials', () => {
    assert.equal(checkServerUrl('https://warden.acme.test'), undefined);
    assert.equal(checkServerUrl('http://127.0.0.1:8787'), undefined);
    assert.equal(checkServerUrl(''), undefined);
    assert.match(checkServerUrl('http://warden.acme.test')!, /https/);
    assert.match(checkServerUrl('https://u:p@warden.acme.test')!, /credentials/);
    assert.match(checkServerUrl('not a url')!, /not a URL/);
    assert.match(checkServerUrl('ftp://x')!, /https/);
  });

  it('the machine config file wins over the user and locks; sync.json locks the server; bad managed values are ignored', () => {
    const r = resolveSettings(from({ serverUrl: { globalValue: 'https://mine.test' }, notifications: { globalValue: 'off' } }), {
      extensionConfig: { file: '/etc/agent-warden/extension.json', values: { 'agentWarden.notifications': 'denies', syncInterval: 1, color: 'red' } },
      syncServer: { file: '/etc/agent-warden/sync.json', server: 'https://warden.acme.test' },
    });
    assert.deepEqual(r.settings.serverUrl, { value: 'https://warden.acme.test', source: 'managed', locked: true, lockedBy: '/etc/agent-warden/sync.json' });
    assert.deepEqual(r.settings.notifications, { value: 'denies', source: 'managed', locked: true, lockedBy: '/etc/agent-warden/extension.json' });
    assert.deepEqual(r.settings.syncInterval, { value: 90, source: 'default', locked: false });
    assert.ok(r.problems.some((p) => /syncInterval must be/.test(p)));
    assert.ok(r.problems.some((p) => /unknown setting "color"/.test(p)));
  });

  it('Claude Code managed settings that install the guard lock the install scope to managed', () => {
    const r = resolveSettings(from({ installScope: { globalValue: 'workspace' } }), { claudeManaged: { file: '/etc/claude-code/managed-settings.json', guardInstalled: true, managedHooksOnly: false } });
    assert.deepEqual(r.settings.installScope, { value: 'managed', source: 'managed', locked: true, lockedBy: '/etc/claude-code/managed-settings.json' });
    const plain = resolveSettings(from({ installScope: { globalValue: 'workspace' } }), { claudeManaged: { file: 'm', guardInstalled: false, managedHooksOnly: false } });
    assert.equal(plain.settings.installScope.value, 'workspace');
  });

  it('the machine config file is JSON object or an error', () => {
    assert.deepEqual(parseManagedConfig('{"serverUrl":"https://x"}'), { values: { serverUrl: 'https://x' } });
    assert.ok('error' in parseManagedConfig('[1]'));
    assert.ok('error' in parseManagedConfig('{'));
  });
});
