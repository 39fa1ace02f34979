/**
 * The exception-grant harness: builds a real state directory (pinned trust root, enrolment, device id, a
 * grant list of signed envelopes), reads it back with `activeGrants` (signatures, roles, identity, time,
 * clock floor) and decides one call with the evaluator (`evaluate(policy, facts, exceptions)`), on a
 * virtual file system for symlink cases. Case files: test/cases/exceptions/*.yaml, run by
 * test/unit/exceptions.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PAYLOAD_TYPES, signEnvelope } from '../../../src/core/bundle/envelope';
import { compilePolicy } from '../../../src/core/evaluate/compile';
import { evaluate } from '../../../src/core/evaluate/evaluate';
import { canonicalInputSha256, grantDocOf, type GrantDoc } from '../../../src/core/exceptions/grant';
import { extractFacts } from '../../../src/core/facts/extract';
import { virtualFsProbe } from '../../../src/core/policy/virtualFs';
import type { Decision, HookInput } from '../../../src/core/types';
import { loadDeviceId } from '../../../src/runtime/audit/device';
import { writeFileAtomic } from '../../../src/runtime/bundleStore';
import { writeEnrollment } from '../../../src/runtime/enroll';
import { activeGrants, grantsDir, type ActiveGrants } from '../../../src/runtime/grants';
import { pinTrust } from '../../../src/runtime/trustAccept';
import { EX_POLICY, signer, trustRoot } from '../../server/support';

const HOUR = 3_600_000;

/** "+1h", "-30m", "0": relative to the case's base time. */
export function rel(base: number, spec: string | undefined, fallback: string): number {
  const s = spec ?? fallback;
  const m = /^([+-]?)(\d+)(ms|s|m|h|d)?$/.exec(s);
  if (!m) throw new Error(`bad relative time ${s}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: HOUR, d: 24 * HOUR }[m[3] ?? 'ms']!;
  return base + (m[1] === '-' ? -1 : 1) * Number(m[2]) * unit;
}

const Matcher = z.union([
  z.object({ kind: z.literal('exact'), inputSha256: z.string().optional(), input: z.unknown().optional() }).strict(),
  z.object({ kind: z.literal('commandPrefix'), argv: z.array(z.string()) }).strict(),
  z.object({ kind: z.literal('pathGlob'), glob: z.string() }).strict(),
  z.object({ kind: z.literal('mcpTool'), name: z.string() }).strict(),
]);

const GrantSpec = z
  .object({
    ruleIds: z.array(z.string()),
    tool: z.string(),
    matcher: Matcher,
    scope: z.object({ workspace: z.string().optional(), sessionId: z.string().optional() }).strict().optional(),
    notBefore: z.string().optional().describe('relative to the base time, default -1h'),
    expiresAt: z.string().optional().describe('default +1h'),
    userId: z.string().optional(),
    deviceId: z.string().optional(),
    tenant: z.string().optional(),
    signer: z.string().optional().describe('test key name; default exception'),
  })
  .strict();

export const ExceptionCase = z
  .object({
    name: z.string(),
    grants: z.array(GrantSpec),
    tool: z.string(),
    input: z.record(z.string(), z.unknown()),
    session: z.string().optional(),
    fs: z.object({ files: z.array(z.string()).optional(), dirs: z.array(z.string()).optional(), symlinks: z.record(z.string(), z.string()).optional() }).strict().optional(),
    clock: z.string().optional().describe('the evaluation clock, relative to the base time (default 0)'),
    maxSeenTime: z.string().optional().describe('a clock floor recorded earlier, relative to the base time'),
    listExpiresAt: z.string().optional(),
    expect: z
      .object({
        effect: z.enum(['allow', 'deny', 'ask']),
        exception: z.boolean(),
        ruleIds: z.array(z.string()).optional(),
        rejected: z.number().int().optional().describe('grants activeGrants refused or filtered out'),
      })
      .strict(),
  })
  .strict();
export type ExceptionCase = z.infer<typeof ExceptionCase>;

export function loadCases(dir: string): { file: string; cases: ExceptionCase[] }[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ file: f, cases: z.object({ cases: z.array(ExceptionCase).min(1) }).strict().parse(parseYaml(fs.readFileSync(path.join(dir, f), 'utf8'))).cases }));
}

let counter = 0;

export interface CaseOutcome {
  decision: Decision;
  active: ActiveGrants;
}

/** Set up the state directory for a case, read the grants back and decide the call. */
export async function runCase(c: ExceptionCase, root: string): Promise<CaseOutcome> {
  const base = Date.now();
  const stateDir = path.join(root, `case-${++counter}`);
  fs.mkdirSync(stateDir, { recursive: true });
  await pinTrust(stateDir, trustRoot(), { managedDir: null });
  const deviceId = loadDeviceId(stateDir);
  writeEnrollment(stateDir, { schema: 1, server: 'http://127.0.0.1:9', deviceId, userId: 'alice', tenant: 'acme', bundleId: 'acme/default', deviceToken: 'awd_test', enrolledAt: new Date(base).toISOString() });
  const envelopes = c.grants.map((g, i) => {
    const nb = rel(base, g.notBefore, '-1h');
    const m = g.matcher;
    const matcher = m.kind === 'exact' ? { kind: 'exact' as const, inputSha256: m.inputSha256 ?? canonicalInputSha256(m.input) } : m;
    const doc: GrantDoc = grantDocOf({
      schema: 1,
      type: 'exception-grant',
      grantId: `g_case${counter}x${i}`,
      requestId: `ex_case${counter}x${i}`,
      tenant: g.tenant ?? 'acme',
      userId: g.userId ?? 'alice',
      deviceId: g.deviceId ?? deviceId,
      ruleIds: g.ruleIds,
      tool: g.tool,
      matcher,
      scope: g.scope ?? {},
      notBefore: new Date(nb).toISOString(),
      expiresAt: new Date(rel(base, g.expiresAt, '+1h')).toISOString(),
      issuedAt: new Date(nb).toISOString(),
      approvedBy: ['bob'],
      reason: 'release hotfix needs this for an hour',
    });
    return signEnvelope(PAYLOAD_TYPES.grant, Buffer.from(JSON.stringify(doc)), [signer(g.signer ?? 'exception')]);
  });
  const list = { schema: 1, type: 'grant-list', tenant: 'acme', deviceId, userId: 'alice', issuedAt: new Date(base - HOUR).toISOString(), expiresAt: new Date(rel(base, c.listExpiresAt, '+24h')).toISOString(), grants: envelopes };
  writeFileAtomic(path.join(grantsDir(stateDir), 'list.json'), JSON.stringify(list), 0o600);
  if (c.maxSeenTime) writeFileAtomic(path.join(grantsDir(stateDir), 'state.json'), JSON.stringify({ maxSeenTime: new Date(rel(base, c.maxSeenTime, '0')).toISOString() }), 0o600);
  const now = rel(base, c.clock, '0');
  const active = activeGrants(stateDir, now, { managedDir: null, recordClock: false });
  const input: HookInput = { session_id: c.session ?? 'sess-1', cwd: '/repo', hook_event_name: 'PreToolUse', tool_name: c.tool, tool_input: c.input };
  const analysis = { home: '/home/alice', user: 'alice', platform: 'linux' as const, workspace: '/repo', vars: { HOME: '/home/alice' }, ...(c.fs ? { fs: virtualFsProbe(c.fs) } : {}) };
  const facts = extractFacts(input, analysis);
  const policy = compilePolicy(EX_POLICY, { home: '/home/alice', workspace: '/repo', stateDir: '/home/alice/.agent-warden', claudeDir: '/home/alice/.claude', tmpDir: '/tmp', caseInsensitive: false });
  return { decision: evaluate(policy, facts, active.contextFor(input)), active };
}
