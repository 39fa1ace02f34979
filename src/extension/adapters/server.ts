/**
 * The central server's exception API as the editor uses it (research/bundles-audit-server.md §3.3, §4.2),
 * on the device HTTP client of src/runtime/forwardHttp.ts with the device token from the enrolment
 * (src/runtime/enroll.ts). A thin adapter: the wire shapes live here and nowhere else.
 *
 *   POST /v1/exceptions              request                 → 201 {id, status, requestExpiresAt?}
 *   GET  /v1/exceptions/{id}?wait=N                          → {id, status, requestExpiresAt, grantId, grant?: {id, expiresAt}, reviews: [{reviewer, verdict, comment}]}
 *   POST /v1/exceptions/{id}/cancel
 * Approved grants reach the hook through the signed grant list (src/runtime/grants.ts syncGrants).
 *
 * No vscode import.
 */
import { callJson, endpoint } from '../../runtime/forwardHttp';
import { isoDuration, type ExceptionDraft } from '../model/exceptionForm';
import type { ExceptionStatus } from '../model/exceptions';

export interface RequestState {
  id: string;
  status: ExceptionStatus;
  requestExpiresAt?: number;
  /** Reviewer comment (denied, revoked) or error. */
  message?: string;
  grantId?: string;
  expiresAt?: number;
  approvedBy?: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const time = (v: unknown): number | undefined => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? Date.parse(v) : typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const STATUSES: readonly string[] = ['pending', 'approved', 'denied', 'expired', 'revoked', 'cancelled'];

/** The request body for a draft (research §4.2). */
export function requestBody(d: ExceptionDraft): Record<string, unknown> {
  return {
    ruleIds: d.ruleIds,
    tool: d.tool,
    matcher: d.matcher,
    // No workspace/session scope: the hook compares the workspace exactly with CLAUDE_PROJECT_DIR, which the
    // audit record does not carry; the matcher and the user/device binding keep the grant narrow.
    scope: {},
    duration: isoDuration(d.durationMs),
    justification: d.justification,
    sourceEventId: d.sourceEventId,
  };
}

/** A request's state from the server's JSON (tolerant of `request` wrappers and `active` for approved). */
export function parseState(j: unknown): RequestState {
  const o = isObj(j) && isObj(j.request) ? { ...j.request, ...(isObj(j.grant) ? { grant: j.grant } : {}) } : j;
  if (!isObj(o)) throw new Error('the server\'s answer is not a JSON object');
  const id = o.id ?? o.requestId;
  if (typeof id !== 'string') throw new Error('the server did not return a request id');
  const raw = typeof o.status === 'string' ? o.status.toLowerCase() : 'pending';
  const status = (raw === 'active' ? 'approved' : STATUSES.includes(raw) ? raw : 'pending') as ExceptionStatus;
  const out: RequestState = { id, status };
  const rx = time(o.requestExpiresAt);
  if (rx !== undefined) out.requestExpiresAt = rx;
  const reviews = Array.isArray(o.reviews) ? o.reviews.filter(isObj) : [];
  const lastComment = [...reviews].reverse().find((r) => typeof r.comment === 'string')?.comment;
  const msg = o.comment ?? o.reason ?? o.message ?? lastComment;
  if (typeof msg === 'string' && status !== 'pending' && status !== 'approved') out.message = msg;
  const g = isObj(o.grant) ? o.grant : o;
  if (typeof o.grantId === 'string') out.grantId = o.grantId;
  else if (typeof g.grantId === 'string') out.grantId = g.grantId;
  else if (isObj(o.grant) && typeof o.grant.id === 'string') out.grantId = o.grant.id;
  const exp = time(g.expiresAt) ?? time(o.grantExpiresAt);
  if (exp !== undefined && status === 'approved') out.expiresAt = exp;
  if (Array.isArray(g.approvedBy)) out.approvedBy = g.approvedBy.filter((x): x is string => typeof x === 'string');
  else if (reviews.length) out.approvedBy = reviews.filter((r) => r.verdict === 'approve' && typeof r.reviewer === 'string').map((r) => r.reviewer as string);
  return out;
}

export class ServerClient {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  async requestException(d: ExceptionDraft): Promise<RequestState> {
    const r = await callJson('POST', endpoint(this.base, 'v1/exceptions'), { token: this.token, json: requestBody(d), timeoutMs: 30_000 });
    return parseState(r.body);
  }

  async exceptionState(id: string, waitSeconds = 0, signal?: AbortSignal): Promise<RequestState> {
    const q = waitSeconds > 0 ? `?wait=${waitSeconds}` : '';
    const r = await callJson('GET', endpoint(this.base, `v1/exceptions/${encodeURIComponent(id)}${q}`), { token: this.token, timeoutMs: (waitSeconds + 15) * 1000, ...(signal ? { signal } : {}) });
    return parseState(r.body);
  }

  async cancelException(id: string): Promise<void> {
    await callJson('POST', endpoint(this.base, `v1/exceptions/${encodeURIComponent(id)}/cancel`), { token: this.token, json: {}, timeoutMs: 30_000 });
  }
}
