/** Errors with an HTTP status, tokens, ids and small parsers shared by the server's routes. */
import { createHash, randomBytes } from 'node:crypto';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const httpError = (status: number, code: string, message: string, extra?: Record<string, unknown>, headers?: Record<string, string>): HttpError => new HttpError(status, code, message, extra, headers);

export type TokenKind = 'admin' | 'device' | 'enrollment';
const PREFIX: Record<TokenKind, string> = { admin: 'awa_', device: 'awd_', enrollment: 'awe_' };

/** A new bearer token: a kind prefix and 32 random bytes (base64url). Only its sha256 is ever stored. */
export function newToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function sha256Hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A random id with a prefix: `ex_…`, `g_…` (URL-safe, 20 random bytes). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(15).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
}

/** The bearer token of a request, or undefined. */
export function bearer(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1] : undefined;
}

const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90` (ms), `15m`, `8h`, `7d`, or ISO 8601 `PT1H30M` / `P1D`. Undefined when not a duration. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(v);
  if (m) return Number(m[1]) * UNIT[m[2]!]!;
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(v);
  if (iso && v !== 'P' && v !== 'PT' && !v.endsWith('T')) {
    const ms = (Number(iso[1] ?? 0) * 86_400 + Number(iso[2] ?? 0) * 3600 + Number(iso[3] ?? 0) * 60 + Number(iso[4] ?? 0)) * 1000;
    return ms > 0 ? ms : undefined;
  }
  return undefined;
}

/** An ISO time or epoch ms (as text or number) → ms, or undefined. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string' || !v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function str(v: unknown, name: string, opts: { max?: number; min?: number; optional?: boolean } = {}): string | undefined {
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    throw httpError(400, 'bad-request', `${name} is required`);
  }
  if (typeof v !== 'string') throw httpError(400, 'bad-request', `${name} must be a string`);
  if (v.length < (opts.min ?? 1)) throw httpError(400, 'bad-request', `${name} must be at least ${opts.min ?? 1} characters`);
  if (v.length > (opts.max ?? 1024)) throw httpError(400, 'bad-request', `${name} must be at most ${opts.max ?? 1024} characters`);
  return v;
}

export const USER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;
