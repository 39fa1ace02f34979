/**
 * A real central server for the extension's tests, set up the way an administrator would with the
 * project's own CLI (`warden keygen`, `trust init`, `bundle sign`, `server`, `bundle publish`,
 * `server admin-token`, `server enrollment-token`), on 127.0.0.1 with an SQLite file. No vscode import:
 * used by the in-host suite and by the UI tests.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface LocalServer {
  url: string;
  dir: string;
  tenant: string;
  bundleId: string;
  trustFile: string;
  trustSha256: string;
  adminToken: string;
  approverToken: string;
  /** A fresh one-time enrolment token for `user`. */
  enrollmentToken(user: string): string;
  /** Approve a pending exception request as the approver (POST /v1/exceptions/:id/approve). */
  approve(id: string, comment?: string): Promise<{ status: string; grantId: string | null }>;
  /** Audit event ids the server stored for a session (admin view of the audit trail). */
  auditEventIds(session: string): Promise<string[]>;
  /** Exception requests on the server (admin view). */
  requests(): Promise<{ id: string; status: string; userId: string; ruleIds: string[]; matcher: unknown; durationMs: number; justification: string }[]>;
  stop(): Promise<void>;
  proc: ChildProcess;
}

export function cli(root: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function http(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
}

/** Keys, a trust root, a signed baseline bundle, a running server with it published, and an approver. */
export async function startLocalServer(root: string, dir: string, o: { bundleId?: string; tenant?: string } = {}): Promise<LocalServer> {
  const tenant = o.tenant ?? 'acme';
  const bundleId = o.bundleId ?? 'acme/default';
  fs.mkdirSync(dir, { recursive: true });
  const k = (n: string): string => path.join(dir, n);
  for (const role of ['root', 'policy', 'exception']) cli(root, ['keygen', '--role', role, '--out', k(role), '--force']);
  const trustFile = k('trust.json');
  cli(root, ['trust', 'init', '--tenant', tenant, '--key', k('root.pub'), '--key', k('policy.pub'), '--key', k('exception.pub'), '--sign', k('root.key'), '--out', trustFile]);
  const bundle = k('bundle.json');
  cli(root, ['bundle', 'sign', path.join(root, 'policies', 'baseline.yaml'), '--key', k('policy.key'), '--trust', trustFile, '--bundle-id', bundleId, '--version', '1', '--out', bundle, '--force']);
  const adminToken = `admin-${createHash('sha256').update(dir).digest('hex').slice(0, 32)}`;
  fs.writeFileSync(k('admin.token'), adminToken, { mode: 0o600 });
  const proc = spawn(process.execPath, [path.join(root, 'dist', 'cli.js'), 'server', '--port', '0', '--db', `sqlite:${k('server.db')}`, '--admin-token-file', k('admin.token'), '--trust-root', trustFile, '--exception-key', k('exception.key'), '--bundle-id', bundleId, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const logFile = fs.createWriteStream(k('server.log'));
  proc.stderr!.pipe(logFile);
  const url = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout! });
    const t = setTimeout(() => reject(new Error(`warden server did not start within 30 s (log ${k('server.log')})`)), 30_000);
    rl.on('line', (line) => {
      logFile.write(line + '\n');
      try {
        const j = JSON.parse(line) as { msg?: string; url?: string };
        if (j.msg === 'warden server listening' && j.url) {
          clearTimeout(t);
          resolve(j.url);
        }
      } catch {
        /* log line */
      }
    });
    proc.on('exit', (c) => reject(new Error(`warden server exited with ${c} (log ${k('server.log')})`)));
  });
  const env = { WARDEN_ADMIN_TOKEN: adminToken };
  cli(root, ['bundle', 'publish', bundle, '--server', url, '--trust', trustFile], env);
  const tokenOf = (out: string): string => {
    const t = out.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
    try {
      const j = JSON.parse(out) as { token?: string };
      if (j.token) return j.token;
    } catch {
      /* plain text */
    }
    return t;
  };
  const approverToken = tokenOf(cli(root, ['server', 'admin-token', '--principal', 'bob@acme.test', '--role', 'approver', '--server', url], env));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  };
  return {
    url,
    dir,
    tenant,
    bundleId,
    trustFile,
    trustSha256: createHash('sha256').update(fs.readFileSync(trustFile)).digest('hex'),
    adminToken,
    approverToken,
    proc,
    enrollmentToken: (user) => tokenOf(cli(root, ['server', 'enrollment-token', '--user', user, '--bundle-id', bundleId, '--server', url], env)),
    approve: async (id, comment = 'approved for the release hotfix') => {
      const r = await http('POST', `${url}/v1/exceptions/${encodeURIComponent(id)}/approve`, approverToken, { comment });
      if (r.status !== 200) throw new Error(`approve ${id}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      const j = r.json as { status: string; grantId: string | null };
      return { status: j.status, grantId: j.grantId };
    },
    auditEventIds: async (session) => {
      const r = await http('GET', `${url}/v1/audit/events?session=${encodeURIComponent(session)}&limit=1000`, adminToken);
      if (r.status !== 200) throw new Error(`audit query: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      return (r.json as { events: { event: { id: string } }[] }).events.map((e) => e.event.id);
    },
    requests: async () => {
      const r = await http('GET', `${url}/v1/exceptions`, adminToken);
      if (r.status !== 200) throw new Error(`list exceptions: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      return (r.json as { requests: Awaited<ReturnType<LocalServer['requests']>> }).requests;
    },
    stop,
  };
}
