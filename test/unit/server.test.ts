/**
 * Server building blocks without a network: database URLs and placeholders, durations, batch parsing
 * (what is poison and why), the OTLP payload shape, the policy's exception settings, and the CLI verbs'
 * --help.
 */
import * as assert from 'node:assert/strict';
import { GENESIS_PREV, lineHash, sequenceLine } from '../../src/core/audit/chain';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/types';
import { parseDbUrl, pgPlaceholders } from '../../src/server/db';
import { rulesOf } from '../../src/server/exceptions';
import { parseBatch } from '../../src/server/ingest';
import { otlpPayload, SEVERITY } from '../../src/server/otlp';
import { HttpError, parseDurationMs, tokenHash, newToken } from '../../src/server/util';

const LIMITS = { maxEventBytes: 4096, maxBatchEvents: 100 };

function chain(bodies: object[], start = 1): string[] {
  let prev = GENESIS_PREV;
  return bodies.map((b, i) => {
    const line = sequenceLine(JSON.stringify(b), start + i, prev);
    prev = lineHash(line);
    return line;
  });
}

const ev = (i: number, device = 'device-0001', extra: Record<string, unknown> = {}) => ({
  specversion: '1.0', id: `01J0000000000000000000000${i}`.slice(-26), source: `urn:agentwarden:device:${device}`, type: 'dev.agentwarden.decision.v1',
  time: '2026-07-01T00:00:00.000Z', datacontenttype: 'application/json', dataschema: 'x',
  data: { decision: { effect: 'deny', verdict: 'deny', ruleIds: ['a.b'] }, actor: { user: 'u', deviceId: device, host: 'h' }, agent: { sessionId: 's' }, tool: { name: 'Bash' } },
  ...extra,
});

describe('server building blocks', () => {
  it('database URLs', () => {
    assert.deepEqual(parseDbUrl('sqlite:/tmp/x.db'), { dialect: 'sqlite', target: '/tmp/x.db' });
    assert.deepEqual(parseDbUrl('sqlite::memory:'), { dialect: 'sqlite', target: ':memory:' });
    assert.deepEqual(parseDbUrl('./w.db'), { dialect: 'sqlite', target: './w.db' });
    assert.equal(parseDbUrl('postgres://u:p@h/db').dialect, 'postgres');
    assert.equal(parseDbUrl('postgresql://h/db').dialect, 'postgres');
    assert.throws(() => parseDbUrl('mysql://u:secret@h/db'), (e: Error) => /unsupported/.test(e.message) && !e.message.includes('secret'));
    assert.equal(pgPlaceholders('SELECT ? WHERE a = ? AND b IN (?, ?)'), 'SELECT $1 WHERE a = $2 AND b IN ($3, $4)');
  });

  it('durations and tokens', () => {
    assert.equal(parseDurationMs('15m'), 900_000);
    assert.equal(parseDurationMs('PT1H30M'), 5_400_000);
    assert.equal(parseDurationMs('P1D'), 86_400_000);
    assert.equal(parseDurationMs(5000), 5000);
    for (const bad of ['', 'P', 'PT', '1x', '-1h', 0, 1.5, null]) assert.equal(parseDurationMs(bad), undefined, String(bad));
    const t = newToken('device');
    assert.match(t, /^awd_[A-Za-z0-9_-]{43}$/);
    assert.match(tokenHash(t), /^[0-9a-f]{64}$/);
    assert.notEqual(newToken('device'), t);
  });

  it('batch parsing: a chain of this device parses; foreign, malformed and oversized events are named', () => {
    const ls = chain([ev(1), ev(2), ev(3)]);
    const parsed = parseBatch(Buffer.from(ls.join('\n') + '\n'), 'device-0001', LIMITS);
    assert.deepEqual(parsed.map((p) => [p.seq, p.effect, p.user, p.session, p.tool, p.ruleIds]), [1, 2, 3].map((s) => [s, 'deny', 'u', 's', 'Bash', ['a.b']]));
    assert.equal(parsed[2]!.hash, lineHash(ls[2]!));
    const named = (body: string, code: string, index: number) => {
      try {
        parseBatch(Buffer.from(body), 'device-0001', LIMITS);
        assert.fail('accepted');
      } catch (e) {
        assert.ok(e instanceof HttpError);
        assert.equal(e.extra.code, code, e.message);
        assert.equal(e.extra.index, index);
      }
    };
    named(chain([ev(1), ev(2, 'device-0002')]).join('\n'), 'foreign-device', 1);
    named(chain([ev(1, 'device-0001', { data: { actor: { deviceId: 'device-0009' } } })]).join('\n'), 'foreign-device', 0);
    named(chain([ev(1), ev(2, 'device-0001', { time: 'yesterday' })]).join('\n'), 'malformed', 1);
    named(chain([ev(1, 'device-0001', { id: 'bad id!' })]).join('\n'), 'malformed', 0);
    named('{"seq":1,"prev":"sha256:' + '0'.repeat(64) + '",', 'malformed', 0);
    named(chain([ev(1, 'device-0001', { pad: 'x'.repeat(5000) })]).join('\n'), 'event-too-large', 0);
    assert.throws(() => parseBatch(Buffer.from([chain([ev(1)])[0], chain([ev(3)], 3)[0]].join('\n')), 'device-0001', LIMITS), /contiguous/);
  });

  it('OTLP payload: one resource per device, integer severities, nanosecond strings', () => {
    const p = otlpPayload(
      [
        { id: 1, device_id: 'd1', seq: 1, body: JSON.stringify(ev(1, 'd1')), time: 1_700_000_000_123, received_at: 1_700_000_001_000 },
        { id: 2, device_id: 'd2', seq: 1, body: JSON.stringify({ ...ev(2, 'd2'), data: { decision: { effect: 'allow', verdict: 'allow' } } }), time: null, received_at: 1_700_000_002_000 },
      ],
      '1.0.0',
    ) as { resourceLogs: { scopeLogs: { logRecords: { timeUnixNano: string; severityNumber: number }[] }[] }[] };
    assert.equal(p.resourceLogs.length, 2);
    const [a, b] = p.resourceLogs.map((r) => r.scopeLogs[0]!.logRecords[0]!);
    assert.equal(a!.timeUnixNano, '1700000000123000000');
    assert.equal(a!.severityNumber, SEVERITY.WARN);
    assert.equal(b!.severityNumber, SEVERITY.INFO);
    assert.equal(b!.timeUnixNano, '1700000002000000000', 'received time when the event has none');
  });

  it("the policy's exception settings: allowed, maxDuration (default 8h, capped at 14d)", () => {
    const r = rulesOf({ rules: [{ id: 'a', exception: { allowed: true, maxDuration: '1h' } }, { id: 'b', exception: { allowed: true } }, { id: 'c' }, { id: 'd', exception: { allowed: true, maxDuration: '30d' } }] });
    assert.deepEqual([...r.values()].map((x) => [x.id, x.allowed, x.maxMs]), [['a', true, 3600_000], ['b', true, 8 * 3600_000], ['c', false, 8 * 3600_000], ['d', true, 14 * 86_400_000]]);
  });

  it('every new CLI verb has --help and refuses bad usage with exit code 2', async () => {
    const out: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => out.push(t), stdin: async () => '', cwd: process.cwd(), env: {} };
    for (const verb of ['server', 'forward', 'enroll', 'exception']) {
      out.length = 0;
      assert.equal(await main([verb, '--help'], io), 0);
      assert.match(out.join('\n'), new RegExp(`^Usage: warden ${verb}`));
    }
    assert.equal(await main(['forward', '--once', '--follow'], io), 2);
    assert.equal(await main(['enroll'], io), 2);
    assert.equal(await main(['exception', 'frobnicate'], io), 2);
    assert.equal(await main(['server', 'admin-token', '--principal', 'x'], io), 2);
  });
});
