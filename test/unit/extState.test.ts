/**
 * State → status bar in plain Node: which state wins, the text, the background, the tooltip.
 */
import * as assert from 'node:assert/strict';
import { statusKind, statusView, type WardenState } from '../../src/extension/model/state';

const NOW = 1_700_000_000_000;

function state(patch: Partial<WardenState> = {}): WardenState {
  return {
    install: { installed: true, scopes: ['user'] },
    policy: { source: 'bundle', id: 'acme/default', version: '12', mode: 'enforce', freshness: 'fresh', issuedAt: NOW - 3_600_000, expiresAt: NOW + 6 * 86_400_000 },
    server: { configured: true, url: 'https://warden.acme.test', reachable: true, lastSuccess: NOW - 60_000 },
    deniesThisSession: 0,
    pendingExceptions: 0,
    activeExceptions: 0,
    now: NOW,
    ...patch,
  };
}

describe('extension: status bar state', () => {
  it('enforcing: shield, policy version, no background', () => {
    const v = statusView(state());
    assert.equal(v.kind, 'enforcing');
    assert.equal(v.text, '$(shield) Warden v12');
    assert.equal(v.background, undefined);
    assert.match(v.tooltip, /signed bundle \*\*acme\/default\*\* v12 \(fresh, issued 1 h ago, expires in 6 d, enforced\)/);
  });

  it('the deny count of this session and pending exceptions are in the text', () => {
    const v = statusView(state({ deniesThisSession: 3, pendingExceptions: 1, activeExceptions: 2 }));
    assert.equal(v.text, '$(shield) Warden v12 · 3 denied $(clock) 1');
    assert.match(v.tooltip, /Denied this session: 3/);
    assert.match(v.tooltip, /Exceptions: 1 pending, 2 active/);
    assert.match(v.ariaLabel, /3 denied this session, 1 exception requests pending/);
  });

  it('not installed wins over everything, with a warning background and the way out', () => {
    const v = statusView(state({ install: { installed: false, scopes: [], problem: 'no settings layer runs a working Agent Warden PreToolUse hook' }, policy: { source: 'baseline', id: 'builtin:baseline', version: '1.0.0', mode: 'observe' }, server: { configured: true, reachable: false } }));
    assert.equal(v.kind, 'notInstalled');
    assert.equal(v.text, '$(shield) Warden: not installed');
    assert.equal(v.background, 'warning');
    assert.match(v.tooltip, /\*\*not guarded\*\*/);
    assert.match(v.tooltip, /\[\$\(gear\) Set up\]\(command:agentWarden\.setup/);
  });

  it('policy problems: stale, expired (grace), rejected update, unusable bundle', () => {
    assert.equal(statusView(state({ policy: { ...state().policy, freshness: 'stale' } })).text, '$(warning) Warden v12 (policy stale)');
    const grace = statusView(state({ policy: { ...state().policy, freshness: 'grace', graceEndsAt: NOW + 86_400_000 } }));
    assert.equal(grace.text, '$(warning) Warden v12 (policy expired)');
    assert.equal(grace.background, 'error');
    assert.match(grace.tooltip, /the baseline takes over in 24 h/);
    const rej = statusView(state({ policy: { ...state().policy, rejected: { at: NOW - 120_000, code: 'rollback', message: 'version 11 is older than 12' } } }));
    assert.equal(rej.text, '$(warning) Warden v12 (update rejected)');
    assert.equal(rej.background, 'warning');
    assert.match(rej.tooltip, /Last update rejected 2 min ago: version 11 is older than 12/);
    const fb = statusView(state({ policy: { source: 'baseline', id: 'builtin:baseline', version: '1.0.0', mode: 'enforce', fallback: { code: 'signature-invalid', message: 'no valid signature' } } }));
    assert.equal(fb.text, '$(warning) Warden baseline 1.0.0 (policy rejected)');
    assert.equal(fb.background, 'error');
  });

  it('offline: the server cannot be reached (the policy still applies)', () => {
    const v = statusView(state({ server: { configured: true, url: 'https://w.test', reachable: false, lastError: 'ECONNREFUSED' }, deniesThisSession: 1 }));
    assert.equal(v.kind, 'offline');
    assert.equal(v.text, '$(cloud-offline) Warden v12 (offline) · 1 denied');
    assert.match(v.tooltip, /ECONNREFUSED/);
  });

  it('observe mode, and a machine without a server is not offline', () => {
    assert.equal(statusView(state({ policy: { ...state().policy, mode: 'observe' } })).text, '$(eye) Warden v12 (observe)');
    const local = state({ server: { configured: false, reachable: null }, policy: { source: 'baseline', id: 'builtin:baseline', version: '1.0.0', mode: 'enforce' } });
    assert.equal(statusKind(local), 'enforcing');
    assert.equal(statusView(local).text, '$(shield) Warden baseline 1.0.0');
    assert.match(statusView(local).tooltip, /Server: not connected/);
  });

  it('server messages are escaped in the tooltip', () => {
    const v = statusView(state({ server: { configured: true, url: 'https://w.test', reachable: false, lastError: '[click](command:workbench.action.quit)' } }));
    assert.ok(!v.tooltip.includes('](command:workbench'), v.tooltip);
  });
});
