/**
 * OTLP/HTTP JSON log export to a tiny local collector written here (POST /v1/logs on 127.0.0.1): the
 * proto3-JSON shape (enums as integers, 64-bit times as decimal strings), retry on 503/429 with
 * Retry-After, and an event the collector refuses (400) isolated and skipped without losing the others.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SEVERITY } from '../../src/server/otlp';
import { Forwarder } from '../../src/runtime/forward';
import { appendEvents, enrolledDevice, forEachDb, publish, startServer, tmpDir } from './support';

interface Collector {
  url: string;
  requests: { status: number; body: any }[];
  records: any[];
  close(): Promise<void>;
}

async function collector(answer: (n: number, body: any) => { status: number; headers?: Record<string, string> }): Promise<Collector> {
  const c: Collector = { url: '', requests: [], records: [], close: async () => undefined };
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (x: Buffer) => chunks.push(x));
    req.on('end', () => {
      assert.equal(req.url, '/v1/logs');
      assert.equal(req.headers['content-type'], 'application/json');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const a = answer(n++, body);
      c.requests.push({ status: a.status, body });
      if (a.status === 200) for (const rl of body.resourceLogs) for (const sl of rl.scopeLogs) for (const r of sl.logRecords) c.records.push({ ...r, resource: rl.resource });
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.status === 200 ? '{}' : '{"error":"no"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  c.close = () => new Promise<void>((r) => server.close(() => r()));
  return c;
}

async function until(pred: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

forEachDb('OTLP export', (kind) => {
  let dir: string;
  before(() => (dir = tmpDir('aw-srv-otlp-')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exports every stored event as an OTLP log record, retrying 503/429 with Retry-After', async () => {
    const col = await collector((n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : n === 1 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200 }));
    const t = await startServer(kind, dir, { otlp: { endpoint: col.url, intervalMs: 100, batchSize: 40 } });
    try {
      await publish(t.url, 1);
      const d = await enrolledDevice(t.url, dir, 'olga');
      appendEvents(d.stateDir, 100);
      assert.equal((await new Forwarder({ stateDir: d.stateDir, managedDir: null }).drain()).state, 'caught-up');
      await until(() => col.records.length >= 100);
      assert.equal(col.requests[0]!.status, 503);
      assert.equal(col.requests[1]!.status, 429);
      const seqs = col.records.map((r) => Number(r.attributes.find((a: any) => a.key === 'agentwarden.seq').value.intValue));
      assert.deepEqual([...new Set(seqs)].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
      const r = col.records[0];
      assert.equal(typeof r.severityNumber, 'number', 'enums are integers');
      assert.ok([SEVERITY.INFO, SEVERITY.WARN].includes(r.severityNumber));
      assert.match(r.timeUnixNano, /^\d{19}$/, '64-bit integers are decimal strings');
      assert.equal(typeof r.body.stringValue, 'string');
      const event = JSON.parse(r.body.stringValue);
      assert.equal(event.source, `urn:agentwarden:device:${d.deviceId}`);
      assert.ok(r.resource.attributes.some((a: any) => a.key === 'agentwarden.device.id' && a.value.stringValue === d.deviceId));
      const denies = col.records.filter((x) => x.attributes.some((a: any) => a.key === 'agentwarden.decision.effect' && a.value.stringValue === 'deny'));
      assert.ok(denies.length > 0 && denies.every((x) => x.severityNumber === SEVERITY.WARN));
      const rules = denies[0].attributes.find((a: any) => a.key === 'agentwarden.decision.rule_ids');
      assert.deepEqual(rules.value.arrayValue.values, [{ stringValue: 'net.curl' }]);
    } finally {
      await t.close();
      await col.close();
    }
  });

  it('a record the collector refuses (400) is isolated by halving and skipped; the others are exported', async () => {
    let poisonSeq = 0;
    const col = await collector((_n, body) => {
      const seqs = body.resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords.map((r: any) => Number(r.attributes.find((a: any) => a.key === 'agentwarden.seq').value.intValue))));
      return seqs.includes(poisonSeq) ? { status: 400 } : { status: 200 };
    });
    const t = await startServer(kind, dir, { otlp: { endpoint: col.url, intervalMs: 100, batchSize: 16 } });
    try {
      await publish(t.url, 1);
      const d = await enrolledDevice(t.url, dir, 'otto');
      appendEvents(d.stateDir, 30);
      poisonSeq = 7;
      await new Forwarder({ stateDir: d.stateDir, managedDir: null }).drain();
      await until(() => col.records.length >= 29 && t.server.exporter!.skipped === 1);
      const seqs = col.records.map((r) => Number(r.attributes.find((a: any) => a.key === 'agentwarden.seq').value.intValue));
      assert.deepEqual([...new Set(seqs)].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1).filter((s) => s !== 7));
    } finally {
      await t.close();
      await col.close();
    }
  });
});
