/**
 * The audit forwarder: ships the local spool (runtime/audit/spool.ts) to the central server, at least once,
 * in order, one request in flight, and moves the spool's cursor only after the server acknowledged.
 *
 * Batches: the events after the acknowledged cursor, ≤ 500 events and ≤ 1 MiB of raw lines, sent as gzip
 * NDJSON (`POST /v1/audit/events`, bearer device token, `Idempotency-Key: <device>:<firstSeq>-<lastSeq>`).
 * The server deduplicates on (device, seq) and event id, so a batch re-sent after a lost reply, a killed
 * forwarder or a restarted server is stored once; it answers `{ackSeq, ackHash, duplicates, receipt?}` and
 * the cursor moves to ackSeq (ackUpTo refuses a hash that differs from the local line).
 *
 * Failures:
 *   network error, 408, 429, 5xx  retry the same batch: Retry-After (clamped 1 s–1 h) or exponential backoff
 *                                 (1 s · 2^n, full jitter, cap 5 min); never given up on elapsed time
 *   413                           halve the batch; a single event over the server's cap is poison
 *   400/422                       bisect the batch to isolate the event the server refuses; a single refused
 *                                 event named by the server is dead-lettered locally (audit/deadletter/) and
 *                                 skipped on the server (`POST /v1/audit/skip`: recorded there as an alert)
 *   409 gap                       the server expects an earlier seq: re-send from it, or, when those lines
 *                                 are missing locally, declare them missing (`/v1/audit/skip`, an alert)
 *   409 fork / ack mismatch       the server holds another chain for this device: stop and report
 *   401/403                       stop and report (re-enrol); the spool keeps growing, nothing is lost
 *
 * `<stateDir>/audit/forward-status.json` tells the extension and `warden forward` what happened last.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parseEnvelope, parseJsonBytes, PAYLOAD_TYPES } from '../core/bundle/envelope';
import { leanTrustParser, verifyWithTrust } from '../core/bundle/trust';
import { readDeviceId } from './audit/device';
import { FileLock } from './audit/lock';
import { ackUpTo, AuditError, auditDir, readAudit, readCursor, spoolStatus, type AuditRecord } from './audit/spool';
import { activePolicy } from './bundleActive';
import { resolveManagedDir, writeFileAtomic } from './bundleStore';
import { readEnrollment } from './enroll';
import { endpoint, replyJson, request, TransportError, type Reply } from './forwardHttp';
import { guardHooksIn } from './install/guardHooks';
import { settingsPath } from './install/paths';
import { parseRetryAfter } from './syncHttp';
import { loadTrustChain } from './trustStore';

export const FORWARD_DEFAULTS = {
  maxEvents: 500,
  maxBytes: 1024 * 1024,
  backoffBaseMs: 1000,
  backoffCapMs: 300_000,
  retryAfterMinMs: 1000,
  retryAfterMaxMs: 3_600_000,
  requestTimeoutMs: 60_000,
  pollMs: 1000,
  heartbeatMs: 300_000,
};

export type ForwardLimits = typeof FORWARD_DEFAULTS;

export type ForwardReport =
  | { kind: 'sent'; firstSeq: number; lastSeq: number; ackSeq: number; duplicates: number }
  | { kind: 'retry'; firstSeq: number; lastSeq: number; status: number | null; error: string; delayMs: number; attempt: number }
  | { kind: 'shrink'; maxEvents: number }
  | { kind: 'bisect'; lo: number; hi: number }
  | { kind: 'deadletter'; seq: number; reason: string; file: string }
  | { kind: 'skip'; fromSeq: number; toSeq: number; reason: 'rejected' | 'missing' }
  | { kind: 'resend'; fromSeq: number }
  | { kind: 'receipt'; seq: number; valid: boolean; detail?: string }
  | { kind: 'stopped'; reason: DrainState; message: string };

export type DrainState = 'caught-up' | 'unauthorized' | 'fork' | 'rejected' | 'error' | 'stopped' | 'busy' | 'not-enrolled';

export interface DrainResult {
  state: DrainState;
  /** Events acknowledged by the server in this drain (duplicates included). */
  acked: number;
  batches: number;
  duplicates: number;
  deadLettered: number[];
  ackedSeq: number;
  lastSeq: number;
  message?: string;
}

export interface ForwarderOptions {
  stateDir: string;
  /** Default: enrollment.json. */
  server?: string;
  token?: string;
  limits?: Partial<ForwardLimits>;
  /** Retention of acknowledged segments before deletion (spool default: 7 days). */
  retainMs?: number;
  /** A drain gives up (state `error`) after this many consecutive failed attempts. Default: never. */
  maxAttempts?: number;
  /** Managed directory for the trust root that verifies receipts. Default: the platform's. */
  managedDir?: string | null;
  random?: () => number;
  onReport?: (r: ForwardReport) => void;
}

export interface ForwardStatus {
  schema: 1;
  state: DrainState | 'sending' | 'waiting';
  at: string;
  ackedSeq: number;
  lastSeq: number;
  backlog: number;
  lastSuccess?: string;
  lastError?: { at: string; status: number | null; message: string };
  nextAttemptAt?: string;
  deadLettered: number[];
}

export const forwardStatusPath = (stateDir: string): string => path.join(auditDir(stateDir), 'forward-status.json');
export const deadLetterDir = (stateDir: string): string => path.join(auditDir(stateDir), 'deadletter');
const receiptsPath = (stateDir: string): string => path.join(auditDir(stateDir), 'receipts.ndjson');

export function readForwardStatus(stateDir: string): ForwardStatus | null {
  try {
    return JSON.parse(fs.readFileSync(forwardStatusPath(stateDir), 'utf8')) as ForwardStatus;
  } catch {
    return null;
  }
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base · 2^(n−1))], at least 100 ms. */
export function forwardBackoff(attempt: number, limits: Pick<ForwardLimits, 'backoffBaseMs' | 'backoffCapMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(limits.backoffCapMs, limits.backoffBaseMs * Math.pow(2, Math.max(0, attempt - 1)));
  return Math.max(100, Math.round(random() * ceiling));
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

interface Batch {
  records: AuditRecord[];
  first: number;
  last: number;
}


export class Forwarder {
  readonly limits: ForwardLimits;
  private stopped = false;
  private abort = new AbortController();
  private wake: (() => void) | undefined;
  private position: { seq: number; segment: string; offset: number } | null = null;
  /** Server-side position learned from skips / 409 when the local cursor cannot express it. */
  private serverAcked = 0;
  private resendFrom: number | null = null;
  private maxEventsNow: number;
  private bisect: { lo: number; hi: number } | null = null;
  private status: ForwardStatus;

  constructor(private readonly opts: ForwarderOptions) {
    this.limits = { ...FORWARD_DEFAULTS, ...opts.limits };
    this.maxEventsNow = this.limits.maxEvents;
    this.status = readForwardStatus(opts.stateDir) ?? { schema: 1, state: 'waiting', at: new Date().toISOString(), ackedSeq: 0, lastSeq: 0, backlog: 0, deadLettered: [] };
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private report(r: ForwardReport): void {
    try {
      this.opts.onReport?.(r);
    } catch {
      /* a reporting callback never stops forwarding */
    }
  }

  private credentials(): { server: string; token: string; deviceId: string } | null {
    const e = readEnrollment(this.opts.stateDir);
    const server = this.opts.server ?? e?.server;
    const token = this.opts.token ?? e?.deviceToken;
    const deviceId = readDeviceId(this.opts.stateDir) ?? e?.deviceId;
    return server && token && deviceId ? { server, token, deviceId } : null;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private writeStatus(patch: Partial<ForwardStatus>): void {
    let ackedSeq = this.status.ackedSeq;
    let lastSeq = this.status.lastSeq;
    try {
      const s = spoolStatus(this.opts.stateDir);
      ackedSeq = s.ackedSeq;
      lastSeq = s.lastSeq;
    } catch {
      /* keep the last known numbers */
    }
    this.status = { ...this.status, ...patch, at: new Date().toISOString(), ackedSeq, lastSeq, backlog: Math.max(0, lastSeq - Math.max(ackedSeq, this.serverAcked)) };
    try {
      writeFileAtomic(forwardStatusPath(this.opts.stateDir), JSON.stringify(this.status, null, 2) + '\n', 0o600);
    } catch {
      /* informational */
    }
  }

  /** The next batch from `from`: contiguous seqs only; `gapTo` when the first local line is past `from`. */
  private readBatch(from: number, limit: number): { batch: Batch | null; gapTo?: number } {
    const pos = this.position && this.position.seq === from ? { position: { segment: this.position.segment, offset: this.position.offset } } : {};
    const r = readAudit(this.opts.stateDir, { fromSeq: from, limit, maxBytes: this.limits.maxBytes, ...pos });
    if (!r.records.length) return { batch: null };
    const first = r.records[0]!.seq;
    if (first > from) return { batch: null, gapTo: first - 1 };
    const records: AuditRecord[] = [];
    for (const rec of r.records) {
      if (rec.seq !== from + records.length) break;
      records.push(rec);
    }
    const last = records[records.length - 1]!;
    this.position = records.length === r.records.length && r.next ? r.next : null;
    return { batch: { records, first, last: last.seq } };
  }

  /**
   * Send everything pending, in order, until caught up or a condition that needs a person (unauthorized,
   * fork, refused request) or `maxAttempts` consecutive failures. Holds the forward lock (one forwarder per
   * state directory across processes).
   */
  async drain(): Promise<DrainResult> {
    const result: DrainResult = { state: 'caught-up', acked: 0, batches: 0, duplicates: 0, deadLettered: [], ackedSeq: 0, lastSeq: 0 };
    const finish = (state: DrainState, message?: string): DrainResult => {
      result.state = state;
      if (message) result.message = message;
      try {
        const s = spoolStatus(this.opts.stateDir);
        result.ackedSeq = Math.max(s.ackedSeq, this.serverAcked);
        result.lastSeq = s.lastSeq;
      } catch {
        /* numbers stay 0 */
      }
      if (state !== 'caught-up' && state !== 'stopped' && state !== 'busy') this.report({ kind: 'stopped', reason: state, message: message ?? state });
      this.writeStatus({ state, ...(state === 'caught-up' ? { lastSuccess: new Date().toISOString() } : {}) });
      return result;
    };
    const creds = this.credentials();
    if (!creds) return finish('not-enrolled', 'this device is not enrolled (no server, device token or device id); run `warden enroll`');
    let lock: FileLock | undefined;
    try {
      fs.mkdirSync(auditDir(this.opts.stateDir), { recursive: true, mode: 0o700 });
      const r = FileLock.tryAcquire(path.join(auditDir(this.opts.stateDir), 'forward.lock'), { staleMs: 6 * 3600_000 });
      if (!r.lock) return finish('busy', `another forwarder is running (pid ${r.holder?.pid ?? '?'})`);
      lock = r.lock;
    } catch (e) {
      return finish('error', `cannot take the forward lock: ${(e as Error).message}`);
    }
    try {
      return await this.drainLocked(creds, result, finish);
    } finally {
      lock.release();
    }
  }

  private async drainLocked(creds: { server: string; token: string; deviceId: string }, result: DrainResult, finish: (s: DrainState, m?: string) => DrainResult): Promise<DrainResult> {
    let attempt = 0;
    const failed = async (batch: Batch, status: number | null, error: string, retryAfter?: number): Promise<boolean> => {
      attempt++;
      const delayMs = retryAfter !== undefined ? Math.min(this.limits.retryAfterMaxMs, Math.max(this.limits.retryAfterMinMs, retryAfter)) : forwardBackoff(attempt, this.limits, this.opts.random);
      this.report({ kind: 'retry', firstSeq: batch.first, lastSeq: batch.last, status, error, delayMs, attempt });
      this.writeStatus({ state: 'waiting', lastError: { at: new Date().toISOString(), status, message: error }, nextAttemptAt: new Date(Date.now() + delayMs).toISOString() });
      if (this.opts.maxAttempts !== undefined && attempt >= this.opts.maxAttempts) return false;
      await this.sleep(delayMs);
      return true;
    };
    for (;;) {
      if (this.stopped) return finish('stopped');
      let cursor;
      try {
        cursor = readCursor(this.opts.stateDir);
      } catch (e) {
        return finish('error', `cannot read the spool cursor: ${(e as Error).message}`);
      }
      const acked = Math.max(cursor?.ackedSeq ?? 0, this.serverAcked);
      const from = this.resendFrom ?? acked + 1;
      let limit = this.maxEventsNow;
      if (this.bisect) {
        if (this.bisect.lo !== from) this.bisect = null;
        else limit = Math.max(1, Math.ceil((this.bisect.hi - this.bisect.lo + 1) / 2));
      }
      let read;
      try {
        read = this.readBatch(from, limit);
      } catch (e) {
        return finish('error', `cannot read the spool: ${(e as Error).message}`);
      }
      if (read.gapTo !== undefined) {
        const ok = await this.skip(creds, from, read.gapTo, 'missing', null, `seq ${from}..${read.gapTo} are missing or unreadable in the local spool`, result, finish);
        if (ok !== true) return ok;
        continue;
      }
      const batch = read.batch;
      if (!batch) {
        if (this.resendFrom !== null) {
          this.resendFrom = null;
          continue;
        }
        return finish('caught-up');
      }
      if (this.bisect && batch.last > this.bisect.hi) {
        // readBatch may return fewer than asked; never more than the suspect range
        batch.records = batch.records.slice(0, this.bisect.hi - batch.first + 1);
        batch.last = batch.first + batch.records.length - 1;
      }
      this.writeStatus({ state: 'sending' });
      let reply: Reply;
      try {
        reply = await this.post(creds, batch);
      } catch (e) {
        if (this.stopped) return finish('stopped');
        if (!(await failed(batch, null, (e as Error).message))) return finish('error', `gave up after ${attempt} attempts: ${(e as Error).message}`);
        continue;
      }
      const body = replyJson<Record<string, unknown>>(reply) ?? {};
      const msg = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : reply.body.toString('utf8').slice(0, 300);
      if (reply.status === 200) {
        attempt = 0;
        result.batches++;
        const ackSeq = body.ackSeq;
        const ackHash = body.ackHash;
        if (!Number.isSafeInteger(ackSeq) || typeof ackHash !== 'string' || (ackSeq as number) < batch.first) {
          return finish('error', `the server acknowledged ${String(ackSeq)} for seq ${batch.first}..${batch.last}: not an acknowledgement of this batch`);
        }
        try {
          ackUpTo(this.opts.stateDir, ackSeq as number, ackHash, this.opts.retainMs !== undefined ? { retainMs: this.opts.retainMs } : {});
        } catch (e) {
          if (e instanceof AuditError && e.code === 'ACK_MISMATCH') return finish('fork', e.message);
          return finish('error', `cannot record the acknowledgement: ${(e as Error).message}`);
        }
        const dups = Number.isSafeInteger(body.duplicates) ? (body.duplicates as number) : 0;
        result.acked += (ackSeq as number) - batch.first + 1;
        result.duplicates += dups;
        if (this.resendFrom !== null) this.resendFrom = (ackSeq as number) + 1 > acked ? null : (ackSeq as number) + 1;
        this.report({ kind: 'sent', firstSeq: batch.first, lastSeq: batch.last, ackSeq: ackSeq as number, duplicates: dups });
        if (body.receipt) this.keepReceipt(body.receipt, ackSeq as number);
        if (this.bisect) {
          this.bisect.lo = (ackSeq as number) + 1;
          if (this.bisect.lo > this.bisect.hi) this.bisect = null;
        } else if (this.maxEventsNow < this.limits.maxEvents) this.maxEventsNow = Math.min(this.limits.maxEvents, this.maxEventsNow * 2);
        this.writeStatus({ state: 'sending', lastSuccess: new Date().toISOString() });
        if (Number.isSafeInteger(body.backoffMs) && (body.backoffMs as number) > 0) await this.sleep(Math.min(body.backoffMs as number, this.limits.retryAfterMaxMs));
        continue;
      }
      const n = batch.records.length;
      if (RETRYABLE.has(reply.status)) {
        const ra = parseRetryAfter(reply.headers['retry-after'], Date.now());
        if (!(await failed(batch, reply.status, `HTTP ${reply.status}: ${msg}`, ra))) return finish('error', `gave up after ${attempt} attempts: HTTP ${reply.status}`);
        continue;
      }
      if (reply.status === 401 || reply.status === 403) return finish('unauthorized', `the server refused the device token (HTTP ${reply.status}: ${msg}); re-enrol with \`warden enroll\``);
      if (reply.status === 413) {
        if (n === 1) {
          const ok = await this.poison(creds, batch.records[0]!, 413, msg, result, finish);
          if (ok !== true) return ok;
          continue;
        }
        this.maxEventsNow = Math.max(1, Math.floor(n / 2));
        if (this.bisect) this.bisect.hi = Math.min(this.bisect.hi, batch.first + this.maxEventsNow - 1);
        this.report({ kind: 'shrink', maxEvents: this.maxEventsNow });
        continue;
      }
      if (reply.status === 400 || reply.status === 422) {
        if (n === 1) {
          const named = body.seq === batch.first || body.index === 0;
          if (!named) return finish('rejected', `the server refused seq ${batch.first} without naming it (HTTP ${reply.status}: ${msg})`);
          const ok = await this.poison(creds, batch.records[0]!, reply.status, msg, result, finish);
          if (ok !== true) return ok;
          continue;
        }
        this.bisect = { lo: batch.first, hi: batch.last };
        this.report({ kind: 'bisect', lo: batch.first, hi: batch.last });
        continue;
      }
      if (reply.status === 409) {
        const expected = body.expectedSeq;
        if (body.error === 'gap' && Number.isSafeInteger(expected) && (expected as number) < batch.first) {
          const e = expected as number;
          const local = readAudit(this.opts.stateDir, { fromSeq: e, limit: 1 }).records[0];
          if (local && local.seq === e) {
            this.resendFrom = e;
            this.serverAcked = 0;
            this.position = null;
            this.report({ kind: 'resend', fromSeq: e });
            continue;
          }
          const to = local ? Math.min(local.seq, batch.first) - 1 : batch.first - 1;
          const ok = await this.skip(creds, e, to, 'missing', null, `seq ${e}..${to} were acknowledged earlier but the server does not have them and they are no longer in the local spool`, result, finish);
          if (ok !== true) return ok;
          continue;
        }
        return finish('fork', `the server holds another chain for this device (HTTP 409 ${String(body.error ?? '')}: ${msg})`);
      }
      return finish('rejected', `unexpected reply HTTP ${reply.status}: ${msg}`);
    }
  }

  private post(creds: { server: string; token: string; deviceId: string }, batch: Batch): Promise<Reply> {
    const raw = Buffer.from(batch.records.map((r) => r.line).join('\n') + '\n');
    const gz = zlib.gzipSync(raw);
    return request('POST', endpoint(creds.server, 'v1/audit/events'), {
      headers: {
        authorization: `Bearer ${creds.token}`,
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
        'idempotency-key': `${creds.deviceId}:${batch.first}-${batch.last}`,
        accept: 'application/json',
      },
      body: gz,
      timeoutMs: this.limits.requestTimeoutMs,
      maxBytes: 1024 * 1024,
      signal: this.abort.signal,
    });
  }

  /** Dead-letter one event the server refuses, then skip it on the server. */
  private async poison(creds: { server: string; token: string; deviceId: string }, rec: AuditRecord, status: number, message: string, result: DrainResult, finish: (s: DrainState, m?: string) => DrainResult): Promise<true | DrainResult> {
    const dir = deadLetterDir(this.opts.stateDir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${String(rec.seq).padStart(16, '0')}.json`);
    writeFileAtomic(file, JSON.stringify({ seq: rec.seq, hash: rec.hash, status, reason: message, at: new Date().toISOString(), line: rec.line }, null, 2) + '\n', 0o600);
    this.report({ kind: 'deadletter', seq: rec.seq, reason: message, file });
    result.deadLettered.push(rec.seq);
    this.status.deadLettered = [...new Set([...this.status.deadLettered, rec.seq])].slice(-1000);
    this.bisect = null;
    return this.skip(creds, rec.seq, rec.seq, 'rejected', rec.hash, `HTTP ${status}: ${message}`.slice(0, 1000), result, finish);
  }

  private async skip(creds: { server: string; token: string; deviceId: string }, fromSeq: number, toSeq: number, reason: 'rejected' | 'missing', hash: string | null, detail: string, _result: DrainResult, finish: (s: DrainState, m?: string) => DrainResult): Promise<true | DrainResult> {
    let attempt = 0;
    for (;;) {
      if (this.stopped) return finish('stopped');
      let reply: Reply;
      try {
        reply = await request('POST', endpoint(creds.server, 'v1/audit/skip'), {
          headers: { authorization: `Bearer ${creds.token}`, 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': `${creds.deviceId}:skip:${fromSeq}-${toSeq}` },
          body: JSON.stringify({ fromSeq, toSeq, reason, hash, detail }),
          timeoutMs: this.limits.requestTimeoutMs,
          signal: this.abort.signal,
        });
      } catch (e) {
        if (this.stopped) return finish('stopped');
        attempt++;
        if (this.opts.maxAttempts !== undefined && attempt >= this.opts.maxAttempts) return finish('error', `skip of seq ${fromSeq}..${toSeq} failed: ${(e as Error).message}`);
        await this.sleep(forwardBackoff(attempt, this.limits, this.opts.random));
        continue;
      }
      const body = replyJson<Record<string, unknown>>(reply) ?? {};
      if (reply.status === 200 && Number.isSafeInteger(body.ackSeq)) {
        const ackSeq = body.ackSeq as number;
        this.report({ kind: 'skip', fromSeq, toSeq, reason });
        if (reason === 'rejected' && hash && ackSeq >= toSeq) {
          try {
            ackUpTo(this.opts.stateDir, toSeq, hash, this.opts.retainMs !== undefined ? { retainMs: this.opts.retainMs } : {});
          } catch (e) {
            return finish('error', `cannot record the skip of seq ${toSeq}: ${(e as Error).message}`);
          }
        }
        this.serverAcked = Math.max(this.serverAcked, ackSeq);
        this.resendFrom = null;
        this.position = null;
        return true;
      }
      if (RETRYABLE.has(reply.status)) {
        attempt++;
        if (this.opts.maxAttempts !== undefined && attempt >= this.opts.maxAttempts) return finish('error', `skip of seq ${fromSeq}..${toSeq}: HTTP ${reply.status}`);
        const ra = parseRetryAfter(reply.headers['retry-after'], Date.now());
        await this.sleep(ra !== undefined ? Math.min(this.limits.retryAfterMaxMs, Math.max(this.limits.retryAfterMinMs, ra)) : forwardBackoff(attempt, this.limits, this.opts.random));
        continue;
      }
      if (reply.status === 401 || reply.status === 403) return finish('unauthorized', `the server refused the device token (HTTP ${reply.status})`);
      return finish(reply.status === 409 ? 'fork' : 'rejected', `skip of seq ${fromSeq}..${toSeq} refused: HTTP ${reply.status} ${reply.body.toString('utf8').slice(0, 300)}`);
    }
  }

  private keepReceipt(receipt: unknown, seq: number): void {
    let valid = false;
    let detail: string | undefined;
    try {
      const env = parseEnvelope(Buffer.from(JSON.stringify(receipt)));
      const trust = loadTrustChain(this.opts.stateDir, { managedDir: resolveManagedDir(this.opts.managedDir), parse: leanTrustParser }).current;
      const { payload } = verifyWithTrust(env, PAYLOAD_TYPES.receipt, trust, Date.now());
      const doc = parseJsonBytes(payload) as { seq?: unknown };
      valid = doc.seq === seq;
      if (!valid) detail = `receipt for seq ${String(doc.seq)}`;
    } catch (e) {
      detail = (e as Error).message;
    }
    this.report({ kind: 'receipt', seq, valid, ...(detail ? { detail } : {}) });
    try {
      fs.appendFileSync(receiptsPath(this.opts.stateDir), JSON.stringify({ seq, valid, at: new Date().toISOString(), receipt }) + '\n', { mode: 0o600 });
    } catch {
      /* receipts are evidence, not state */
    }
  }

  /**
   * Forward until stopped: drain, then wait `pollMs` for new events; after a stop condition (unauthorized,
   * fork, refused, busy) wait the backoff cap and try again (a re-enrolment may have fixed it). Sends a
   * heartbeat every `heartbeatMs`.
   */
  async follow(): Promise<void> {
    let lastBeat = 0;
    let fails = 0;
    while (!this.stopped) {
      const r = await this.drain();
      if (this.stopped) break;
      if (Date.now() - lastBeat >= this.limits.heartbeatMs) {
        lastBeat = Date.now();
        await sendHeartbeat(this.opts.stateDir, { ...(this.opts.server ? { server: this.opts.server } : {}), ...(this.opts.token ? { token: this.opts.token } : {}) }).catch(() => undefined);
      }
      if (r.state === 'caught-up') {
        fails = 0;
        await this.sleep(this.limits.pollMs);
      } else {
        fails++;
        await this.sleep(r.state === 'busy' ? this.limits.pollMs * 5 : forwardBackoff(fails + 4, this.limits, this.opts.random));
      }
    }
  }
}

/** One drain with a fresh forwarder (headless `warden forward --once`). */
export async function forwardOnce(opts: ForwarderOptions): Promise<DrainResult> {
  return new Forwarder(opts).drain();
}

/**
 * What this machine enforces, for the heartbeat: the active policy (bundle, or the baseline and why) and
 * whether the guard's PreToolUse hook is in the user or managed Claude Code settings (no probe: the doctor
 * does that). Lets the server's device list show drift: an old bundle, a fallback, hooks removed.
 */
export function enforcementSummary(stateDir: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const a = activePolicy(stateDir, Date.now(), {});
  const policy = a.source === 'bundle' ? { source: 'bundle', bundleId: a.bundle.bundleId, epoch: a.bundle.epoch, version: a.bundle.version, state: a.state } : { source: 'baseline', reason: a.reason };
  const hooks: Record<string, boolean | null> = {};
  for (const scope of ['user', 'managed'] as const) {
    try {
      hooks[scope] = guardHooksIn(JSON.parse(fs.readFileSync(settingsPath(scope, { env }), 'utf8'))).some((h) => h.event === 'PreToolUse');
    } catch (e) {
      hooks[scope] = (e as NodeJS.ErrnoException).code === 'ENOENT' ? false : null; // null: unreadable or invalid
    }
  }
  return { policy, hooks };
}

/** `POST /v1/status`: this device's spool, forwarder, active policy and hooks, for the server's device view. */
export async function sendHeartbeat(stateDir: string, opts: { server?: string; token?: string; extra?: Record<string, unknown> } = {}): Promise<void> {
  const e = readEnrollment(stateDir);
  const server = opts.server ?? e?.server;
  const token = opts.token ?? e?.deviceToken;
  if (!server || !token) throw new Error('not enrolled');
  const s = spoolStatus(stateDir);
  const fwd = readForwardStatus(stateDir);
  const body = {
    id: randomUUID(),
    time: new Date().toISOString(),
    spool: { lastSeq: s.lastSeq, ackedSeq: s.ackedSeq, backlog: s.backlog, bytesUsed: s.bytesUsed, level: s.level },
    forwarder: fwd ? { state: fwd.state, lastSuccess: fwd.lastSuccess ?? null, lastError: fwd.lastError ?? null, deadLettered: fwd.deadLettered.length } : null,
    ...enforcementSummary(stateDir),
    ...opts.extra,
  };
  const r = await request('POST', endpoint(server, 'v1/status'), { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: 15_000 });
  if (r.status !== 200 && r.status !== 204) throw new TransportError(`POST /v1/status: HTTP ${r.status}`, 'bad-response');
}
