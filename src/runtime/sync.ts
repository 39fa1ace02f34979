/**
 * The sync client: one run (`syncOnce`, used by `warden sync` on headless machines) and a polling loop
 * (`SyncLoop`, used by the extension).
 *
 * A run walks trust rotations (`GET <server>/v1/trust/<N+1>.json` until 404, each verified against the
 * previous root and its own), then fetches the bundle with a conditional GET
 * (`GET <server>/v1/bundles/<urlencoded bundleId>`, If-None-Match → 304) and offers the bytes for
 * acceptance. Any failure keeps the last good bundle. The ETag is only an HTTP cache token: the client
 * hashes the bytes itself. Polls are jittered (uniform 60–120 s); failures back off ×1.6 up to 300 s, ±20 %,
 * and a Retry-After from the server is honoured (capped at one hour).
 */
import * as fs from 'node:fs';
import { describeError, type RejectCode } from '../core/bundle/errors';
import type { BundleEvent } from '../core/bundle/events';
import { sha256Hex } from '../core/bundle/envelope';
import { parseTrustPayload } from '../core/bundle/schema';
import { openRotation, type Trust } from '../core/bundle/trust';
import { acceptBundleBytes, recordServerTime } from './bundleAccept';
import { clientVersion as buildVersion } from './bundleActive';
import { bundleFile, readClientConfig, readStore, resolveManagedDir } from './bundleStore';
import { httpRequest, parseRetryAfter, serverUrl, type HttpLimits } from './syncHttp';
import { readStatusFile, writeStatusFile, type SyncResultKind, type SyncStatus, type TrustSyncResult } from './syncStatus';
import { acceptTrustBytes, loadValidatedChain } from './trustAccept';

export const SYNC_DEFAULTS = {
  pollMinMs: 60_000,
  pollMaxMs: 120_000,
  backoffBaseMs: 1_000,
  backoffFactor: 1.6,
  backoffJitter: 0.2,
  backoffCapMs: 300_000,
  retryAfterCapMs: 3_600_000,
  maxBundleBytes: 1024 * 1024,
  maxTrustBytes: 64 * 1024,
  headerTimeoutMs: 10_000,
  totalTimeoutMs: 30_000,
  maxTrustHops: 32,
};

export type SyncLimits = typeof SYNC_DEFAULTS;

export interface SyncOptions {
  stateDir: string;
  /** Directory of machine-managed files. Default: the platform's; null: none. */
  managedDir?: string | null;
  /** Default: sync.json. */
  server?: string;
  /** Default: sync.json. */
  bundleId?: string;
  /** Device bearer token for the server, if it requires one. */
  token?: string;
  clientVersion?: string;
  /** Clock, ms (injectable for tests). */
  clock?: () => number;
  /** Uniform [0, 1) source for jitter (injectable for tests). */
  random?: () => number;
  limits?: Partial<SyncLimits>;
}

export interface SyncRun {
  result: SyncResultKind;
  code?: RejectCode;
  message?: string;
  trust: { result: TrustSyncResult; version?: number; code?: RejectCode; message?: string };
  events: BundleEvent[];
  status: SyncStatus;
  nextDelayMs: number;
}

export function pollDelay(limits: Pick<SyncLimits, 'pollMinMs' | 'pollMaxMs'>, random: () => number = Math.random): number {
  return Math.round(limits.pollMinMs + random() * (limits.pollMaxMs - limits.pollMinMs));
}

/**
 * Delay after the n-th consecutive failure (n ≥ 1): min(cap, base · factor^(n−1)), then ±jitter — OPA's
 * `util.Backoff` order, so clients that all hit the cap do not retry in lockstep.
 */
export function backoffDelay(failures: number, limits: Pick<SyncLimits, 'backoffBaseMs' | 'backoffFactor' | 'backoffJitter' | 'backoffCapMs'>, random: () => number = Math.random): number {
  const capped = Math.min(limits.backoffCapMs, limits.backoffBaseMs * Math.pow(limits.backoffFactor, Math.max(0, failures - 1)));
  return Math.round(capped * (1 + limits.backoffJitter * (2 * random() - 1)));
}

const ACCEPT = 'application/vnd.agentwarden.bundle+json, application/json;q=0.9';

interface RunContext {
  stateDir: string;
  managedDir: string | null;
  server: string;
  bundleId: string;
  limits: SyncLimits;
  headers: Record<string, string>;
  clock: () => number;
  clientVersion: string;
}

/** One sync run. Never throws for network, server or verification problems: they are in the result. */
export async function syncOnce(opts: SyncOptions): Promise<SyncRun> {
  const clock = opts.clock ?? Date.now;
  const random = opts.random ?? Math.random;
  const limits: SyncLimits = { ...SYNC_DEFAULTS, ...opts.limits };
  const started = clock();
  const at = new Date(started).toISOString();
  const managedDir = resolveManagedDir(opts.managedDir);
  const prev = readStatusFile(opts.stateDir);
  const events: BundleEvent[] = [];
  let result: SyncResultKind = 'error';
  let code: RejectCode | undefined;
  let message: string | undefined;
  let trust: SyncRun['trust'] = { result: 'unchanged' };
  let retryAfterMs: number | undefined;
  let rejected: SyncStatus['lastRejection'] | undefined;
  let server: string | undefined;
  let bundleId: string | undefined;

  try {
    const config = readClientConfig(opts.stateDir, managedDir);
    server = opts.server ?? config.server;
    bundleId = opts.bundleId ?? config.bundleId;
    if (!server || !bundleId) {
      code = 'not-configured';
      message = `no ${!server ? 'server' : 'bundle id'} configured; pass --server and --bundle-id (and --save to keep them)`;
      trust = { result: 'error', code, message };
    } else {
      const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': `agent-warden/${opts.clientVersion ?? buildVersion()}` };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      const ctx: RunContext = { stateDir: opts.stateDir, managedDir, server, bundleId, limits, headers, clock, clientVersion: opts.clientVersion ?? buildVersion() };
      const t = await syncTrust(ctx);
      events.push(...t.events);
      trust = t.summary;
      if (trust.result === 'rejected') rejected = { at, code: trust.code!, message: trust.message! };
      const b = await syncBundle(ctx);
      events.push(...b.events);
      result = b.result;
      if (b.code) code = b.code;
      if (b.message) message = b.message;
      retryAfterMs = b.retryAfterMs;
      if (b.rejection) rejected = { at, ...b.rejection };
    }
  } catch (e) {
    ({ code, message } = describeError(e));
    result = 'error';
  }

  const failed = result === 'rejected' || result === 'error' || trust.result === 'rejected';
  const failures = failed ? prev.consecutiveFailures + 1 : 0;
  let nextDelayMs = failed ? backoffDelay(failures, limits, random) : pollDelay(limits, random);
  if (retryAfterMs !== undefined) nextDelayMs = Math.max(nextDelayMs, Math.min(retryAfterMs, limits.retryAfterCapMs));

  const status: SyncStatus = { ...prev, schema: 1, consecutiveFailures: failures };
  if (server) status.server = server;
  if (bundleId) status.bundleId = bundleId;
  status.lastAttempt = { at, result, ...(code ? { code } : {}), ...(message ? { message } : {}), trust };
  if (result === 'updated' || result === 'unchanged' || result === 'not-modified') status.lastSuccess = at;
  if (result === 'updated') status.lastChange = at;
  if (rejected) status.lastRejection = rejected;
  status.nextAttemptAt = new Date(started + nextDelayMs).toISOString();
  describeActive(opts.stateDir, managedDir, bundleId, status);
  try {
    writeStatusFile(opts.stateDir, status);
  } catch {
    // The status file is informational; the state itself was written atomically.
  }
  const run: SyncRun = { result, trust, events, status, nextDelayMs };
  if (code) run.code = code;
  if (message) run.message = message;
  return run;
}

/** Fill the status's active bundle and trust from the state directory. */
function describeActive(stateDir: string, managedDir: string | null, bundleId: string | undefined, status: SyncStatus): void {
  const state = readStore(stateDir).state;
  const rec = bundleId ? state.bundles[bundleId] : undefined;
  if (bundleId && rec) {
    status.active = { bundleId, epoch: rec.epoch, version: rec.version, sha256: rec.sha256 };
    if (rec.issuedAt) status.active.issuedAt = rec.issuedAt;
    if (rec.expiresAt) status.active.expiresAt = rec.expiresAt;
    if (rec.acceptedAt) status.active.acceptedAt = rec.acceptedAt;
  } else delete status.active;
  try {
    const t = loadValidatedChain(stateDir, managedDir).current;
    status.trust = { tenant: t.tenant, version: t.version, expiresAt: t.doc.expiresAt };
  } catch {
    delete status.trust;
  }
}

async function syncTrust(ctx: RunContext): Promise<{ summary: SyncRun['trust']; events: BundleEvent[] }> {
  let current: Trust;
  try {
    current = loadValidatedChain(ctx.stateDir, ctx.managedDir).current;
  } catch (e) {
    return { summary: { result: 'error', ...describeError(e) }, events: [] };
  }
  const limits: HttpLimits = { maxBytes: ctx.limits.maxTrustBytes, headerTimeoutMs: ctx.limits.headerTimeoutMs, totalTimeoutMs: ctx.limits.totalTimeoutMs };
  const now = Math.max(ctx.clock(), readStore(ctx.stateDir).state.maxSeenTime);
  const fetched: Buffer[] = [];
  let fetchError: { code: RejectCode; message: string } | undefined;
  for (let hop = 0; hop < ctx.limits.maxTrustHops; hop++) {
    let res;
    try {
      res = await httpRequest('GET', serverUrl(ctx.server, `v1/trust/${current.version + 1}.json`), { headers: ctx.headers, limits });
    } catch (e) {
      fetchError = describeError(e);
      break;
    }
    if (res.status === 404) break;
    if (res.status !== 200) {
      fetchError = { code: 'http-status', message: `GET trust v${current.version + 1}: HTTP ${res.status}` };
      break;
    }
    fetched.push(res.body);
    try {
      current = openRotation(res.body, sha256Hex(res.body), current, parseTrustPayload, now);
    } catch {
      break; // acceptTrustBytes re-verifies and reports it
    }
  }
  if (!fetched.length) return { summary: fetchError ? { result: 'error', ...fetchError } : { result: 'unchanged', version: current.version }, events: [] };
  const r = await acceptTrustBytes(ctx.stateDir, fetched, { managedDir: ctx.managedDir, now: ctx.clock(), source: 'sync' });
  if (r.rejected) return { summary: { result: 'rejected', version: r.trust.version, ...r.rejected }, events: r.events };
  return { summary: { result: r.accepted.length ? 'updated' : 'unchanged', version: r.trust.version }, events: r.events };
}

interface BundlePhase {
  result: SyncResultKind;
  code?: RejectCode;
  message?: string;
  retryAfterMs?: number;
  rejection?: { code: RejectCode; message: string; epoch?: number; version?: number; sha256?: string };
  events: BundleEvent[];
}

async function syncBundle(ctx: RunContext): Promise<BundlePhase> {
  const record = readStore(ctx.stateDir).state.bundles[ctx.bundleId];
  const headers = { ...ctx.headers };
  // Ask for a 304 only when the accepted bytes are really on disk; otherwise fetch them again.
  const conditional = !!record?.etag && fs.existsSync(bundleFile(ctx.stateDir, ctx.bundleId, record.sha256));
  if (conditional) headers['if-none-match'] = record!.etag!;
  const url = serverUrl(ctx.server, `v1/bundles/${encodeURIComponent(ctx.bundleId)}`);
  let res;
  try {
    res = await httpRequest('GET', url, { headers, limits: { maxBytes: ctx.limits.maxBundleBytes, headerTimeoutMs: ctx.limits.headerTimeoutMs, totalTimeoutMs: ctx.limits.totalTimeoutMs } });
  } catch (e) {
    return { result: 'error', ...describeError(e), events: [] };
  }
  const serverTime = Date.parse(String(res.headers.date ?? ''));
  if (res.status === 304) {
    if (!conditional) return { result: 'error', code: 'bad-response', message: 'the server answered 304 to an unconditional request', events: [] };
    if (Number.isFinite(serverTime)) await recordServerTime(ctx.stateDir, serverTime);
    return { result: 'not-modified', events: [] };
  }
  if (res.status !== 200) {
    const out: BundlePhase = { result: 'error', code: 'http-status', message: `GET ${url.pathname}: HTTP ${res.status}${res.status === 404 ? ' (no bundle published under this id)' : ''}`, events: [] };
    const retry = parseRetryAfter(res.headers['retry-after'], ctx.clock());
    if (retry !== undefined && (res.status === 429 || res.status === 503)) out.retryAfterMs = retry;
    return out;
  }
  const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
  const r = await acceptBundleBytes(ctx.stateDir, res.body, {
    bundleId: ctx.bundleId,
    managedDir: ctx.managedDir,
    clientVersion: ctx.clientVersion,
    now: ctx.clock(),
    ...(Number.isFinite(serverTime) ? { serverTime } : {}),
    ...(etag ? { etag } : {}),
    source: 'sync',
  });
  if (r.outcome === 'rejected' && r.code === 'no-trust') return { result: 'error', code: r.code, message: r.message!, events: r.events };
  if (r.outcome === 'rejected') {
    const rejection: NonNullable<BundlePhase['rejection']> = { code: r.code!, message: r.message! };
    if (r.offered) Object.assign(rejection, r.offered);
    return { result: 'rejected', code: r.code!, message: r.message!, rejection, events: r.events };
  }
  return { result: r.outcome === 'accepted' ? 'updated' : 'unchanged', events: r.events };
}

/** Runs `syncOnce` on a jittered schedule with backoff; `syncNow` triggers a run at once. */
export class SyncLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SyncRun> | undefined;
  private stopped = true;

  constructor(private readonly opts: SyncOptions & { onRun?: (run: SyncRun) => void; onError?: (e: unknown) => void }) {}

  start(firstDelayMs = 0): void {
    this.stopped = false;
    this.schedule(firstDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isRunning(): boolean {
    return !this.stopped;
  }

  /** Run now (joins a run already in progress) and reschedule after it. */
  syncNow(): Promise<SyncRun> {
    if (this.running) return this.running;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const limits = { ...SYNC_DEFAULTS, ...this.opts.limits };
    this.running = syncOnce(this.opts).then(
      (run) => {
        this.running = undefined;
        this.opts.onRun?.(run);
        this.schedule(run.nextDelayMs);
        return run;
      },
      (e: unknown) => {
        this.running = undefined;
        this.opts.onError?.(e);
        this.schedule(backoffDelay(1, limits, this.opts.random));
        throw e;
      },
    );
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.syncNow().catch(() => undefined), ms);
    this.timer.unref();
  }
}
