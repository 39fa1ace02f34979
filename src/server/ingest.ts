/**
 * Audit batch ingest: exactly once per event, chain checked per device.
 *
 * A batch is NDJSON of stored spool lines (core/audit/chain.ts: `{"seq":…,"prev":"sha256:…",…}`), hashed as
 * raw bytes, so the server recomputes the device's chain without any canonical form:
 *
 *  1. every line is a complete event of THIS device (source `urn:agentwarden:device:<id>` and
 *     data.actor.deviceId, when present, name the token's device): otherwise 422 naming the line
 *     (`foreign-device`, recorded as an alert) — a device can only write its own events;
 *  2. seqs are contiguous and each prev is the sha256 of the line before it;
 *  3. lines at or below the device's acknowledged seq are duplicates (a re-sent batch): they must hash
 *     to what is stored (else a fork: 409 + alert) and are counted, not stored again;
 *  4. the first new line must be acknowledged seq + 1 (else 409 `gap` with expectedSeq) and chain to the
 *     stored last hash (else 409 `fork` + alert);
 *  5. an event id already stored (another seq or device) is kept in the chain but flagged as a duplicate,
 *     so queries and exports still see each event once.
 *
 * Everything for one batch happens in one transaction with the device row locked, so a request retried
 * while the first is still running, a server killed mid-batch or a forwarder killed mid-request all end
 * with each event stored once. A reply is remembered under the request's Idempotency-Key.
 */
import { lineHash, parseLineHead } from '../core/audit/chain';
import { signEnvelope, PAYLOAD_TYPES, type Signer } from '../core/bundle/envelope';
import type { Db, Queryable } from './db';
import { httpError, isObj, sha256Hex } from './util';

export interface IngestLimits {
  maxEventBytes: number;
  maxBatchEvents: number;
}

export interface ParsedLine {
  raw: Buffer;
  seq: number;
  prev: string;
  hash: string;
  id: string;
  time: number | null;
  type: string;
  effect: string | null;
  tool: string | null;
  user: string | null;
  session: string | null;
  ruleIds: string[];
  bundleVersion: string | null;
}

export interface IngestReply {
  ackSeq: number;
  ackHash: string;
  duplicates: number;
  accepted: number;
  receipt?: unknown;
}

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const s = (v: unknown, max = 512): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

/** Split and validate a batch (no database access). Throws HttpError naming the offending line. */
export function parseBatch(body: Buffer, deviceId: string, limits: IngestLimits, onForeign?: (index: number, seq: number | null, source: string) => void): ParsedLine[] {
  const out: ParsedLine[] = [];
  const source = `urn:agentwarden:device:${deviceId}`;
  let pos = 0;
  let index = 0;
  while (pos < body.length) {
    let nl = body.indexOf(0x0a, pos);
    if (nl < 0) nl = body.length;
    const raw = body.subarray(pos, nl);
    pos = nl + 1;
    if (raw.length === 0) {
      if (pos >= body.length) break;
      throw httpError(422, 'event-rejected', `line ${index} is empty`, { code: 'malformed', index });
    }
    if (out.length >= limits.maxBatchEvents) throw httpError(413, 'too-large', `more than ${limits.maxBatchEvents} events in one batch`);
    const bad = (code: string, message: string, seq: number | null = null): never => {
      throw httpError(422, 'event-rejected', `line ${index}${seq !== null ? ` (seq ${seq})` : ''}: ${message}`, { code, index, ...(seq !== null ? { seq } : {}) });
    };
    if (raw.length > limits.maxEventBytes) bad('event-too-large', `event is ${raw.length} bytes, the limit is ${limits.maxEventBytes}`, parseLineHead(raw)?.seq ?? null);
    const head = parseLineHead(raw);
    if (!head) bad('malformed', 'does not start with {"seq":…,"prev":"sha256:…"}');
    const seq = head!.seq;
    let o: Record<string, unknown>;
    try {
      const text = raw.toString('utf8');
      if (Buffer.byteLength(text) !== raw.length) bad('malformed', 'not valid UTF-8', seq);
      o = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof Error && e.name === 'HttpError') throw e;
      return bad('malformed', `not valid JSON (${(e as Error).message})`, seq);
    }
    if (!isObj(o) || o.seq !== seq || o.prev !== head!.prev || o.specversion !== '1.0' || typeof o.type !== 'string' || !isObj(o.data)) {
      bad('malformed', 'not a complete audit event (seq, prev, specversion, id, type, data)', seq);
    }
    if (typeof o.id !== 'string' || !ID_RE.test(o.id)) bad('malformed', 'id must be 1-128 of [A-Za-z0-9_-]', seq);
    const time = typeof o.time === 'string' ? Date.parse(o.time) : NaN;
    if (!Number.isFinite(time)) bad('malformed', `time is not an RFC 3339 time: ${JSON.stringify(o.time)}`, seq);
    const data = o.data as Record<string, unknown>;
    const actor = isObj(data.actor) ? data.actor : undefined;
    if (o.source !== source || (actor && actor.deviceId !== undefined && actor.deviceId !== deviceId)) {
      onForeign?.(index, seq, String(o.source));
      bad('foreign-device', `the event belongs to ${JSON.stringify(o.source)}${actor && actor.deviceId !== deviceId ? ` (actor device ${JSON.stringify(actor.deviceId)})` : ''}, not to ${source}: a device can only send its own events`, seq);
    }
    const decision = isObj(data.decision) ? data.decision : undefined;
    const tool = isObj(data.tool) ? data.tool : undefined;
    const agent = isObj(data.agent) ? data.agent : undefined;
    const policy = isObj(data.policy) ? data.policy : undefined;
    out.push({
      raw,
      seq,
      prev: head!.prev,
      hash: lineHash(raw),
      id: o.id as string,
      time,
      type: (o.type as string).slice(0, 200),
      effect: decision ? s(decision.effect, 16) : null,
      tool: s(tool?.name, 256) ?? (typeof o.subject === 'string' ? o.subject.slice(0, 256) : null),
      user: s(actor?.user, 256),
      session: s(agent?.sessionId, 256),
      ruleIds: decision && Array.isArray(decision.ruleIds) ? (decision.ruleIds as unknown[]).filter((r): r is string => typeof r === 'string').slice(0, 64) : [],
      bundleVersion: policy ? s(policy.version, 64) : null,
    });
    index++;
  }
  if (!out.length) throw httpError(400, 'empty-batch', 'the batch holds no events');
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.seq !== out[0]!.seq + i) throw httpError(400, 'not-contiguous', `line ${i} has seq ${out[i]!.seq}, expected ${out[0]!.seq + i}: a batch must be contiguous`, { index: i });
  }
  return out;
}

export interface IngestContext {
  db: Db;
  deviceId: string;
  tenant: string;
  now: number;
  idempotencyKey?: string;
  bodySha256: string;
  receiptKey?: Signer;
  alert: (q: Queryable, kind: string, detail: string, seq?: number | null, expectedSeq?: number | null) => Promise<void>;
}

/** Store a validated batch. Returns the reply (also remembered under the Idempotency-Key). */
export async function storeBatch(lines: ParsedLine[], ctx: IngestContext): Promise<IngestReply> {
  // Alerts raised while refusing a batch are written after the rollback (the refusal undoes the transaction).
  const pending: [string, string, number | null, number | null][] = [];
  try {
    return await storeLocked(lines, { ...ctx, alert: async (_q, kind, detail, seq, expected) => void pending.push([kind, detail, seq ?? null, expected ?? null]) });
  } finally {
    for (const [kind, detail, seq, expected] of pending) await ctx.alert(ctx.db, kind, detail, seq, expected).catch(() => undefined);
  }
}

async function storeLocked(lines: ParsedLine[], ctx: IngestContext): Promise<IngestReply> {
  const { db, deviceId } = ctx;
  return db.tx(async (q) => {
    const dev = await q.get<{ acked_seq: number; last_hash: string | null; revoked_at: number | null }>(`SELECT acked_seq, last_hash, revoked_at FROM devices WHERE id = ?${db.forUpdate}`, [deviceId]);
    if (!dev || dev.revoked_at !== null) throw httpError(401, 'unauthorized', 'device unknown or revoked');
    if (ctx.idempotencyKey) {
      const prior = await q.get<{ request_sha256: string; response: string }>('SELECT request_sha256, response FROM idempotency WHERE device_id = ? AND idem_key = ?', [deviceId, ctx.idempotencyKey]);
      if (prior) {
        if (prior.request_sha256 !== ctx.bodySha256) throw httpError(422, 'idempotency-key-reused', `Idempotency-Key ${ctx.idempotencyKey} was used for a different batch`);
        return JSON.parse(prior.response) as IngestReply;
      }
    }
    const acked = Number(dev.acked_seq);
    const first = lines[0]!;
    const last = lines[lines.length - 1]!;
    // 3. duplicates of stored lines must be the same bytes
    const dups = lines.filter((l) => l.seq <= acked);
    if (dups.length) {
      const stored = await q.all<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_events WHERE device_id = ? AND seq >= ? AND seq <= ?', [deviceId, dups[0]!.seq, dups[dups.length - 1]!.seq]);
      const bySeq = new Map(stored.map((r) => [Number(r.seq), r.hash]));
      for (const l of dups) {
        const h = bySeq.get(l.seq);
        if (h !== undefined && h !== l.hash) {
          await ctx.alert(q, 'fork', `seq ${l.seq} was stored with ${h.slice(0, 23)}… and is now sent as ${l.hash.slice(0, 23)}…: the device's chain was rewritten`, l.seq, acked + 1);
          throw httpError(409, 'fork', `seq ${l.seq} differs from the stored event with that seq`, { seq: l.seq, expectedSeq: acked + 1, storedHash: h });
        }
      }
    }
    const fresh = lines.filter((l) => l.seq > acked);
    let reply: IngestReply;
    if (!fresh.length) {
      reply = { ackSeq: last.seq, ackHash: last.hash, duplicates: dups.length, accepted: 0 };
    } else {
      const f = fresh[0]!;
      if (f.seq !== acked + 1) throw httpError(409, 'gap', `expected seq ${acked + 1}, the batch starts at ${first.seq}`, { expectedSeq: acked + 1, expectedPrev: dev.last_hash });
      // 2. the chain inside the batch, and onto what is stored
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        const want = i === 0 ? (l.seq === acked + 1 ? dev.last_hash : null) : lines[i - 1]!.hash;
        if (want !== null && l.prev !== want) {
          await ctx.alert(q, 'fork', `seq ${l.seq} has prev ${l.prev.slice(0, 23)}… but ${i === 0 ? 'the stored chain ends' : `seq ${l.seq - 1} hashes to`} ${want.slice(0, 23)}…: an event was edited, removed or replaced`, l.seq, l.seq);
          throw httpError(409, 'fork', `seq ${l.seq} does not chain to seq ${l.seq - 1}`, { seq: l.seq, expectedSeq: l.seq, expectedPrev: want });
        }
      }
      // 5. event ids seen before
      const ids = fresh.map((l) => l.id);
      const seen = new Set<string>();
      for (let i = 0; i < ids.length; i += 400) {
        const chunk = ids.slice(i, i + 400);
        const rows = await q.all<{ event_id: string }>(`SELECT event_id FROM audit_events WHERE event_id IN (${chunk.map(() => '?').join(',')})`, chunk);
        for (const r of rows) seen.add(r.event_id);
      }
      let duplicates = dups.length;
      const inBatch = new Set<string>();
      const dupIds = new Set<number>();
      for (const l of fresh) {
        if (seen.has(l.id) || inBatch.has(l.id)) dupIds.add(l.seq);
        inBatch.add(l.id);
      }
      duplicates += dupIds.size;
      // Multi-row statements: one round trip per 200 events (PostgreSQL pays per statement).
      for (let i = 0; i < fresh.length; i += 200) {
        const part = fresh.slice(i, i + 200);
        const rows = await q.all<{ id: number; seq: number }>(
          `INSERT INTO audit_events (device_id, seq, event_id, duplicate_of, time, received_at, type, effect, tool, user_name, session_id, bundle_version, prev, hash, body)
           VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} RETURNING id, seq`,
          part.flatMap((l) => {
            const dupId = dupIds.has(l.seq);
            return [deviceId, l.seq, dupId ? null : l.id, dupId ? l.id : null, l.time, ctx.now, l.type, l.effect, l.tool, l.user, l.session, l.bundleVersion, l.prev, l.hash, l.raw.toString('utf8')];
          }),
        );
        const rowOf = new Map(rows.map((r) => [Number(r.seq), Number(r.id)]));
        const pairs: [number, string][] = [];
        for (const l of part) if (!dupIds.has(l.seq)) for (const r of new Set(l.ruleIds)) pairs.push([rowOf.get(l.seq)!, r]);
        for (let j = 0; j < pairs.length; j += 400) {
          const chunk = pairs.slice(j, j + 400);
          await q.run(`INSERT INTO audit_event_rules (event_row, rule_id) VALUES ${chunk.map(() => '(?, ?)').join(', ')} ON CONFLICT DO NOTHING`, chunk.flat());
        }
      }
      const tip = fresh[fresh.length - 1]!;
      await q.run('UPDATE devices SET acked_seq = ?, last_hash = ?, last_seen = ?, events = events + ? WHERE id = ?', [tip.seq, tip.hash, ctx.now, fresh.length, deviceId]);
      reply = { ackSeq: tip.seq, ackHash: tip.hash, duplicates, accepted: fresh.length };
    }
    if (ctx.receiptKey) reply.receipt = receipt(ctx, reply.ackSeq, reply.ackHash);
    if (ctx.idempotencyKey) {
      await q.run('INSERT INTO idempotency (device_id, idem_key, request_sha256, response, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [deviceId, ctx.idempotencyKey, ctx.bodySha256, JSON.stringify(reply), ctx.now]);
    }
    return reply;
  });
}

/** A signed audit receipt: the server holds this device's chain up to (seq, hash). */
export function receipt(ctx: { tenant: string; deviceId: string; now: number; receiptKey?: Signer }, seq: number, hash: string): unknown {
  const doc = { schema: 1, type: 'audit-receipt', tenant: ctx.tenant, deviceId: ctx.deviceId, seq, hash, time: new Date(ctx.now).toISOString() };
  return signEnvelope(PAYLOAD_TYPES.receipt, Buffer.from(JSON.stringify(doc)), [ctx.receiptKey!]);
}

export interface SkipRequest {
  fromSeq: number;
  toSeq: number;
  reason: 'rejected' | 'missing';
  hash: string | null;
  detail: string;
}

export function parseSkip(v: unknown): SkipRequest {
  if (!isObj(v)) throw httpError(400, 'bad-request', 'body must be a JSON object');
  const { fromSeq, toSeq, reason, hash, detail } = v;
  if (!Number.isSafeInteger(fromSeq) || (fromSeq as number) < 1 || !Number.isSafeInteger(toSeq) || (toSeq as number) < (fromSeq as number)) throw httpError(400, 'bad-request', 'fromSeq and toSeq must be integers with 1 ≤ fromSeq ≤ toSeq');
  if (reason !== 'rejected' && reason !== 'missing') throw httpError(400, 'bad-request', 'reason must be rejected or missing');
  if (reason === 'rejected' && (fromSeq !== toSeq || typeof hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(hash))) throw httpError(400, 'bad-request', 'a rejected event is skipped one at a time, with the sha256 of its line');
  if (hash !== null && hash !== undefined && (typeof hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(hash))) throw httpError(400, 'bad-request', 'hash must be sha256:<64 hex> or null');
  return { fromSeq: fromSeq as number, toSeq: toSeq as number, reason, hash: (hash as string | null | undefined) ?? null, detail: typeof detail === 'string' ? detail.slice(0, 2000) : '' };
}

/**
 * Skip seqs the device cannot deliver: one event the server refused (dead-lettered on the device; its hash
 * becomes the chain tip, so the next event must still chain to it) or a range missing from the device's
 * spool (the next event's prev is then accepted as is). Recorded as an alert either way. Idempotent.
 */
export async function skipSeqs(req: SkipRequest, ctx: IngestContext): Promise<{ ackSeq: number; ackHash: string | null }> {
  const { db, deviceId } = ctx;
  return db.tx(async (q) => {
    const dev = await q.get<{ acked_seq: number; last_hash: string | null }>(`SELECT acked_seq, last_hash FROM devices WHERE id = ?${db.forUpdate}`, [deviceId]);
    if (!dev) throw httpError(401, 'unauthorized', 'device unknown');
    const acked = Number(dev.acked_seq);
    if (req.toSeq <= acked) return { ackSeq: acked, ackHash: dev.last_hash };
    if (req.fromSeq !== acked + 1) throw httpError(409, 'gap', `expected seq ${acked + 1}`, { expectedSeq: acked + 1, expectedPrev: dev.last_hash });
    const tip = req.reason === 'rejected' ? req.hash : null;
    await q.run('INSERT INTO audit_skips (device_id, from_seq, to_seq, reason, hash, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)', [deviceId, req.fromSeq, req.toSeq, req.reason, req.hash, req.detail, ctx.now]);
    await q.run('UPDATE devices SET acked_seq = ?, last_hash = ?, last_seen = ? WHERE id = ?', [req.toSeq, tip, ctx.now, deviceId]);
    const what = req.reason === 'rejected' ? `seq ${req.fromSeq} was refused by the server and dead-lettered on the device` : `seq ${req.fromSeq}..${req.toSeq} are missing from the device's spool`;
    await ctx.alert(q, req.reason === 'rejected' ? 'rejected' : 'gap', `${what}${req.detail ? `: ${req.detail}` : ''}`, req.fromSeq, acked + 1);
    return { ackSeq: req.toSeq, ackHash: tip };
  });
}

export function bodyDigest(body: Buffer): string {
  return sha256Hex(body);
}
