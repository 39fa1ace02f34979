/**
 * The Policy view's nodes in plain Node: source, version, age, mode, rules with effects, exceptions in
 * force with expiry and pending requests.
 */
import * as assert from 'node:assert/strict';
import { advance, inForce, statusText, type ExceptionRecord } from '../../src/extension/model/exceptions';
import { policyNodes, type RuleSummary } from '../../src/extension/model/policyTree';
import { builtinPolicy } from '../../src/runtime/builtin';

const NOW = 1_700_000_000_000;
const rules: RuleSummary[] = builtinPolicy('builtin:baseline').rules.map((r) => ({ id: r.id, effect: r.effect, reason: r.reason, ...(r.exception ? { exception: r.exception } : {}) }));

function rec(patch: Partial<ExceptionRecord>): ExceptionRecord {
  return { requestId: 'req-1', server: 'https://w.test', status: 'pending', ruleIds: ['secrets.read'], tool: 'Bash', matcher: { kind: 'commandPrefix', argv: ['cat', '.env'] }, durationMs: 900_000, justification: 'j', sourceEventId: 'e', createdAt: NOW - 1000, updatedAt: NOW - 1000, ...patch };
}

describe('extension: policy view', () => {
  it('a bundle: source, version, age, mode, rules with effects', () => {
    const nodes = policyNodes({ policy: { source: 'bundle', id: 'acme/default', version: '7', mode: 'enforce', freshness: 'fresh', issuedAt: NOW - 7_200_000, expiresAt: NOW + 86_400_000 }, rules, defaultEffect: 'allow', exceptions: [], now: NOW });
    const byId = new Map(nodes.map((n) => [n.item.id, n]));
    assert.equal(byId.get('policy.source')!.item.description, 'acme/default');
    assert.equal(byId.get('policy.version')!.item.description, 'v7');
    assert.equal(byId.get('policy.age')!.item.description, '2 h (fresh) · expires in 24 h');
    assert.equal(byId.get('policy.mode')!.item.description, 'enforce');
    const r = byId.get('policy.rules')!;
    assert.equal(r.children!.length, rules.length);
    assert.match(r.item.description!, new RegExp(`^${rules.length} \\(\\d+ deny, \\d+ ask\\) · default allow$`));
    const secrets = r.children!.find((c) => c.ruleId === 'secrets.read')!;
    assert.equal(secrets.item.description, 'deny · exceptions up to 1h');
    assert.equal(secrets.item.icon.id, 'circle-slash');
    assert.equal(byId.get('policy.exceptions')!.item.description, 'none');
  });

  it('the baseline because a bundle failed: says so', () => {
    const nodes = policyNodes({ policy: { source: 'baseline', id: 'builtin:baseline', version: '1.0.0', mode: 'enforce', fallback: { code: 'cache-tampered', message: 'the cached bundle was modified' } }, rules, exceptions: [], now: NOW });
    assert.match(nodes[0]!.item.tooltip, /not usable: the cached bundle was modified/);
    assert.ok(nodes.some((n) => n.item.id === 'policy.problem' && /policy rejected: the cached bundle was modified/.test(n.item.description!)));
  });

  it('exceptions: in force with expiry, pending, and expired ones drop out after an hour', () => {
    const active = rec({ requestId: 'a', status: 'approved', grant: { grantId: 'g1', expiresAt: NOW + 600_000, installed: true } });
    const pending = rec({ requestId: 'p', requestExpiresAt: NOW + 3_600_000 });
    const old = rec({ requestId: 'o', status: 'denied', updatedAt: NOW - 7_200_000 });
    const nodes = policyNodes({ policy: { source: 'baseline', id: 'builtin:baseline', version: '1.0.0', mode: 'enforce' }, rules, exceptions: [active, pending, old], now: NOW });
    const ex = nodes.find((n) => n.item.id === 'policy.exceptions')!;
    assert.equal(ex.item.description, '1 in force, 1 pending');
    assert.deepEqual(ex.children!.map((c) => c.requestId).sort(), ['a', 'p']);
    assert.match(ex.children!.find((c) => c.requestId === 'a')!.item.description!, /^approved until \d\d:\d\d:\d\d \(in 10 min\)$/);
    assert.equal(ex.children!.find((c) => c.requestId === 'p')!.item.contextValue, 'exception.pending');
  });

  it('time moves approved grants and unreviewed requests to expired', () => {
    const a = rec({ status: 'approved', grant: { grantId: 'g', expiresAt: NOW, installed: true } });
    assert.ok(inForce(a, NOW - 1));
    assert.equal(advance(a, NOW).status, 'expired');
    assert.equal(advance(rec({ requestExpiresAt: NOW }), NOW).status, 'expired');
    assert.equal(advance(rec({}), NOW).status, 'pending');
    assert.match(statusText(rec({ requestExpiresAt: NOW + 60_000 }), NOW), /pending review \(request expires in 1 min\)/);
  });
});
