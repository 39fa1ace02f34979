/**
 * Export of stored audit events to an OpenTelemetry Collector as OTLP/HTTP JSON logs
 * (`POST <collector>/v1/logs`, open-telemetry/opentelemetry-proto docs/specification.md): proto3 JSON with
 * enums as integers (severityNumber), 64-bit integers as decimal strings (timeUnixNano), lowerCamelCase
 * keys. One resourceLogs per device. Delivery is at least once: the export position (`export_state`) moves
 * only after a 200; 429/502/503/504 and network errors are retried with Retry-After or exponential backoff;
 * a 400/413 batch is halved down to the single event the collector refuses, which is then skipped and
 * logged (the OTLP spec forbids retrying those).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Db } from './db';

export interface OtlpConfig {
  /** Collector base URL, e.g. http://127.0.0.1:4318 (the exporter posts to <endpoint>/v1/logs). */
  endpoint: string;
  headers?: Record<string, string>;
  /** Poll interval when caught up (default 2 s). */
  intervalMs?: number;
  /** Events per request (default 500). */
  batchSize?: number;
  timeoutMs?: number;
  maxBackoffMs?: number;
}

export interface OtlpLogger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
}

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean } | { arrayValue: { values: AnyValue[] } };
interface KeyValue {
  key: string;
  value: AnyValue;
}

/** OpenTelemetry SeverityNumber (an enum: sent as an integer). */
export const SEVERITY = { INFO: 9, WARN: 13, ERROR: 17 } as const;

const sv = (v: string): AnyValue => ({ stringValue: v });

function severityOf(e: { type?: string; data?: { decision?: { effect?: string; verdict?: string } } }): { n: number; text: string } {
  const d = e.data?.decision;
  if (d?.effect === 'deny') return { n: SEVERITY.WARN, text: 'WARN' };
  if (d?.effect === 'ask' || (d && d.verdict !== 'allow')) return { n: SEVERITY.WARN, text: 'WARN' };
  return { n: SEVERITY.INFO, text: 'INFO' };
}

export interface ExportRow {
  id: number;
  device_id: string;
  seq: number;
  body: string;
  time: number | null;
  received_at: number;
}

/** The OTLP `ExportLogsServiceRequest` JSON for some stored events. */
export function otlpPayload(rows: ExportRow[], version: string): unknown {
  const byDevice = new Map<string, ExportRow[]>();
  for (const r of rows) {
    const list = byDevice.get(r.device_id) ?? [];
    list.push(r);
    byDevice.set(r.device_id, list);
  }
  return {
    resourceLogs: [...byDevice].map(([deviceId, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: sv('agent-warden') }, { key: 'agentwarden.device.id', value: sv(deviceId) }] as KeyValue[] },
      scopeLogs: [
        {
          scope: { name: 'agent-warden.server', version },
          logRecords: list.map((r) => {
            let e: Record<string, any> = {};
            try {
              e = JSON.parse(r.body) as Record<string, any>;
            } catch {
              e = {};
            }
            const sev = severityOf(e);
            const attrs: KeyValue[] = [
              { key: 'event.name', value: sv(String(e.type ?? '')) },
              { key: 'cloudevents.event_id', value: sv(String(e.id ?? '')) },
              { key: 'cloudevents.event_source', value: sv(String(e.source ?? '')) },
              { key: 'agentwarden.seq', value: { intValue: String(r.seq) } },
            ];
            const d = e.data ?? {};
            if (d.decision?.effect) attrs.push({ key: 'agentwarden.decision.effect', value: sv(String(d.decision.effect)) });
            if (Array.isArray(d.decision?.ruleIds)) attrs.push({ key: 'agentwarden.decision.rule_ids', value: { arrayValue: { values: d.decision.ruleIds.map((x: unknown) => sv(String(x))) } } });
            if (d.decision?.exceptionId) attrs.push({ key: 'agentwarden.exception.id', value: sv(String(d.decision.exceptionId)) });
            if (d.tool?.name) attrs.push({ key: 'agentwarden.tool.name', value: sv(String(d.tool.name)) });
            if (d.actor?.user) attrs.push({ key: 'user.name', value: sv(String(d.actor.user)) });
            if (d.actor?.host) attrs.push({ key: 'host.name', value: sv(String(d.actor.host)) });
            if (d.agent?.sessionId) attrs.push({ key: 'session.id', value: sv(String(d.agent.sessionId)) });
            const t = r.time ?? r.received_at;
            return {
              timeUnixNano: `${BigInt(Math.round(t)) * 1_000_000n}`,
              observedTimeUnixNano: `${BigInt(Math.round(r.received_at)) * 1_000_000n}`,
              severityNumber: sev.n,
              severityText: sev.text,
              body: sv(r.body),
              attributes: attrs,
            };
          }),
        },
      ],
    })),
  };
}

function post(url: URL, body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers }, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (chunks.length < 64) chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.end(body);
  });
}

const RETRYABLE = new Set([429, 502, 503, 504]);

export class OtlpExporter {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly url: URL;
  exported = 0;
  skipped = 0;

  constructor(
    private readonly db: Db,
    private readonly cfg: OtlpConfig,
    private readonly log: OtlpLogger,
    private readonly version: string,
  ) {
    const u = new URL(cfg.endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`OTLP endpoint must be http(s): ${cfg.endpoint}`);
    this.url = new URL(u.pathname.endsWith('/v1/logs') ? u.href : `${u.href.replace(/\/$/, '')}/v1/logs`);
  }

  start(): void {
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  /** Nudge the loop (new events were stored). */
  poke(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = setTimeout(resolve, ms);
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        resolve();
      };
    });
  }

  private async position(): Promise<number> {
    const r = await this.db.get<{ last_row: number }>("SELECT last_row FROM export_state WHERE name = 'otlp'");
    return r ? Number(r.last_row) : 0;
  }

  private async advance(to: number): Promise<void> {
    const now = Date.now();
    await this.db.run("INSERT INTO export_state (name, last_row, updated_at) VALUES ('otlp', ?, ?) ON CONFLICT (name) DO UPDATE SET last_row = excluded.last_row, updated_at = excluded.updated_at", [to, now]);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let size = this.cfg.batchSize ?? 500;
    while (!this.stopped) {
      let delay = this.cfg.intervalMs ?? 2000;
      try {
        const from = await this.position();
        const rows = await this.db.all<ExportRow>('SELECT id, device_id, seq, body, time, received_at FROM audit_events WHERE id > ? AND event_id IS NOT NULL ORDER BY id LIMIT ?', [from, size]);
        if (rows.length) {
          const body = Buffer.from(JSON.stringify(otlpPayload(rows, this.version)));
          const r = await post(this.url, body, this.cfg.headers ?? {}, this.cfg.timeoutMs ?? 10_000);
          if (r.status === 200) {
            failures = 0;
            await this.advance(rows[rows.length - 1]!.id);
            this.exported += rows.length;
            size = this.cfg.batchSize ?? 500;
            if (/rejectedLogRecords"\s*:\s*"?[1-9]/.test(r.body)) this.log.warn({ body: r.body }, 'OTLP collector rejected some log records (partial success; not retried)');
            delay = 0;
          } else if (RETRYABLE.has(r.status)) {
            failures++;
            const ra = Number(r.headers['retry-after']);
            delay = Number.isFinite(ra) && ra >= 0 ? Math.min(ra * 1000, 3_600_000) : Math.min(this.cfg.maxBackoffMs ?? 60_000, 1000 * 2 ** Math.min(failures, 16)) * (0.5 + Math.random() / 2);
            this.log.warn({ status: r.status, delayMs: Math.round(delay) }, 'OTLP export: collector busy, retrying');
          } else if (r.status === 400 || r.status === 413) {
            if (rows.length > 1) {
              size = Math.max(1, Math.floor(rows.length / 2));
              delay = 0;
            } else {
              this.skipped++;
              this.log.error({ status: r.status, row: rows[0]!.id, body: r.body }, 'OTLP export: the collector refuses this event; skipped');
              await this.advance(rows[0]!.id);
              delay = 0;
            }
          } else {
            failures++;
            delay = Math.min(this.cfg.maxBackoffMs ?? 60_000, 1000 * 2 ** Math.min(failures, 16));
            this.log.error({ status: r.status, body: r.body }, 'OTLP export failed');
          }
        }
      } catch (e) {
        failures++;
        delay = Math.min(this.cfg.maxBackoffMs ?? 60_000, 1000 * 2 ** Math.min(failures, 16)) * (0.5 + Math.random() / 2);
        this.log.warn({ err: (e as Error).message, delayMs: Math.round(delay) }, 'OTLP export: cannot reach the collector, retrying');
      }
      if (this.stopped) break;
      if (delay > 0) await this.sleep(delay);
    }
  }
}
