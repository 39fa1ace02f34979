/**
 * Exception grants, data-driven: test/cases/exceptions/*.yaml (the research list: prefix vs chained
 * commands, path vs ../ and symlinks, other user/device/tenant, wrong key role, expired, not yet valid,
 * clock rollback, non-exceptable rule, over-long grant), each run through a real state directory,
 * activeGrants and the evaluator. Plus the pure pieces: canonical hashing, simple-command argv, matcher
 * validation.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalInputSha256, canonicalJson, checkGrantGlob, GrantError, parseMatcher, validateGrantDoc } from '../../src/core/exceptions/grant';
import { simpleArgv } from '../../src/core/exceptions/match';
import { activeGrants } from '../../src/runtime/grants';
import { loadCases, runCase } from '../cases/exceptions/harness';

const CASES = path.resolve(__dirname, '../../../test/cases/exceptions');

describe('exception grants (test/cases/exceptions)', () => {
  let root: string;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-exc-'))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const { file, cases } of loadCases(CASES)) {
    describe(file, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const { decision, active } = await runCase(c, root);
          const where = `${c.name}: ${JSON.stringify({ effect: decision.effect, ruleIds: decision.ruleIds, exception: decision.exception, problem: active.problem, rejected: active.rejected })}`;
          assert.equal(decision.effect, c.expect.effect, where);
          assert.equal(!!decision.exception, c.expect.exception, where);
          if (c.expect.ruleIds) for (const r of c.expect.ruleIds) assert.ok(decision.ruleIds.includes(r), where);
          if (c.expect.rejected !== undefined) assert.equal(active.rejected.length, c.expect.rejected, where);
          if (decision.exception) {
            assert.match(decision.exception.grantId, /^g_case/);
            assert.notEqual(decision.exception.original.effect, 'allow', 'the decision says what it would have been');
            assert.match(decision.reason, /exception/);
            assert.equal(decision.explicit, true);
          }
        });
      }
    });
  }

  it('activeGrants: not enrolled, no list → no grants, and says why', () => {
    const dir = fs.mkdtempSync(path.join(root, 'empty-'));
    const a = activeGrants(dir, Date.now(), { managedDir: null, recordClock: false });
    assert.equal(a.grants.length, 0);
    assert.match(a.problem!, /not enrolled/);
    assert.equal(a.contextFor({ tool_name: 'Bash' }), undefined);
  });

  it('activeGrants records a clock floor at most once a minute', () => {
    const dir = fs.mkdtempSync(path.join(root, 'clock-'));
    const t = Date.now();
    activeGrants(dir, t, { managedDir: null });
    const floor = JSON.parse(fs.readFileSync(path.join(dir, 'grants', 'state.json'), 'utf8')).maxSeenTime;
    assert.equal(floor, new Date(t).toISOString());
    activeGrants(dir, t + 30_000, { managedDir: null });
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'grants', 'state.json'), 'utf8')).maxSeenTime, floor);
    const a = activeGrants(dir, t - 3600_000, { managedDir: null });
    assert.equal(a.now, t, 'a clock set back is raised to the floor');
  });
});

describe('exception grants: pure pieces', () => {
  it('canonical JSON sorts keys and drops whitespace; the hash follows', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
    assert.equal(canonicalInputSha256({ command: 'ls', description: 'd' }), canonicalInputSha256(JSON.parse('{ "description" : "d", "command":"ls" }')));
    assert.notEqual(canonicalInputSha256({ command: 'ls' }), canonicalInputSha256({ command: 'ls ' }));
    assert.throws(() => canonicalJson({ x: Infinity }), GrantError);
  });

  it('simpleArgv accepts one literal simple command only', () => {
    assert.deepEqual(simpleArgv('npm test'), ['npm', 'test']);
    assert.deepEqual(simpleArgv(`git commit -m 'a b' "c"`), ['git', 'commit', '-m', 'a b', 'c']);
    for (const bad of ['npm test; ls', 'a && b', 'a || b', 'a | b', 'a &', 'a\nb', '(a)', '{ a; }', 'X=1 a', 'a > f', 'a < f', 'a $(b)', 'a `b`', 'a $X', 'a *.js', 'a {x,y}', '~/bin/a', 'a <<EOF\nx\nEOF', '', 'if a; then b; fi']) {
      assert.equal(simpleArgv(bad), null, JSON.stringify(bad));
    }
  });

  it('matchers are validated: prefix only for Bash, globs absolute without .. , MCP names full', () => {
    assert.throws(() => parseMatcher({ kind: 'commandPrefix', argv: ['x'] }, 'Write'), /only for the Bash tool/);
    assert.throws(() => parseMatcher({ kind: 'commandPrefix', argv: [] }, 'Bash'), /1-64 words/);
    assert.throws(() => parseMatcher({ kind: 'exact', inputSha256: 'abc' }, 'Bash'), /64 lower-case hex/);
    assert.throws(() => parseMatcher({ kind: 'mcpTool', name: 'mcp__a__b' }, 'mcp__a__c'), /must name the grant's tool/);
    assert.throws(() => parseMatcher({ kind: 'regex', x: 1 }, 'Bash'), /matcher.kind/);
    assert.throws(() => parseMatcher({ kind: 'pathGlob', glob: '/a', extra: 1 }, 'Bash'), /unknown field/);
    for (const bad of ['repo/**', '/repo/../etc/**', '/**', '/', '~/x', '/${HOME}/x', '//x', '/*/x', '/repo/./x']) assert.notEqual(checkGrantGlob(bad), null, bad);
    assert.equal(checkGrantGlob('/repo/infra/**'), null);
  });

  it('grant documents are validated strictly (unknown fields, 14-day cap, times)', () => {
    const good = {
      schema: 1, type: 'exception-grant', grantId: 'g_abcdef', requestId: 'ex_abcdef', tenant: 'acme', userId: 'alice', deviceId: 'dev-00000001',
      ruleIds: ['net.curl'], tool: 'Bash', matcher: { kind: 'commandPrefix', argv: ['curl'] }, scope: {},
      notBefore: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T01:00:00Z', issuedAt: '2026-01-01T00:00:00Z', approvedBy: ['bob'], reason: 'r',
    };
    assert.equal(validateGrantDoc(good).expiresAtMs - validateGrantDoc(good).notBeforeMs, 3600_000);
    assert.throws(() => validateGrantDoc({ ...good, admin: true }), /unknown field/);
    assert.throws(() => validateGrantDoc({ ...good, expiresAt: '2026-01-20T00:00:00Z' }), /14-day/);
    assert.throws(() => validateGrantDoc({ ...good, expiresAt: '2025-01-01T00:00:00Z' }), /after notBefore/);
    assert.throws(() => validateGrantDoc({ ...good, approvedBy: [] }), /approver/);
    assert.throws(() => validateGrantDoc({ ...good, ruleIds: ['Not A Rule'] }), /ruleIds/);
  });
});
