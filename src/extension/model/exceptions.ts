/**
 * Exception requests as the extension tracks them (pure): the lifecycle pending → approved → expired, or
 * denied / cancelled / request expired, and what the views show for each.
 */
import { describeMatcher, durationWords, type ExceptionDraft } from './exceptionForm';
import { clockTime, relative } from './format';

export type ExceptionStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'revoked' | 'cancelled' | 'failed';

/** A request as sent (the draft's fields) and what became of it on the server. */
export interface ExceptionRecord extends Pick<ExceptionDraft, 'ruleIds' | 'tool' | 'matcher' | 'durationMs' | 'justification' | 'sourceEventId'> {
  /** Server request id. */
  requestId: string;
  server: string;
  status: ExceptionStatus;
  createdAt: number;
  /** A pending request expires (is never approved) after this. */
  requestExpiresAt?: number;
  grant?: { grantId: string; notBefore?: number; expiresAt: number; approvedBy?: string[]; installed: boolean };
  /** Reviewer comment or error. */
  message?: string;
  updatedAt: number;
}

/** Is the grant usable now? */
export function inForce(r: ExceptionRecord, now: number): boolean {
  return r.status === 'approved' && !!r.grant && r.grant.expiresAt > now && (r.grant.notBefore ?? 0) <= now;
}

/** Move time-based states forward: an approved grant past its expiry is expired; so is a pending request past its TTL. */
export function advance(r: ExceptionRecord, now: number): ExceptionRecord {
  if (r.status === 'approved' && r.grant && r.grant.expiresAt <= now) return { ...r, status: 'expired', updatedAt: now };
  if (r.status === 'pending' && r.requestExpiresAt !== undefined && r.requestExpiresAt <= now) return { ...r, status: 'expired', message: 'the request was not reviewed in time', updatedAt: now };
  return r;
}

export function statusText(r: ExceptionRecord, now: number): string {
  switch (r.status) {
    case 'pending':
      return `pending review${r.requestExpiresAt ? ` (request expires ${relative(r.requestExpiresAt, now)})` : ''}`;
    case 'approved':
      return r.grant ? `approved until ${clockTime(r.grant.expiresAt)} (${relative(r.grant.expiresAt, now)})` : 'approved';
    default:
      return r.status + (r.message ? `: ${r.message}` : '');
  }
}

export function exceptionSummary(r: ExceptionRecord): string {
  return `${r.ruleIds.join(', ')} · ${describeMatcher(r.matcher)} · ${durationWords(r.durationMs)}`;
}

/** Records worth showing: pending, in force, or finished within the last hour. */
export function visibleExceptions(rs: ExceptionRecord[], now: number): ExceptionRecord[] {
  return rs.filter((r) => r.status === 'pending' || inForce(r, now) || now - r.updatedAt < 3_600_000).sort((a, b) => b.createdAt - a.createdAt);
}
