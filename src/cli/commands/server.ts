import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPrivateKey } from '../../runtime/bundleKeys';
import { callJson, endpoint } from '../../runtime/forwardHttp';
import { parseArgs } from '../args';
import { UsageError, type Command, type Io } from '../types';

const USAGE = `Usage: warden server [run] [--port <n>] [--host <addr>] [--db sqlite:<path>|postgres://…] [options]
       warden server admin-token --principal <id> --role <admin|approver|auditor>… [--server <url>]
       warden server admin-tokens [--server <url>]
       warden server revoke-admin-token (--principal <id> | --id <token id>) [--server <url>]
       warden server enrollment-token --user <id> [--bundle-id <id>] [--ttl 7d] [--device-id <id>] [--server <url>]
       warden server devices [--server <url>]`;

export const HELP = `${USAGE}

Run the central Agent Warden server: device enrolment, signed policy bundles (ETag, long-poll),
audit ingest (exactly once per event, hash chain checked per device), audit query, exception
requests/approvals/grants, device heartbeats, /healthz, and an optional OTLP/HTTP log export to an
OpenTelemetry Collector. Logs are JSON lines (pino) on standard output.

run (default)
  --port <n>               port (default 7750; 0 picks a free one)
  --host <addr>            address to bind (default 127.0.0.1)
  --db <url>               sqlite:<path> (default sqlite:./warden-server.db) or postgres://user:pw@host/db
  --admin-token-file <f>   bootstrap admin token (or WARDEN_ADMIN_TOKEN); creates the other tokens
  --trust-root <file>      the trust root (envelope), delivered out of band; needed for bundles,
                           grants and receipts (or WARDEN_TRUST_ROOT)
  --exception-key <file>   private key (role exception in the trust) that signs grants; env:NAME works
  --receipt-key <file>     private key (role receipt) that signs audit receipts
  --bundle-id <id>         bundle for devices whose enrolment token names none
  --otlp-endpoint <url>    export audit events to an OTLP/HTTP collector, e.g. http://127.0.0.1:4318
                           (or WARDEN_OTLP_ENDPOINT); --otlp-header k=v adds a header (repeatable)
  --approvals <n>          approvals needed per exception request (default 1)
  --request-ttl <dur>      pending request lifetime (default 4h)
  --max-batch-bytes <n>    audit batch cap after decompression (default 20 MiB)
  --log-level <level>      trace, debug, info (default), warn, error, fatal, silent

admin-token, admin-tokens, revoke-admin-token, enrollment-token, devices (client side; admin token
from --admin-token-file or WARDEN_ADMIN_TOKEN; --server or WARDEN_SERVER)
  admin-token       create a token for a principal with roles: approver (reviews exceptions),
                    auditor (reads the audit trail), admin (everything else). Prints it once.
  admin-tokens      list the tokens created so far (principal, roles, id, created, revoked); never
                    the tokens themselves (only their hashes are stored).
  revoke-admin-token  revoke every active token of a principal, or the one with this id (from
                    admin-tokens); the next request with it gets 401. The bootstrap token given with
                    --admin-token-file at start changes only with a restart.
  enrollment-token  create a one-time enrolment token for a user's device (default TTL 7d);
                    --device-id re-enrols a known device (its audit chain continues).
  devices           list enrolled devices with their audit position and last heartbeat.`;

function adminToken(file: string | undefined, io: Io): string {
  if (file) return fs.readFileSync(path.resolve(io.cwd, file), 'utf8').trim();
  const t = io.env.WARDEN_ADMIN_TOKEN;
  if (!t) throw new UsageError('an admin token is needed: --admin-token-file <file> or WARDEN_ADMIN_TOKEN');
  return t.trim();
}

function serverUrl(v: string | undefined, io: Io): string {
  const s = v ?? io.env.WARDEN_SERVER;
  if (!s) throw new UsageError('--server <url> (or WARDEN_SERVER) is required');
  return s;
}

async function runServer(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'admin-token-file': { type: 'string' },
    'trust-root': { type: 'string' },
    'exception-key': { type: 'string' },
    'receipt-key': { type: 'string' },
    'bundle-id': { type: 'string' },
    'otlp-endpoint': { type: 'string' },
    'otlp-header': { type: 'string', multiple: true },
    approvals: { type: 'string' },
    'request-ttl': { type: 'string' },
    'max-batch-bytes': { type: 'string' },
    'log-level': { type: 'string' },
  }, false);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const port = Number(values.port ?? 7750);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
  // Loaded on demand: fastify and the database drivers are only for this verb.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createServer } = require('../../server/app') as typeof import('../../server/app');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseDurationMs } = require('../../server/util') as typeof import('../../server/util');
  let admin: string | undefined;
  if (values['admin-token-file']) admin = fs.readFileSync(path.resolve(io.cwd, values['admin-token-file']), 'utf8').trim();
  else if (io.env.WARDEN_ADMIN_TOKEN) admin = io.env.WARDEN_ADMIN_TOKEN.trim();
  if (admin !== undefined && admin.length < 16) throw new UsageError('the admin token must be at least 16 characters');
  const trustFile = values['trust-root'] ?? io.env.WARDEN_TRUST_ROOT;
  const limits: Record<string, number> = {};
  if (values.approvals) {
    const n = Number(values.approvals);
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new UsageError('--approvals must be 1-8');
    limits.approvalsRequired = n;
  }
  if (values['request-ttl']) {
    const ms = parseDurationMs(values['request-ttl']);
    if (!ms) throw new UsageError('--request-ttl must be a duration such as 4h');
    limits.requestTtlMs = ms;
  }
  if (values['max-batch-bytes']) {
    const n = Number(values['max-batch-bytes']);
    if (!Number.isInteger(n) || n < 1024) throw new UsageError('--max-batch-bytes must be an integer ≥ 1024');
    limits.maxBatchBytes = n;
  }
  const otlpEndpoint = values['otlp-endpoint'] ?? io.env.WARDEN_OTLP_ENDPOINT;
  const headers: Record<string, string> = {};
  for (const h of values['otlp-header'] ?? []) {
    const i = h.indexOf('=');
    if (i < 1) throw new UsageError(`--otlp-header must be name=value, got ${h}`);
    headers[h.slice(0, i)] = h.slice(i + 1);
  }
  const level = values['log-level'] ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) throw new UsageError('--log-level must be trace, debug, info, warn, error, fatal or silent');
  const server = await createServer({
    db: values.db ?? 'sqlite:./warden-server.db',
    ...(admin ? { adminToken: admin } : {}),
    ...(trustFile ? { trustRoot: fs.readFileSync(path.resolve(io.cwd, trustFile)) } : {}),
    ...(values['exception-key'] ? { exceptionKey: readPrivateKey(values['exception-key'].startsWith('env:') ? values['exception-key'] : path.resolve(io.cwd, values['exception-key']), io.env).signer } : {}),
    ...(values['receipt-key'] ? { receiptKey: readPrivateKey(values['receipt-key'].startsWith('env:') ? values['receipt-key'] : path.resolve(io.cwd, values['receipt-key']), io.env).signer } : {}),
    ...(values['bundle-id'] ? { defaultBundleId: values['bundle-id'] } : {}),
    ...(otlpEndpoint ? { otlp: { endpoint: otlpEndpoint, headers } } : {}),
    limits,
    logger: { level },
  });
  const url = await server.listen(port, values.host ?? '127.0.0.1');
  io.out(JSON.stringify({ msg: 'warden server listening', url, db: server.db.describe, trust: server.trust.configured ? server.trust.current().version : null, admin: !!admin }));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

export const server: Command = {
  name: 'server',
  summary: 'Run the central server (bundles, audit, exceptions, devices), or manage its tokens',
  help: HELP,
  async run(args, io) {
    const sub = args[0] && !args[0].startsWith('-') ? args[0] : 'run';
    const rest = sub === 'run' && args[0] !== 'run' ? args : args.slice(1);
    if (sub === 'run') return runServer(rest, io);
    if (sub === 'admin-token') {
      const { values } = parseArgs(rest, { server: { type: 'string' }, 'admin-token-file': { type: 'string' }, principal: { type: 'string' }, role: { type: 'string', multiple: true } }, false);
      if (!values.principal || !values.role?.length) throw new UsageError('--principal and at least one --role are required');
      const { body } = await callJson('POST', endpoint(serverUrl(values.server, io), 'v1/admin/tokens'), { token: adminToken(values['admin-token-file'], io), json: { principal: values.principal, roles: values.role } });
      io.out(JSON.stringify(body, null, 2));
      return 0;
    }
    if (sub === 'admin-tokens') {
      const { values } = parseArgs(rest, { server: { type: 'string' }, 'admin-token-file': { type: 'string' } }, false);
      const { body } = await callJson('GET', endpoint(serverUrl(values.server, io), 'v1/admin/tokens'), { token: adminToken(values['admin-token-file'], io) });
      io.out(JSON.stringify(body, null, 2));
      return 0;
    }
    if (sub === 'revoke-admin-token') {
      const { values } = parseArgs(rest, { server: { type: 'string' }, 'admin-token-file': { type: 'string' }, principal: { type: 'string' }, id: { type: 'string' } }, false);
      if (!values.principal === !values.id) throw new UsageError('give exactly one of --principal or --id');
      const { body } = await callJson('POST', endpoint(serverUrl(values.server, io), 'v1/admin/tokens/revoke'), {
        token: adminToken(values['admin-token-file'], io),
        json: values.principal ? { principal: values.principal } : { id: values.id },
      });
      io.out(JSON.stringify(body, null, 2));
      return 0;
    }
    if (sub === 'enrollment-token') {
      const { values } = parseArgs(rest, { server: { type: 'string' }, 'admin-token-file': { type: 'string' }, user: { type: 'string' }, 'bundle-id': { type: 'string' }, ttl: { type: 'string' }, 'device-id': { type: 'string' } }, false);
      if (!values.user) throw new UsageError('--user is required');
      const { body } = await callJson('POST', endpoint(serverUrl(values.server, io), 'v1/admin/enrollment-tokens'), {
        token: adminToken(values['admin-token-file'], io),
        json: { userId: values.user, ...(values['bundle-id'] ? { bundleId: values['bundle-id'] } : {}), ...(values.ttl ? { ttl: values.ttl } : {}), ...(values['device-id'] ? { deviceId: values['device-id'] } : {}) },
      });
      io.out(JSON.stringify(body, null, 2));
      return 0;
    }
    if (sub === 'devices') {
      const { values } = parseArgs(rest, { server: { type: 'string' }, 'admin-token-file': { type: 'string' } }, false);
      const { body } = await callJson('GET', endpoint(serverUrl(values.server, io), 'v1/admin/devices'), { token: adminToken(values['admin-token-file'], io) });
      io.out(JSON.stringify(body, null, 2));
      return 0;
    }
    throw new UsageError(`unknown subcommand ${sub}`);
  },
};
