/**
 * The HTTP client for the policy server, on node:http/https only. Defences against hostile servers and
 * networks (TUF "endless data", slow-loris): HTTPS required except to loopback; the body is capped while it
 * is read, counting bytes after gzip decompression (a gzip bomb stops at the cap, not at the end); separate
 * header and overall deadlines; no redirects followed; certificates always verified (Node's default; extra
 * CAs through NODE_EXTRA_CA_CERTS). The signature, not TLS, is what makes a bundle trusted.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { BundleError } from '../core/bundle/errors';

export interface HttpLimits {
  /** Most body bytes accepted, counted after decompression. */
  maxBytes: number;
  /** Deadline for the response headers, ms. */
  headerTimeoutMs: number;
  /** Deadline for the whole exchange, body included, ms. */
  totalTimeoutMs: number;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Parse a server URL and refuse plain HTTP except to loopback. Throws BundleError `insecure-transport`. */
export function checkTransport(url: string | URL): URL {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new BundleError('insecure-transport', `not a URL: ${JSON.stringify(String(url))}`);
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return u;
  if (u.protocol === 'http:') throw new BundleError('insecure-transport', `refusing plain HTTP to ${u.host}: use https:// (plain http only to 127.0.0.1, localhost or ::1)`);
  throw new BundleError('insecure-transport', `unsupported URL scheme ${u.protocol}`);
}

/** `<server>/<path>` keeping any base path of the server URL. */
export function serverUrl(server: string, pathname: string): URL {
  const base = checkTransport(server);
  const b = new URL(base.href.endsWith('/') ? base.href : base.href + '/');
  return new URL(pathname.replace(/^\/+/, ''), b);
}

export function httpRequest(method: 'GET' | 'PUT', url: URL, opts: { headers?: Record<string, string>; body?: Buffer; limits: HttpLimits }): Promise<HttpResult> {
  checkTransport(url);
  const { limits } = opts;
  return new Promise<HttpResult>((resolve, reject) => {
    let done = false;
    let response: http.IncomingMessage | undefined;
    let gunzip: zlib.Gunzip | undefined;
    const headers: Record<string, string> = { 'accept-encoding': 'gzip', ...opts.headers };
    if (opts.body) headers['content-length'] = String(opts.body.length);
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers, agent: false });

    const finish = (err: BundleError | undefined, result?: HttpResult): void => {
      if (done) return;
      done = true;
      clearTimeout(headerTimer);
      clearTimeout(totalTimer);
      if (err) {
        gunzip?.destroy();
        response?.destroy();
        req.destroy();
        reject(err);
      } else resolve(result!);
    };
    const headerTimer = setTimeout(() => finish(new BundleError('timeout', `${url.origin}: no response headers within ${limits.headerTimeoutMs} ms`)), limits.headerTimeoutMs);
    const totalTimer = setTimeout(() => finish(new BundleError('timeout', `${url.origin}: no complete response within ${limits.totalTimeoutMs} ms`)), limits.totalTimeoutMs);
    const tooLarge = () => finish(new BundleError('too-large', `${url.pathname}: response body over ${limits.maxBytes} bytes (after decompression)`));

    req.on('error', (e) => finish(new BundleError('network', `${url.origin}: ${e.message}`)));
    req.on('response', (res) => {
      response = res;
      clearTimeout(headerTimer);
      const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      let body: Readable = res;
      if (encoding === 'gzip' || encoding === 'x-gzip') {
        gunzip = zlib.createGunzip();
        gunzip.on('error', (e) => finish(new BundleError('bad-response', `${url.pathname}: bad gzip body (${e.message})`)));
        res.pipe(gunzip);
        body = gunzip;
      } else if (encoding !== 'identity') {
        return finish(new BundleError('bad-response', `${url.pathname}: unsupported content-encoding ${JSON.stringify(encoding)}`));
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBytes) return tooLarge();
      let raw = 0;
      res.on('data', (c: Buffer) => {
        raw += c.length;
        if (raw > limits.maxBytes) tooLarge();
      });
      res.on('error', (e) => finish(new BundleError('network', `${url.origin}: ${e.message}`)));
      res.on('aborted', () => finish(new BundleError('network', `${url.origin}: connection closed mid-response`)));
      const chunks: Buffer[] = [];
      let size = 0;
      body.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxBytes) return tooLarge();
        chunks.push(c);
      });
      body.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end(opts.body);
  });
}

/** Retry-After (delta seconds or an HTTP date) as a delay in ms from `now`, or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
