/**
 * Exception requests, reviews and grants (research/bundles-audit-server.md §4.2).
 *
 *   pending ──approve×threshold──▶ approved (grant signed) ──▶ revoked | (expires by time)
 *   pending ──deny──▶ denied;  pending ──request TTL──▶ expired;  pending ──cancel──▶ cancelled
 *
 * Rules: a request names rules the device's current policy marks exceptable (`exception.allowed: true`),
 * a narrow matcher, a duration no longer than every named rule's maxDuration (default 8h, hard cap 14d) and a
 * justification. A review needs the `approver` role, is never by the requesting user, and needs a comment;
 * each reviewer counts once. The grant is a DSSE envelope signed with the server's `exception` key: it
 * names the user, the device, the rules, the tool and the matcher, and is valid from notBefore to expiresAt.
 */
import { PAYLOAD_TYPES, signEnvelope, type Signer } from '../core/bundle/envelope';
import { GrantError, grantDocOf, MAX_GRANT_MS, parseMatcher, parseScope, type GrantDoc, type GrantMatcher, type GrantScope } from '../core/exceptions/grant';
import { DEFAULT_EXCEPTION_MS, durationMs } from '../core/policy/duration';
import type { Db, Queryable } from './db';
import { httpError, isObj, newId, parseDurationMs, parseTime, str } from './util';

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'revoked' | 'cancelled';

/** A request as the API shows it: what was asked (NewRequest), by whom, and how it was decided. */
export interface ExceptionRequestView extends NewRequest {
  id: string;
  status: RequestStatus;
  tenant: string;
  userId: string;
  deviceId: string;
  createdAt: string;
  requestExpiresAt: string;
  decidedAt: string | null;
  grantId: string | null;
  reviews: { reviewer: string; verdict: string; comment: string; at: string }[];
  grant?: { id: string; notBefore: string; expiresAt: string; revokedAt: string | null };
}

interface RequestRow {
  id: string;
  tenant: string;
  user_id: string;
  device_id: string;
  rule_ids: string;
  tool: string;
  matcher: string;
  scope: string;
  duration_ms: number;
  justification: string;
  ticket: string | null;
  source_event_id: string | null;
  status: RequestStatus;
  created_at: number;
  request_expires_at: number;
  decided_at: number | null;
  grant_id: string | null;
}

/** Who asked and what for: the part of a request its grant carries unchanged. */
function whatAndWho(r: RequestRow): { userId: string; deviceId: string; ruleIds: string[]; tool: string; matcher: GrantMatcher; scope: GrantScope } {
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    ruleIds: JSON.parse(r.rule_ids) as string[],
    tool: r.tool,
    matcher: JSON.parse(r.matcher) as GrantMatcher,
    scope: JSON.parse(r.scope) as GrantScope,
  };
}

export interface ExceptionConfig {
  requestTtlMs: number;
  approvalsRequired: number;
  minJustification: number;
  exceptionKey?: Signer;
}

export interface RuleInfo {
  id: string;
  allowed: boolean;
  maxMs: number;
}

const iso = (ms: number | null): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/** The exception settings of the rules in a policy document (a verified bundle's payload). */
export function rulesOf(policy: unknown): Map<string, RuleInfo> {
  const out = new Map<string, RuleInfo>();
  const rules = isObj(policy) && Array.isArray(policy.rules) ? policy.rules : [];
  for (const r of rules) {
    if (!isObj(r) || typeof r.id !== 'string') continue;
    const ex = isObj(r.exception) ? r.exception : undefined;
    let maxMs = DEFAULT_EXCEPTION_MS;
    if (ex && typeof ex.maxDuration === 'string') {
      try {
        maxMs = durationMs(ex.maxDuration);
      } catch {
        maxMs = DEFAULT_EXCEPTION_MS;
      }
    }
    out.set(r.id, { id: r.id, allowed: ex?.allowed === true, maxMs: Math.min(maxMs, MAX_GRANT_MS) });
  }
  return out;
}

export interface NewRequest {
  ruleIds: string[];
  tool: string;
  matcher: GrantMatcher;
  scope: GrantScope;
  durationMs: number;
  justification: string;
  ticket: string | null;
  sourceEventId: string | null;
}

/** Validate a request body against the device's policy rules. Throws HttpError. */
export function parseRequest(body: unknown, rules: Map<string, RuleInfo>, cfg: ExceptionConfig): NewRequest {
  if (!isObj(body)) throw httpError(400, 'bad-request', 'body must be a JSON object');
  for (const k of Object.keys(body)) {
    if (!['ruleIds', 'tool', 'matcher', 'scope', 'duration', 'justification', 'ticket', 'sourceEventId'].includes(k)) throw httpError(400, 'bad-request', `unknown field ${JSON.stringify(k)}`);
  }
  const ruleIds = body.ruleIds;
  if (!Array.isArray(ruleIds) || !ruleIds.length || ruleIds.length > 32 || !ruleIds.every((r) => typeof r === 'string')) throw httpError(400, 'bad-request', 'ruleIds must list 1-32 rule ids');
  const tool = str(body.tool, 'tool', { max: 256 })!;
  let matcher: GrantMatcher;
  let scope: GrantScope;
  try {
    matcher = parseMatcher(body.matcher, tool);
    scope = parseScope(body.scope);
  } catch (e) {
    if (e instanceof GrantError) throw httpError(422, 'bad-matcher', e.message);
    throw e;
  }
  const justification = typeof body.justification === 'string' ? body.justification.trim() : '';
  if (justification.length < cfg.minJustification) throw httpError(422, 'reason-required', `a justification of at least ${cfg.minJustification} characters is required`);
  if (justification.length > 2000) throw httpError(422, 'bad-request', 'justification is longer than 2000 characters');
  let maxMs = MAX_GRANT_MS;
  for (const id of new Set(ruleIds as string[])) {
    const r = rules.get(id);
    if (!r) throw httpError(422, 'unknown-rule', `rule ${id} is not in this device's policy`);
    if (!r.allowed) throw httpError(422, 'rule-not-exceptable', `rule ${id} does not allow exceptions (exception.allowed is not true in the policy)`);
    maxMs = Math.min(maxMs, r.maxMs);
  }
  const durationMs = parseDurationMs(body.duration);
  if (durationMs === undefined) throw httpError(400, 'bad-request', 'duration must be a duration such as 1h, 30m or PT1H');
  if (durationMs > maxMs) throw httpError(422, 'duration-too-long', `duration ${body.duration as string} is longer than the ${maxMs / 60_000} minutes the rule(s) allow`, { maxDurationMs: maxMs });
  return {
    ruleIds: [...new Set(ruleIds as string[])],
    tool,
    matcher,
    scope,
    durationMs,
    justification,
    ticket: str(body.ticket, 'ticket', { max: 200, optional: true }) ?? null,
    sourceEventId: str(body.sourceEventId, 'sourceEventId', { max: 128, optional: true }) ?? null,
  };
}

export class Exceptions {
  constructor(
    private readonly db: Db,
    private readonly cfg: ExceptionConfig,
    private readonly clock: () => number,
  ) {}

  async create(req: NewRequest, who: { tenant: string; userId: string; deviceId: string }): Promise<ExceptionRequestView> {
    const now = this.clock();
    const id = newId('ex');
    await this.db.run(
      `INSERT INTO exception_requests (id, tenant, user_id, device_id, rule_ids, tool, matcher, scope, duration_ms, justification, ticket, source_event_id, status, created_at, request_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      [id, who.tenant, who.userId, who.deviceId, JSON.stringify(req.ruleIds), req.tool, JSON.stringify(req.matcher), JSON.stringify(req.scope), req.durationMs, req.justification, req.ticket, req.sourceEventId, now, now + this.cfg.requestTtlMs],
    );
    return (await this.get(id))!;
  }

  /** Mark pending requests past their TTL as expired. */
  async expire(q: Queryable = this.db): Promise<void> {
    const now = this.clock();
    await q.run("UPDATE exception_requests SET status = 'expired', decided_at = ? WHERE status = 'pending' AND request_expires_at <= ?", [now, now]);
  }

  async get(id: string): Promise<ExceptionRequestView | undefined> {
    await this.expire();
    const row = await this.db.get<RequestRow>('SELECT * FROM exception_requests WHERE id = ?', [id]);
    return row ? this.view(this.db, row) : undefined;
  }

  async list(filter: { userId?: string; deviceId?: string; status?: string; limit?: number }): Promise<ExceptionRequestView[]> {
    await this.expire();
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.userId) (where.push('user_id = ?'), params.push(filter.userId));
    if (filter.deviceId) (where.push('device_id = ?'), params.push(filter.deviceId));
    if (filter.status) (where.push('status = ?'), params.push(filter.status));
    const rows = await this.db.all<RequestRow>(`SELECT * FROM exception_requests${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`, [...params, Math.min(filter.limit ?? 100, 1000)]);
    const out: ExceptionRequestView[] = [];
    for (const r of rows) out.push(await this.view(this.db, r));
    return out;
  }

  private async view(q: Queryable, r: RequestRow): Promise<ExceptionRequestView> {
    const reviews = await q.all<{ reviewer: string; verdict: string; comment: string; at: number }>('SELECT reviewer, verdict, comment, at FROM exception_reviews WHERE request_id = ? ORDER BY at', [r.id]);
    const v: ExceptionRequestView = {
      id: r.id,
      status: r.status,
      tenant: r.tenant,
      ...whatAndWho(r),
      durationMs: Number(r.duration_ms),
      justification: r.justification,
      ticket: r.ticket,
      sourceEventId: r.source_event_id,
      createdAt: iso(r.created_at)!,
      requestExpiresAt: iso(r.request_expires_at)!,
      decidedAt: iso(r.decided_at),
      grantId: r.grant_id,
      reviews: reviews.map((x) => ({ reviewer: x.reviewer, verdict: x.verdict, comment: x.comment, at: iso(x.at)! })),
    };
    if (r.grant_id) {
      const g = await q.get<{ id: string; not_before: number; expires_at: number; revoked_at: number | null }>('SELECT id, not_before, expires_at, revoked_at FROM grants WHERE id = ?', [r.grant_id]);
      if (g) v.grant = { id: g.id, notBefore: iso(g.not_before)!, expiresAt: iso(g.expires_at)!, revokedAt: iso(g.revoked_at) };
    }
    return v;
  }

  private async lockPending(q: Queryable, id: string, now: number): Promise<RequestRow> {
    const r = await q.get<RequestRow>(`SELECT * FROM exception_requests WHERE id = ?${this.db.forUpdate}`, [id]);
    if (!r) throw httpError(404, 'not-found', `no exception request ${id}`);
    if (r.status === 'pending' && Number(r.request_expires_at) <= now) {
      await q.run("UPDATE exception_requests SET status = 'expired', decided_at = ? WHERE id = ?", [now, id]);
      throw httpError(409, 'request-expired', `request ${id} expired at ${iso(r.request_expires_at)} before it was decided`);
    }
    if (r.status !== 'pending') throw httpError(409, 'not-pending', `request ${id} is ${r.status}`);
    return r;
  }

  private reviewGuards(r: RequestRow, reviewer: { principal: string; roles: string[] }): void {
    if (!reviewer.roles.includes('approver')) throw httpError(403, 'approver-role-required', `${reviewer.principal} does not have the approver role`);
    if (reviewer.principal === r.user_id) throw httpError(403, 'self-approval', 'a request cannot be reviewed by the user who made it');
  }

  /**
   * One approval. The approver may shorten the duration and set a later notBefore. When the approvals reach
   * the threshold, the grant is signed and the request is approved.
   */
  async approve(id: string, reviewer: { principal: string; roles: string[] }, body: unknown, tenant: string): Promise<ExceptionRequestView> {
    if (!isObj(body)) throw httpError(400, 'bad-request', 'body must be a JSON object');
    const comment = typeof body.comment === 'string' ? body.comment.trim() : '';
    if (comment.length < 3) throw httpError(422, 'reason-required', 'an approval needs a comment (the reason it is granted)');
    const shorter = body.duration === undefined ? undefined : parseDurationMs(body.duration);
    if (body.duration !== undefined && shorter === undefined) throw httpError(400, 'bad-request', 'duration must be a duration such as 1h');
    const notBeforeReq = body.notBefore === undefined ? undefined : parseTime(body.notBefore);
    if (body.notBefore !== undefined && notBeforeReq === undefined) throw httpError(400, 'bad-request', 'notBefore must be a time');
    const now = this.clock();
    await this.db.tx(async (q) => {
      const r = await this.lockPending(q, id, now);
      this.reviewGuards(r, reviewer);
      if (shorter !== undefined && shorter > Number(r.duration_ms)) throw httpError(422, 'duration-too-long', 'an approver may shorten the requested duration, not extend it');
      const already = await q.get('SELECT 1 AS x FROM exception_reviews WHERE request_id = ? AND reviewer = ?', [id, reviewer.principal]);
      if (already) throw httpError(409, 'already-reviewed', `${reviewer.principal} has already reviewed request ${id}`);
      await q.run('INSERT INTO exception_reviews (request_id, reviewer, verdict, comment, at) VALUES (?, ?, ?, ?, ?)', [id, reviewer.principal, 'approve', comment, now]);
      if (shorter !== undefined) await q.run('UPDATE exception_requests SET duration_ms = ? WHERE id = ?', [shorter, id]);
      const approvers = (await q.all<{ reviewer: string }>("SELECT DISTINCT reviewer FROM exception_reviews WHERE request_id = ? AND verdict = 'approve'", [id])).map((x) => x.reviewer);
      if (approvers.length < this.cfg.approvalsRequired) return;
      if (!this.cfg.exceptionKey) throw httpError(503, 'no-exception-key', 'this server has no exception signing key (start it with --exception-key)');
      const duration = shorter ?? Number(r.duration_ms);
      const notBefore = Math.max(now, notBeforeReq ?? now);
      const doc: GrantDoc = grantDocOf({
        schema: 1,
        type: 'exception-grant',
        grantId: newId('g'),
        requestId: id,
        tenant,
        ...whatAndWho(r),
        notBefore: new Date(notBefore).toISOString(),
        expiresAt: new Date(notBefore + duration).toISOString(),
        issuedAt: new Date(now).toISOString(),
        approvedBy: approvers,
        reason: r.justification,
      });
      const env = signEnvelope(PAYLOAD_TYPES.grant, Buffer.from(JSON.stringify(doc)), [this.cfg.exceptionKey]);
      await q.run('INSERT INTO grants (id, request_id, tenant, user_id, device_id, envelope, not_before, expires_at, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [doc.grantId, id, tenant, r.user_id, r.device_id, JSON.stringify(env), notBefore, notBefore + duration, now]);
      await q.run("UPDATE exception_requests SET status = 'approved', decided_at = ?, grant_id = ? WHERE id = ?", [now, doc.grantId, id]);
    });
    return (await this.get(id))!;
  }

  async deny(id: string, reviewer: { principal: string; roles: string[] }, body: unknown): Promise<ExceptionRequestView> {
    const comment = isObj(body) && typeof body.comment === 'string' ? body.comment.trim() : '';
    if (comment.length < 3) throw httpError(422, 'reason-required', 'a denial needs a comment');
    const now = this.clock();
    await this.db.tx(async (q) => {
      const r = await this.lockPending(q, id, now);
      this.reviewGuards(r, reviewer);
      await q.run('INSERT INTO exception_reviews (request_id, reviewer, verdict, comment, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [id, reviewer.principal, 'deny', comment, now]);
      await q.run("UPDATE exception_requests SET status = 'denied', decided_at = ? WHERE id = ?", [now, id]);
    });
    return (await this.get(id))!;
  }

  /** Revoke an approved request's grant (approver or admin). The grant leaves the device's next grant list. */
  async revoke(id: string, actor: { principal: string; roles: string[] }, body: unknown): Promise<ExceptionRequestView> {
    if (!actor.roles.includes('approver') && !actor.roles.includes('admin')) throw httpError(403, 'approver-role-required', `${actor.principal} may not revoke exceptions`);
    const comment = isObj(body) && typeof body.comment === 'string' ? body.comment.trim() : '';
    if (comment.length < 3) throw httpError(422, 'reason-required', 'a revocation needs a comment');
    const now = this.clock();
    await this.db.tx(async (q) => {
      const r = await q.get<RequestRow>(`SELECT * FROM exception_requests WHERE id = ?${this.db.forUpdate}`, [id]);
      if (!r) throw httpError(404, 'not-found', `no exception request ${id}`);
      if (r.status !== 'approved' || !r.grant_id) throw httpError(409, 'not-approved', `request ${id} is ${r.status}; only approved requests can be revoked`);
      await q.run('UPDATE grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL', [now, actor.principal, comment, r.grant_id]);
      await q.run("UPDATE exception_requests SET status = 'revoked', decided_at = ? WHERE id = ?", [now, id]);
      await q.run('INSERT INTO exception_reviews (request_id, reviewer, verdict, comment, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [id, actor.principal, 'revoke', comment, now]);
    });
    return (await this.get(id))!;
  }

  async cancel(id: string, who: { userId: string }): Promise<ExceptionRequestView> {
    const now = this.clock();
    await this.db.tx(async (q) => {
      const r = await this.lockPending(q, id, now);
      if (r.user_id !== who.userId) throw httpError(403, 'forbidden', 'only the requesting user can cancel a request');
      await q.run("UPDATE exception_requests SET status = 'cancelled', decided_at = ? WHERE id = ?", [now, id]);
    });
    return (await this.get(id))!;
  }

  /** The active grants of one device and user, as envelopes. */
  async activeGrants(deviceId: string, userId: string): Promise<unknown[]> {
    const now = this.clock();
    const rows = await this.db.all<{ envelope: string }>('SELECT envelope FROM grants WHERE device_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY issued_at', [deviceId, userId, now]);
    return rows.map((r) => JSON.parse(r.envelope) as unknown);
  }
}
