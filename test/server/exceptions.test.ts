/**
 * Exceptions end to end against a real database (SQLite and PostgreSQL): request validation against the
 * device's signed policy, review rules (approver role, no self-approval, comment required, threshold,
 * request TTL), signed grants fetched by the device and honoured by the evaluator, revocation, cancel.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PAYLOAD_TYPES, parseEnvelope, parseJsonBytes } from '../../src/core/bundle/envelope';
import { leanTrustParser, openAnchor, verifyWithTrust } from '../../src/core/bundle/trust';
import { sha256Hex } from '../../src/core/bundle/envelope';
import { compilePolicy } from '../../src/core/evaluate/compile';
import { evaluate } from '../../src/core/evaluate/evaluate';
import { extractFacts } from '../../src/core/facts/extract';
import type { HookInput } from '../../src/core/types';
import { activeGrants, syncGrants } from '../../src/runtime/grants';
import { syncOnce } from '../../src/runtime/sync';
import { auditEvents, cleanEnv, CLI, hookJson, preToolUse, runHook, runNode } from '../hook/support';
import { ADMIN, adminToken, api, enrolledDevice, EX_POLICY, forEachDb, publish, signer, startServer, tmpDir, trustRoot, type TestServer } from './support';

const REASON = 'release hotfix needs the test suite locally';

function decide(stateDir: string, command: string) {
  const input: HookInput = { session_id: 's', cwd: '/repo', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command } };
  const facts = extractFacts(input, { home: '/home/u', user: 'u', platform: 'linux', workspace: '/repo', vars: {} });
  const policy = compilePolicy(EX_POLICY, { home: '/home/u', workspace: '/repo', stateDir: '/home/u/.agent-warden', claudeDir: '/home/u/.claude', tmpDir: '/tmp', caseInsensitive: false });
  return evaluate(policy, facts, activeGrants(stateDir, Date.now(), { managedDir: null, recordClock: false }).contextFor(input));
}

const request = (prefix = ['npm', 'test'], extra: Record<string, unknown> = {}) => ({ ruleIds: ['npm.test'], tool: 'Bash', matcher: { kind: 'commandPrefix', argv: prefix }, duration: '1h', justification: REASON, ...extra });

forEachDb('exceptions', (kind) => {
  let dir: string;
  let t: TestServer;
  let approver: string;
  let approver2: string;
  before(async () => {
    dir = tmpDir('aw-srv-exc-');
    t = await startServer(kind, dir);
    assert.equal((await publish(t.url, 1)).status, 201);
    approver = await adminToken(t.url, 'bob', ['approver']);
    approver2 = await adminToken(t.url, 'carol', ['approver']);
  });
  after(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('request → approve → the device syncs a signed grant → allowed with the exception reported; revoke → denied again', async () => {
    const alice = await enrolledDevice(t.url, dir, 'alice');
    assert.equal(decide(alice.stateDir, 'npm test').effect, 'deny');
    const r = await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'pending');
    assert.equal(r.body.userId, 'alice');
    const pend = await api(t.url, 'GET', '/v1/exceptions?status=pending', { token: approver });
    assert.ok((pend.body.requests as { id: string }[]).some((x) => x.id === r.body.id));
    const a = await api(t.url, 'POST', `/v1/exceptions/${r.body.id}/approve`, { token: approver, json: { comment: 'ok for the hotfix' } });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.status, 'approved');
    assert.ok(a.body.grantId);

    const g = await api(t.url, 'GET', '/v1/grants', { token: alice.token });
    assert.equal(g.body.grants.length, 1);
    const env = parseEnvelope(Buffer.from(JSON.stringify(g.body.grants[0])));
    const trust = openAnchor(trustRoot(), sha256Hex(trustRoot()), leanTrustParser, null);
    const doc = parseJsonBytes(verifyWithTrust(env, PAYLOAD_TYPES.grant, trust, Date.now()).payload) as Record<string, unknown>;
    assert.deepEqual([doc.userId, doc.deviceId, doc.ruleIds, doc.approvedBy], ['alice', alice.deviceId, ['npm.test'], ['bob']]);
    assert.equal(Date.parse(doc.expiresAt as string) - Date.parse(doc.notBefore as string), 3600_000);

    const s = await syncGrants(alice.stateDir, { managedDir: null });
    assert.equal(s.grants.length, 1);
    const d = decide(alice.stateDir, 'npm test -- --grep x');
    assert.equal(d.effect, 'allow');
    assert.equal(d.exception?.grantId, a.body.grantId);
    assert.equal(d.exception?.original.effect, 'deny');
    assert.equal(decide(alice.stateDir, 'npm test; npm test --force').effect, 'deny');

    // another user's device gets nothing
    const dan = await enrolledDevice(t.url, dir, 'dan');
    assert.equal((await api(t.url, 'GET', '/v1/grants', { token: dan.token })).body.grants.length, 0);
    // and a device cannot see another user's request
    assert.equal((await api(t.url, 'GET', `/v1/exceptions/${r.body.id}`, { token: dan.token })).status, 404);

    const rv = await api(t.url, 'POST', `/v1/exceptions/${r.body.id}/revoke`, { token: approver, json: { comment: 'incident over' } });
    assert.equal(rv.body.status, 'revoked');
    await syncGrants(alice.stateDir, { managedDir: null });
    assert.equal(decide(alice.stateDir, 'npm test').effect, 'deny', 'a revoked grant is gone after the next sync');
  });

  it('through the real hook process: the deny names the input sha256, an exact-call grant for it allows that call only, and the audit record names the grant', async () => {
    const alice = await enrolledDevice(t.url, dir, 'alice-hook');
    const sync = await syncOnce({ stateDir: alice.stateDir, managedDir: null });
    assert.equal(sync.result, 'updated', JSON.stringify(sync));
    const home = tmpDir('aw-hook-home-');
    const env = cleanEnv(home);
    const args = ['--home', alice.stateDir];
    const call = (command: string) => preToolUse('Bash', { command }, { cwd: '/repo' });
    const denied = hookJson(await runHook(call('npm test'), { env, args })).hookSpecificOutput;
    assert.equal(denied.permissionDecision, 'deny');
    assert.match(denied.permissionDecisionReason, /rule npm\.test/);
    const sha = /input sha256 ([0-9a-f]{64})/.exec(denied.permissionDecisionReason)?.[1];
    assert.ok(sha, `the deny names the input sha256: ${denied.permissionDecisionReason}`);
    assert.doesNotMatch(hookJson(await runHook(call('rm -rf /repo'), { env, args })).hookSpecificOutput.permissionDecisionReason, /input sha256/, 'no hint for a rule that may not be excepted');

    const r = await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request(undefined, { matcher: { kind: 'exact', inputSha256: sha } }) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const a = await api(t.url, 'POST', `/v1/exceptions/${r.body.id}/approve`, { token: approver, json: { comment: 'ok, this exact call' } });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    // `warden sync` on a headless device fetches the grant list along with the bundle (spawned without
    // blocking: the server runs in this process).
    const wardenSync = async () => {
      const out = await runNode(CLI, ['sync', '--home', alice.stateDir, '--managed-dir', 'none'], '', { env, timeoutMs: 60_000 });
      assert.equal(out.code, 0, out.stderr + out.stdout);
      return JSON.parse(out.stdout) as { grants?: { held: number } };
    };
    assert.deepEqual((await wardenSync()).grants, { held: 1, rejected: 0 });

    const allowed = hookJson(await runHook(call('npm test'), { env, args })).hookSpecificOutput;
    assert.equal(allowed.permissionDecision, 'allow', JSON.stringify(allowed));
    const events = auditEvents(alice.stateDir).filter((e) => e.data?.decision);
    const last = events.at(-1);
    assert.equal(last.data.decision.effect, 'allow');
    assert.equal(last.data.decision.exceptionId, a.body.grantId);
    assert.equal(hookJson(await runHook(call('npm test -- --grep x'), { env, args })).hookSpecificOutput.permissionDecision, 'deny', 'another input is not covered by an exact grant');
    const rv = await api(t.url, 'POST', `/v1/exceptions/${r.body.id}/revoke`, { token: approver, json: { comment: 'done' } });
    assert.equal(rv.body.status, 'revoked');
    assert.deepEqual((await wardenSync()).grants, { held: 0, rejected: 0 });
    assert.equal(hookJson(await runHook(call('npm test'), { env, args })).hookSpecificOutput.permissionDecision, 'deny', 'revoked at the next sync');
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('requests are checked against the policy: exceptable rule, known rule, duration ≤ maxDuration, a reason, a narrow matcher', async () => {
    const d = await enrolledDevice(t.url, dir, 'erin');
    const post = (body: unknown) => api(t.url, 'POST', '/v1/exceptions', { token: d.token, json: body });
    assert.equal((await post(request(['rm', '-rf', '/repo/build'], { ruleIds: ['destroy.rm'] }))).body.error, 'rule-not-exceptable');
    assert.equal((await post(request(undefined, { ruleIds: ['no.such'] }))).body.error, 'unknown-rule');
    const long = await post(request(undefined, { ruleIds: ['npm.publish'], matcher: { kind: 'commandPrefix', argv: ['npm', 'publish'] }, duration: '2h' }));
    assert.equal(long.body.error, 'duration-too-long');
    assert.equal((await post(request(undefined, { duration: '15d' }))).body.error, 'duration-too-long');
    assert.equal((await post(request(undefined, { justification: 'because' }))).body.error, 'reason-required');
    assert.equal((await post(request(undefined, { matcher: { kind: 'pathGlob', glob: '/repo/../etc/**' } }))).body.error, 'bad-matcher');
    assert.equal((await post(request(undefined, { matcher: { kind: 'commandPrefix', argv: [] } }))).body.error, 'bad-matcher');
    assert.equal((await post({ ...request(), admin: true })).status, 400);
    assert.equal((await api(t.url, 'POST', '/v1/exceptions', { token: ADMIN, json: request() })).status, 401, 'requests come from devices');
  });

  it('reviews: approver role required, no self-approval, a comment required, approver may shorten but not extend', async () => {
    const alice = await enrolledDevice(t.url, dir, 'alice');
    const id = (await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() })).body.id as string;
    const auditor = await adminToken(t.url, 'audrey', ['auditor', 'admin']);
    const self = await adminToken(t.url, 'alice', ['approver']);
    const wrong = await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: auditor, json: { comment: 'fine by me' } });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error, 'approver-role-required');
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: ADMIN, json: { comment: 'fine by me' } })).body.error, 'approver-role-required');
    const selfA = await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: self, json: { comment: 'I trust me' } });
    assert.equal(selfA.status, 403);
    assert.equal(selfA.body.error, 'self-approval');
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: approver, json: {} })).body.error, 'reason-required');
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: approver, json: { comment: 'ok for two hours', duration: '2h' } })).body.error, 'duration-too-long');
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: alice.token, json: { comment: 'approve myself' } })).status, 401, 'a device token cannot approve');
    const ok = await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: approver, json: { comment: 'ok, 30 minutes', duration: '30m' } });
    assert.equal(ok.body.status, 'approved');
    assert.equal(Date.parse(ok.body.grant.expiresAt) - Date.parse(ok.body.grant.notBefore), 30 * 60_000);
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: approver2, json: { comment: 'again' } })).body.error, 'not-pending');
  });

  it('deny needs a comment; the user can cancel their own pending request; nobody else can', async () => {
    const alice = await enrolledDevice(t.url, dir, 'alice');
    const mallory = await enrolledDevice(t.url, dir, 'mallory');
    const id1 = (await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() })).body.id as string;
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id1}/deny`, { token: approver, json: {} })).body.error, 'reason-required');
    const den = await api(t.url, 'POST', `/v1/exceptions/${id1}/deny`, { token: approver, json: { comment: 'use CI' } });
    assert.equal(den.body.status, 'denied');
    const id2 = (await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() })).body.id as string;
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id2}/cancel`, { token: mallory.token, json: {} })).status, 403);
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id2}/cancel`, { token: alice.token, json: {} })).body.status, 'cancelled');
    assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id2}/approve`, { token: approver, json: { comment: 'late' } })).body.error, 'not-pending');
  });

  it('long-poll: GET /v1/exceptions/<id>?wait=N returns when the request is decided', async () => {
    const alice = await enrolledDevice(t.url, dir, 'alice');
    const id = (await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() })).body.id as string;
    const waiting = api(t.url, 'GET', `/v1/exceptions/${id}?wait=20`, { token: alice.token });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: approver, json: { comment: 'go ahead' } });
    const r = await waiting;
    assert.equal(r.body.status, 'approved');
    assert.ok(Date.now() - t0 < 5000);
  });
});

forEachDb('exception review rules that need their own server', (kind) => {
  let dir: string;
  before(() => (dir = tmpDir('aw-srv-exc2-')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an expired request cannot be approved (request TTL)', async () => {
    let now = Date.now();
    const t = await startServer(kind, dir, { clock: () => now, limits: { requestTtlMs: 4 * 3600_000 } });
    try {
      await publish(t.url, 1);
      const alice = await enrolledDevice(t.url, dir, 'alice');
      const bob = await adminToken(t.url, 'bob', ['approver']);
      const id = (await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() })).body.id as string;
      now += 4 * 3600_000 + 1000;
      const r = await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: bob, json: { comment: 'too late?' } });
      assert.equal(r.status, 409);
      assert.equal(r.body.error, 'request-expired');
      assert.equal((await api(t.url, 'GET', `/v1/exceptions/${id}`, { token: alice.token })).body.status, 'expired');
      assert.equal((await api(t.url, 'GET', '/v1/grants', { token: alice.token })).body.grants.length, 0);
    } finally {
      await t.close();
    }
  });

  it('threshold 2: one reviewer twice does not approve; a second approver does', async () => {
    const t = await startServer(kind, dir, { limits: { approvalsRequired: 2 } });
    try {
      await publish(t.url, 1);
      const alice = await enrolledDevice(t.url, dir, 'alice');
      const bob = await adminToken(t.url, 'bob', ['approver']);
      const carol = await adminToken(t.url, 'carol', ['approver']);
      const id = (await api(t.url, 'POST', '/v1/exceptions', { token: alice.token, json: request() })).body.id as string;
      assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: bob, json: { comment: 'one' } })).body.status, 'pending');
      assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: bob, json: { comment: 'one again' } })).body.error, 'already-reviewed');
      const bob2 = await adminToken(t.url, 'bob', ['approver']);
      assert.equal((await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: bob2, json: { comment: 'same person, new token' } })).body.error, 'already-reviewed');
      const done = await api(t.url, 'POST', `/v1/exceptions/${id}/approve`, { token: carol, json: { comment: 'two' } });
      assert.equal(done.body.status, 'approved');
      const g = await api(t.url, 'GET', '/v1/grants', { token: alice.token });
      const doc = parseJsonBytes(Buffer.from(g.body.grants[0].payload, 'base64')) as { approvedBy: string[] };
      assert.deepEqual(doc.approvedBy.sort(), ['bob', 'carol']);
    } finally {
      await t.close();
    }
  });

  it('a server whose exception key is not an exception key of the trust refuses to start', async () => {
    await assert.rejects(startServer(kind, dir, { exceptionKey: signer('policy') }), /not an unrevoked exception key/);
  });
});
