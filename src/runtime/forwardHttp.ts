/**
 * A small JSON/bytes HTTP client on node:http(s) for the device side of the central server (audit
 * forwarding, enrolment, exceptions, grants, heartbeats). HTTPS is required except to loopback (the same
 * rule as the sync client), the reply body is capped while it is read (after gzip decompression), and
 * there is one overall deadline. No redirects are followed.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import { checkTransport } from './syncHttp';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'timeout' | 'too-large' | 'bad-response',
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Whole exchange deadline, ms (default 30 s). */
  timeoutMs?: number;
  /** Reply body cap, bytes after decompression (default 4 MiB). */
  maxBytes?: number;
  /** Abort early (e.g. the forwarder is stopping). */
  signal?: AbortSignal;
}

export function endpoint(server: string, pathname: string): URL {
  const base = checkTransport(server);
  const b = new URL(base.href.endsWith('/') ? base.href : base.href + '/');
  return new URL(pathname.replace(/^\/+/, ''), b);
}

export function request(method: string, url: URL, opts: RequestOptions = {}): Promise<Reply> {
  checkTransport(url);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  return new Promise<Reply>((resolve, reject) => {
    let done = false;
    const headers: Record<string, string> = { 'accept-encoding': 'gzip', ...opts.headers };
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    if (body) headers['content-length'] = String(body.length);
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers, agent: false });
    const finish = (err: Error | undefined, r?: Reply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(r!);
    };
    const onAbort = (): void => finish(new TransportError(`${method} ${url.pathname}: aborted`, 'network'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => finish(new TransportError(`${method} ${url.origin}${url.pathname}: no complete response within ${timeoutMs} ms`, 'timeout')), timeoutMs);
    req.on('error', (e) => finish(new TransportError(`${method} ${url.origin}${url.pathname}: ${e.message}`, 'network')));
    req.on('response', (res) => {
      const enc = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
      const stream = enc === 'gzip' ? res.pipe(zlib.createGunzip()) : res;
      if (enc !== 'gzip' && enc !== 'identity') return finish(new TransportError(`unsupported content-encoding ${enc}`, 'bad-response'));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) return finish(new TransportError(`${url.pathname}: reply over ${maxBytes} bytes`, 'too-large'));
        chunks.push(c);
      });
      stream.on('error', (e: Error) => finish(new TransportError(`${url.pathname}: ${e.message}`, 'bad-response')));
      res.on('aborted', () => finish(new TransportError(`${url.origin}: connection closed mid-response`, 'network')));
      stream.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end(body);
  });
}

/** The reply body as JSON, or undefined when it is not JSON. */
export function replyJson<T = Record<string, unknown>>(r: Reply): T | undefined {
  try {
    return JSON.parse(r.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** `error: message` of a server error reply, for messages. */
export function replyError(r: Reply): string {
  const j = replyJson<{ error?: unknown; message?: unknown }>(r);
  if (j && (typeof j.message === 'string' || typeof j.error === 'string')) return `HTTP ${r.status} ${String(j.error ?? '')}${j.message ? `: ${String(j.message)}` : ''}`;
  return `HTTP ${r.status}${r.body.length ? `: ${r.body.toString('utf8').slice(0, 300)}` : ''}`;
}

/** A request whose non-2xx answer is an Error with the server's message. */
export async function callJson<T = Record<string, unknown>>(method: string, url: URL, opts: RequestOptions & { json?: unknown; token?: string } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await request(method, url, { ...opts, headers, ...(body !== undefined ? { body } : {}) });
  if (r.status < 200 || r.status > 299) throw new HttpStatusError(`${method} ${url.pathname}: ${replyError(r)}`, r.status, replyJson(r));
  return { status: r.status, body: (replyJson<T>(r) ?? ({} as T)) };
}

export class HttpStatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}
