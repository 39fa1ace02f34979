import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalInputSha256, type GrantMatcher } from '../../core/exceptions/grant';
import { simpleArgv } from '../../core/exceptions/match';
import { defaultStateDir } from '../../runtime/context';
import { readEnrollment } from '../../runtime/enroll';
import { callJson, endpoint } from '../../runtime/forwardHttp';
import { activeGrants, syncGrants } from '../../runtime/grants';
import { parseArgs, pickSubcommand } from '../args';
import { UsageError, type Command, type Io } from '../types';

const HELP = `Usage: warden exception request --rule <id>… --tool <name> <matcher> --duration <dur> --reason <text> [options]
       warden exception list [--status pending|approved|denied|expired|revoked|cancelled] [--admin]
       warden exception show <id> [--wait <s>] [--admin]
       warden exception approve <id> --comment <text> [--duration <dur>]      (approver)
       warden exception deny <id> --comment <text>                            (approver)
       warden exception revoke <id> --comment <text>                          (approver or admin)
       warden exception cancel <id>                                           (the requesting user)
       warden exception sync                                                  (fetch this device's grants)

Temporary, narrowly scoped exceptions to rules the policy marks exceptable. A user asks from their
enrolled device (device token from enrollment.json); an approver (admin token with the approver
role, never the requesting user) approves with a comment; the server then signs a time-boxed
grant for that user and device only, which \`sync\` (or the extension) fetches and the hook honours
until it expires or is revoked.

request matchers (exactly one):
  --input-json <json>     the exact tool input (its canonical sha256 is sent)
  --input-sha256 <hex>    the canonical sha256 of the tool input, as shown in the decision
  --prefix <command>      Bash only: a single simple command starting with these words
                          (e.g. --prefix "npm publish"); never covers chained commands
  --path-glob <glob>      every path the call touches is under this absolute glob (/repo/infra/**)
  --mcp-tool <name>       an MCP tool by its full name (mcp__server__tool)
request options:
  --rule <id>             rule to except (repeatable); the policy must mark it exceptable
  --tool <name>           the tool: Bash, Write, mcp__jira__search…
  --duration <dur>        15m, 1h, 8h… (at most the rules' maxDuration)
  --reason <text>         justification (at least 15 characters)
  --ticket <id>           change or incident ticket
  --workspace <dir>       only in this project root;  --session <id>: only in this session
  --wait <s>              wait up to s seconds for a decision
common:
  --home <dir>            state directory (default: ~/.agent-warden)
  --server <url>          default: from enrollment.json (or WARDEN_SERVER)
  --admin                 use the admin token (--admin-token-file or WARDEN_ADMIN_TOKEN) to list/show all
  --admin-token-file <f>  admin token for approve/deny/revoke (or WARDEN_ADMIN_TOKEN)
  --managed-dir <dir>     (sync) directory of a managed trust.json; "none" to ignore it`;

interface Ctx {
  stateDir: string;
  server: string;
  deviceToken?: string;
  adminToken?: string;
}

function context(values: Record<string, unknown>, io: Io, needs: 'device' | 'admin' | 'either'): Ctx {
  const stateDir = path.resolve(io.cwd, (values.home as string | undefined) ?? defaultStateDir(io.env));
  let enrollment = null;
  try {
    enrollment = readEnrollment(stateDir);
  } catch (e) {
    if (needs === 'device') throw e;
  }
  const server = (values.server as string | undefined) ?? io.env.WARDEN_SERVER ?? enrollment?.server;
  if (!server) throw new UsageError('no server: pass --server or enrol this device');
  const ctx: Ctx = { stateDir, server };
  const file = values['admin-token-file'] as string | undefined;
  const admin = file ? fs.readFileSync(path.resolve(io.cwd, file), 'utf8').trim() : io.env.WARDEN_ADMIN_TOKEN?.trim();
  if (admin) ctx.adminToken = admin;
  if (enrollment) ctx.deviceToken = enrollment.deviceToken;
  if (needs === 'device' && !ctx.deviceToken) throw new UsageError('this device is not enrolled; run `warden enroll`');
  if (needs === 'admin' && !ctx.adminToken) throw new UsageError('an admin token is needed: --admin-token-file <file> or WARDEN_ADMIN_TOKEN');
  return ctx;
}

function matcherOf(values: Record<string, unknown>, tool: string): GrantMatcher {
  const given = ['input-json', 'input-sha256', 'prefix', 'path-glob', 'mcp-tool'].filter((k) => values[k] !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --input-json, --input-sha256, --prefix, --path-glob, --mcp-tool');
  if (values['input-json'] !== undefined) {
    let input: unknown;
    try {
      input = JSON.parse(values['input-json'] as string);
    } catch (e) {
      throw new UsageError(`--input-json is not JSON: ${(e as Error).message}`);
    }
    return { kind: 'exact', inputSha256: canonicalInputSha256(input) };
  }
  if (values['input-sha256'] !== undefined) return { kind: 'exact', inputSha256: String(values['input-sha256']).toLowerCase() };
  if (values.prefix !== undefined) {
    if (tool !== 'Bash') throw new UsageError('--prefix is for the Bash tool');
    const argv = simpleArgv(values.prefix as string);
    if (!argv) throw new UsageError('--prefix must be one simple command of literal words (no ;, &&, |, $, redirections)');
    return { kind: 'commandPrefix', argv };
  }
  if (values['path-glob'] !== undefined) return { kind: 'pathGlob', glob: values['path-glob'] as string };
  return { kind: 'mcpTool', name: values['mcp-tool'] as string };
}

export const exception: Command = {
  name: 'exception',
  summary: 'Request, review and sync temporary exceptions (grants) for exceptable rules',
  help: HELP,
  async run(args, io) {
    const sub = args[0];
    pickSubcommand(sub, { request: 0, list: 0, show: 0, approve: 0, deny: 0, revoke: 0, cancel: 0, sync: 0 });
    const rest = args.slice(1);
    const { values, positionals } = parseArgs(rest, {
      home: { type: 'string' },
      server: { type: 'string' },
      'admin-token-file': { type: 'string' },
      admin: { type: 'boolean' },
      rule: { type: 'string', multiple: true },
      tool: { type: 'string' },
      'input-json': { type: 'string' },
      'input-sha256': { type: 'string' },
      prefix: { type: 'string' },
      'path-glob': { type: 'string' },
      'mcp-tool': { type: 'string' },
      duration: { type: 'string' },
      reason: { type: 'string' },
      ticket: { type: 'string' },
      workspace: { type: 'string' },
      session: { type: 'string' },
      wait: { type: 'string' },
      status: { type: 'string' },
      comment: { type: 'string' },
      'managed-dir': { type: 'string' },
    });
    const out = (v: unknown) => io.out(JSON.stringify(v, null, 2));
    switch (sub) {
      case 'request': {
        const c = context(values, io, 'device');
        if (!values.rule?.length) throw new UsageError('--rule is required');
        if (!values.tool) throw new UsageError('--tool is required');
        if (!values.duration) throw new UsageError('--duration is required');
        if (!values.reason) throw new UsageError('--reason is required');
        const body = {
          ruleIds: values.rule,
          tool: values.tool,
          matcher: matcherOf(values, values.tool),
          scope: { ...(values.workspace ? { workspace: path.resolve(io.cwd, values.workspace) } : {}), ...(values.session ? { sessionId: values.session } : {}) },
          duration: values.duration,
          justification: values.reason,
          ...(values.ticket ? { ticket: values.ticket } : {}),
        };
        const r = await callJson<{ id: string }>('POST', endpoint(c.server, 'v1/exceptions'), { token: c.deviceToken!, json: body });
        if (values.wait) {
          const w = await callJson('GET', endpoint(c.server, `v1/exceptions/${encodeURIComponent(r.body.id)}?wait=${Number(values.wait) || 30}`), { token: c.deviceToken!, timeoutMs: (Number(values.wait) + 15) * 1000 });
          out(w.body);
        } else out(r.body);
        return 0;
      }
      case 'list': {
        const c = context(values, io, values.admin ? 'admin' : 'device');
        const qs = values.status ? `?status=${encodeURIComponent(values.status)}` : '';
        out((await callJson('GET', endpoint(c.server, `v1/exceptions${qs}`), { token: values.admin ? c.adminToken! : c.deviceToken! })).body);
        return 0;
      }
      case 'show': {
        if (positionals.length !== 1) throw new UsageError('show needs a request id');
        const c = context(values, io, values.admin ? 'admin' : 'device');
        const wait = Number(values.wait ?? 0) || 0;
        out((await callJson('GET', endpoint(c.server, `v1/exceptions/${encodeURIComponent(positionals[0]!)}${wait ? `?wait=${wait}` : ''}`), { token: values.admin ? c.adminToken! : c.deviceToken!, timeoutMs: (wait + 15) * 1000 })).body);
        return 0;
      }
      case 'approve':
      case 'deny':
      case 'revoke': {
        if (positionals.length !== 1) throw new UsageError(`${sub} needs a request id`);
        if (!values.comment) throw new UsageError('--comment is required');
        const c = context(values, io, 'admin');
        const body = { comment: values.comment, ...(sub === 'approve' && values.duration ? { duration: values.duration } : {}) };
        out((await callJson('POST', endpoint(c.server, `v1/exceptions/${encodeURIComponent(positionals[0]!)}/${sub}`), { token: c.adminToken!, json: body })).body);
        return 0;
      }
      case 'cancel': {
        if (positionals.length !== 1) throw new UsageError('cancel needs a request id');
        const c = context(values, io, 'device');
        out((await callJson('POST', endpoint(c.server, `v1/exceptions/${encodeURIComponent(positionals[0]!)}/cancel`), { token: c.deviceToken!, json: {} })).body);
        return 0;
      }
      case 'sync': {
        const c = context(values, io, 'device');
        const managedDir = values['managed-dir'] === 'none' ? null : values['managed-dir'] ? path.resolve(io.cwd, values['managed-dir']) : undefined;
        const r = await syncGrants(c.stateDir, { server: c.server, ...(managedDir !== undefined ? { managedDir } : {}) });
        const a = activeGrants(c.stateDir, Date.now(), { recordClock: false, ...(managedDir !== undefined ? { managedDir } : {}) });
        out({ fetched: r.grants.length, rejected: r.rejected, listExpiresAt: r.listExpiresAt, active: a.candidates.map((g) => ({ grantId: g.grantId, ruleIds: g.ruleIds, tool: g.tool, matcher: g.matcher, expiresAt: g.expiresAt })), problem: a.problem ?? null });
        return 0;
      }
      default:
        throw new Error(`unhandled subcommand ${sub}`);
    }
  },
};
