/**
 * Shared fixtures for the server suites: deterministic keys and a trust root (the bundle harness's test
 * keys), a policy with exceptable rules, signed bundles, fresh databases (SQLite files, or PostgreSQL
 * databases created on the server named by AGENT_WARDEN_TEST_PG_URL), a running server on 127.0.0.1, and
 * enrolled device state directories.
 *
 * `forEachDb` runs a suite against SQLite and against PostgreSQL. Without AGENT_WARDEN_TEST_PG_URL the
 * PostgreSQL variant FAILS in CI (CI=1/true) and is reported pending on a developer machine.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildDecisionEvent, type AuditEventDraft } from '../../src/core/audit/event';
import { encodeEnvelope, PAYLOAD_TYPES, signEnvelope, type Signer } from '../../src/core/bundle/envelope';
import { buildBundleDoc, encodeDocument } from '../../src/core/bundle/issue';
import { validatePolicyValue } from '../../src/core/policy/load';
import type { PolicyDoc } from '../../src/core/policy/schema';
import type { Decision } from '../../src/core/types';
import { loadDeviceId } from '../../src/runtime/audit/device';
import { appendAuditEvent, segmentName, type AppendResult } from '../../src/runtime/audit/spool';
import { GENESIS_PREV, lineHash, sequenceLine } from '../../src/core/audit/chain';
import { enroll, type EnrollResult } from '../../src/runtime/enroll';
import { createServer, type ServerOptions, type WardenServer } from '../../src/server/app';
import { buildTrust, testKey } from '../cases/bundles/harness';

export const DAY = 86_400_000;
export const NOW = Date.now();
export const ADMIN = 'test-admin-token-0123456789abcdef';
export const TENANT = 'acme';
export const BUNDLE_ID = 'acme/default';

export const signer = (name: string): Signer => {
  const k = testKey(name);
  return { keyid: k.keyid, privateKey: k.privateKey };
};

/** Trust v1 of tenant acme: roots root1..3 (threshold 2), policy, exception and receipt keys. */
export function trustRoot(): Buffer {
  return buildTrust({ issuedAt: NOW - DAY, expiresAt: NOW + 365 * DAY });
}

export const EX_POLICY: PolicyDoc = validatePolicyValue({
  apiVersion: 'agentwarden.dev/v1',
  kind: 'Policy',
  metadata: { id: 'acme/default', version: 'exceptions-test' },
  defaultEffect: 'allow',
  rules: [
    { id: 'net.curl', effect: 'deny', reason: 'network downloads are blocked', exception: { allowed: true, maxDuration: '8h' }, match: { command: { program: 'curl' } } },
    { id: 'npm.publish', effect: 'ask', reason: 'publishing needs a person', exception: { allowed: true, maxDuration: '1h' }, match: { command: { program: 'npm', subcommand: 'publish' } } },
    { id: 'npm.test', effect: 'deny', reason: 'tests are run by CI', exception: { allowed: true }, match: { command: { program: 'npm', subcommand: 'test' } } },
    { id: 'infra.write', effect: 'deny', reason: 'infrastructure files are reviewed', exception: { allowed: true, maxDuration: '4h' }, match: { path: { glob: '/repo/infra/**', access: ['write', 'delete'] } } },
    { id: 'destroy.rm', effect: 'deny', reason: 'recursive deletes are blocked', match: { command: { program: 'rm', flags: { any: ['--recursive'] } } } },
    { id: 'secrets.env', effect: 'deny', reason: '.env files hold secrets', match: { path: { glob: '**/.env' } } },
    { id: 'mcp.jira', effect: 'deny', reason: 'Jira writes need approval', exception: { allowed: true, maxDuration: '2h' }, match: { tool: 'mcp__jira__*' } },
  ],
});

export function bundleBytes(version: number, opts: { policy?: PolicyDoc; issuedAt?: number; expiresAt?: number; signer?: string; bundleId?: string } = {}): Buffer {
  const doc = buildBundleDoc({
    tenant: TENANT,
    bundleId: opts.bundleId ?? BUNDLE_ID,
    epoch: 1,
    version,
    issuedAt: opts.issuedAt ?? NOW - 60_000 + version * 1000,
    expiresAt: opts.expiresAt ?? NOW + 7 * DAY,
    policy: opts.policy ?? EX_POLICY,
  });
  return encodeEnvelope(signEnvelope(PAYLOAD_TYPES.bundle, encodeDocument(doc), [signer(opts.signer ?? 'policy')]));
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// ---------------------------------------------------------------------------------------------------------
// databases

export type DbKind = 'sqlite' | 'postgres';

const PG_ENV = 'AGENT_WARDEN_TEST_PG_URL';
export const pgUrl = (): string | undefined => process.env[PG_ENV] || undefined;
export const inCi = (): boolean => !!process.env.CI && process.env.CI !== '0' && process.env.CI !== 'false';

interface PgAdmin {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  connect(): Promise<void>;
}

/** A new empty database: a SQLite file, or a PostgreSQL database created for this test. */
export async function freshDb(kind: DbKind, dir: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const file = path.join(dir, `db-${Math.random().toString(36).slice(2)}.sqlite`);
    return { url: `sqlite:${file}`, drop: async () => undefined };
  }
  const base = pgUrl();
  if (!base) throw new Error(`${PG_ENV} is not set`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as { Client: new (cfg: { connectionString: string }) => PgAdmin };
  const name = `aw_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.href,
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Run `body` once per database kind, in its own describe block. */
export function forEachDb(title: string, body: (kind: DbKind) => void): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${kind}]`, function () {
      if (kind === 'postgres' && !pgUrl()) {
        if (inCi()) {
          it('runs against PostgreSQL', () => {
            throw new Error(`${PG_ENV} is not set: CI must run scripts/ci-postgres.sh and export it before the server suites`);
          });
        } else it(`runs against PostgreSQL (pending: set ${PG_ENV}, e.g. \`eval "$(bash scripts/ci-postgres.sh)"\`)`);
        return;
      }
      body(kind);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// server

export interface TestServer {
  server: WardenServer;
  url: string;
  dbUrl: string;
  close(): Promise<void>;
}

export async function startServer(kind: DbKind, dir: string, extra: Partial<ServerOptions> = {}): Promise<TestServer> {
  const db = await freshDb(kind, dir);
  const server = await createServer({ db: db.url, adminToken: ADMIN, trustRoot: trustRoot(), exceptionKey: signer('exception'), receiptKey: signer('receipt'), logger: false, ...extra });
  const url = await server.listen(0, '127.0.0.1');
  return {
    server,
    url,
    dbUrl: db.url,
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

export async function api<T = Record<string, any>>(url: string, method: string, p: string, opts: { token?: string; json?: unknown; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: Buffer | string | undefined = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(url + p, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = text;
  }
  return { status: r.status, body: parsed as T, headers: r.headers };
}

export async function publish(url: string, version: number, opts: Parameters<typeof bundleBytes>[1] = {}): Promise<{ status: number; body: Record<string, any> }> {
  return api(url, 'PUT', `/v1/admin/bundles/${encodeURIComponent(opts.bundleId ?? BUNDLE_ID)}`, { token: ADMIN, body: bundleBytes(version, opts), headers: { 'content-type': 'application/vnd.agentwarden.bundle+json' } });
}

export async function enrollmentToken(url: string, userId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api(url, 'POST', '/v1/admin/enrollment-tokens', { token: ADMIN, json: { userId, bundleId: BUNDLE_ID, ...extra } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token as string;
}

export async function adminToken(url: string, principal: string, roles: string[]): Promise<string> {
  const r = await api(url, 'POST', '/v1/admin/tokens', { token: ADMIN, json: { principal, roles } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token as string;
}

/** A fresh state directory enrolled with the server for `userId`. */
export async function enrolledDevice(url: string, dir: string, userId: string): Promise<{ stateDir: string; deviceId: string; token: string; result: EnrollResult }> {
  const stateDir = fs.mkdtempSync(path.join(dir, 'dev-'));
  const result = await enroll({ stateDir, server: url, token: await enrollmentToken(url, userId), trustRoot: trustRoot(), managedDir: null });
  return { stateDir, deviceId: result.enrollment.deviceId, token: result.enrollment.deviceToken, result };
}

// ---------------------------------------------------------------------------------------------------------
// audit events

const DECISION: Decision = {
  effect: 'deny',
  verdict: 'deny',
  ruleIds: ['net.curl'],
  reason: 'network downloads are blocked',
  explicit: true,
  mode: 'enforce',
  matches: [{ ruleId: 'net.curl', effect: 'deny', mode: 'enforce', reason: 'network downloads are blocked', exceptable: true, facts: [] }],
  unanalyzable: [],
  policy: { id: 'acme/default', version: '1' },
};

/** A decision event draft for this state directory's device (user `user`, session `session`). */
export function decisionDraft(stateDir: string, i: number, opts: { user?: string; session?: string; effect?: 'allow' | 'deny' | 'ask'; now?: number; deviceId?: string } = {}): AuditEventDraft<unknown> {
  const deviceId = opts.deviceId ?? loadDeviceId(stateDir);
  const effect = opts.effect ?? (i % 3 === 0 ? 'deny' : 'allow');
  const decision: Decision = effect === 'deny' ? DECISION : { ...DECISION, effect, verdict: effect, ruleIds: effect === 'ask' ? ['npm.publish'] : [], matches: [] };
  return buildDecisionEvent(
    { session_id: opts.session ?? 'sess-1', cwd: '/repo', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: `curl https://example.com/${i}` }, tool_use_id: `toolu_${i}` },
    decision,
    { actor: { user: opts.user ?? 'alice', deviceId, host: 'test-host' }, client: { version: '0.1.0', os: 'linux-x64' }, ...(opts.now !== undefined ? { now: opts.now } : {}) },
    { latencyMs: 0.5 },
  );
}

export function appendEvents(stateDir: string, n: number, opts: Parameters<typeof decisionDraft>[2] & { from?: number } = {}): AppendResult[] {
  const out: AppendResult[] = [];
  for (let i = 0; i < n; i++) out.push(appendAuditEvent(stateDir, decisionDraft(stateDir, (opts.from ?? 0) + i, opts)));
  return out;
}

/**
 * Write a spool directly (a device that was offline for a while): `n` chained decision events with times
 * spread from `start` over `spanMs`, in segments rolled at 8 MiB like the spool's own. Much faster than
 * appending one fdatasync'ed event at a time; the spool reads it like its own (verifyChain passes).
 */
export function pregenSpool(stateDir: string, n: number, opts: { start?: number; spanMs?: number; user?: string } = {}): { lastSeq: number; lastHash: string } {
  const deviceId = loadDeviceId(stateDir);
  const logDir = path.join(stateDir, 'audit', 'log');
  fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const start = opts.start ?? NOW - 3 * DAY;
  const span = opts.spanMs ?? 3 * DAY;
  let prev = GENESIS_PREV;
  let chunks: string[] = [];
  let size = 0;
  let first = 1;
  const flush = (upTo: number) => {
    if (!chunks.length) return;
    fs.writeFileSync(path.join(logDir, segmentName(first)), chunks.join(''));
    chunks = [];
    size = 0;
    first = upTo + 1;
  };
  for (let i = 1; i <= n; i++) {
    const draft = decisionDraft(stateDir, i - 1, { deviceId, now: Math.round(start + ((i - 1) * span) / n), ...(opts.user ? { user: opts.user } : {}) });
    const line = sequenceLine(JSON.stringify(draft), i, prev);
    prev = lineHash(line);
    chunks.push(line + '\n');
    size += Buffer.byteLength(line) + 1;
    if (size >= 8 * 1024 * 1024) flush(i);
  }
  flush(n);
  return { lastSeq: n, lastHash: prev };
}
