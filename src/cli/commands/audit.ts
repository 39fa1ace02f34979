import * as path from 'node:path';
import type { AuditEvent, DecisionData, HookData, PolicyEventData, SpoolEventData } from '../../core/audit/event';
import { AuditError, readAudit, spoolStatus, verifyChain, type AuditRecord, type SpoolStatus } from '../../runtime/audit/spool';
import { defaultStateDir } from '../../runtime/context';
import { parseArgs, pickSubcommand } from '../args';
import { UsageError, type Command, type Io } from '../types';

const HELP = `Usage: warden audit <verify|tail|status> [options]

The local audit spool: every decision and recorded hook event, append-only and hash-chained, under
<state dir>/audit/ (state dir: --home, default ~/.agent-warden).

warden audit verify [--home <dir>] [--json]
  Checks the whole chain: seq contiguous from 1 (or from the anchor left when acknowledged segments
  were deleted), every line's prev is the sha256 of the line before, every line a complete event, the
  acknowledged cursor matches. Reports the first break: an edited line (prev mismatch), deleted lines
  or segments (seq gap), reordered or duplicated lines, a malformed line.
  Exit code 0 when the chain is intact, 1 at a break.

warden audit tail [--home <dir>] [-n <count>] [--from <seq>] [--follow] [--json]
  Prints the newest events (default 20), or every event from --from <seq>. --follow keeps printing
  new events as they are appended (Ctrl-C to stop). --json prints the stored NDJSON lines as they are.

warden audit status [--home <dir>] [--cap <bytes>] [--json]
  Events not yet acknowledged by the server (backlog), bytes used against the cap (default 256 MiB,
  or --cap, e.g. 512MiB) and the cap level: ok; warn from 80 %; critical from 95 % (only deny/ask and
  system events are recorded, allowed calls are denied); full (every call is denied).

Options:
  --home <dir>   state directory (default ~/.agent-warden)
  --json         machine-readable output`;


function stateDirOf(home: string | undefined, io: Io): string {
  return home ? path.resolve(io.cwd, home) : defaultStateDir(io.env);
}

function parseCount(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--cap must be a size like 268435456, 256MiB or 1GiB, got ${JSON.stringify(v)}`);
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const n = Math.floor(Number(m[1]) * mult);
  if (n <= 0) throw new UsageError('--cap must be positive');
  return n;
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** One line per event for people. */
export function formatRecord(r: AuditRecord): string {
  const e = r.event as AuditEvent | null;
  const seq = String(r.seq).padStart(6);
  if (!e) return `${seq}  (not valid JSON)`;
  const t = e.type.replace(/^dev\.agentwarden\./, '').replace(/\.v\d+$/, '');
  const base = `${seq}  ${e.time}  `;
  if (t === 'decision') {
    const d = e.data as DecisionData;
    const observe = d.decision.verdict !== d.decision.effect ? ` (observe: would ${d.decision.verdict})` : '';
    const rules = d.decision.ruleIds.length ? ` [${d.decision.ruleIds.join(', ')}]` : '';
    return `${base}${d.decision.effect.padEnd(5)}  ${e.subject ?? d.tool.name}${rules} ${d.decision.reason}${observe}  ${e.id}`;
  }
  if (t === 'hook') {
    const d = e.data as HookData;
    const extra = d.tool?.response ? ` response ${mib(d.tool.response.bytes)}` : d.tool?.error ? ` error: ${d.tool.error.excerpt ?? ''}` : '';
    return `${base}${d.hook.event}  ${d.tool ? d.tool.name : ''}${extra}  ${e.id}`.replace(/\s+$/, '');
  }
  if (t === 'policy') {
    const d = e.data as PolicyEventData;
    return `${base}policy ${d.action}  ${d.policy.bundleId ?? d.policy.id} ${d.policy.version}${d.reason ? `: ${d.reason}` : ''}  ${e.id}`;
  }
  if (t === 'audit') {
    const d = e.data as SpoolEventData;
    return `${base}audit ${d.action}  ${JSON.stringify(d.detail)}  ${e.id}`;
  }
  return `${base}${e.type}  ${e.subject ?? ''}  ${e.id}`;
}

async function verify(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs(args, { home: { type: 'string' }, json: { type: 'boolean' } }, false);
  const stateDir = stateDirOf(values.home, io);
  const r = verifyChain(stateDir);
  if (values.json) {
    io.out(JSON.stringify({ stateDir, ...r }, null, 2));
    return r.ok ? 0 : 1;
  }
  if (r.ok) {
    if (r.events === 0) io.out(`no audit events in ${path.join(stateDir, 'audit')}`);
    else {
      const from = r.anchoredAt !== null ? ` (older events deleted after acknowledgement; anchored at seq ${r.anchoredAt})` : '';
      io.out(`ok: ${r.events} events, seq ${r.firstSeq}..${r.lastSeq}, chain intact${from}`);
      io.out(`head ${r.lastHash}`);
    }
    if (r.tornTailBytes) io.out(`note: ${r.tornTailBytes} bytes of an unfinished line at the end (a writer was interrupted; removed at the next append)`);
    return 0;
  }
  const b = r.break;
  io.err(`BROKEN: ${b.kind} at ${b.segment} line ${b.line} (byte ${b.offset}): ${b.message}`);
  io.err(`${r.events} events before the break verified`);
  return 1;
}

async function tail(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs(
    args,
    { home: { type: 'string' }, json: { type: 'boolean' }, n: { type: 'string', short: 'n' }, from: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, interval: { type: 'string' } },
    false,
  );
  const stateDir = stateDirOf(values.home, io);
  const count = parseCount(values.n, '-n', 20);
  const interval = parseCount(values.interval, '--interval', 300);
  let fromSeq: number;
  if (values.from !== undefined) {
    fromSeq = parseCount(values.from, '--from', 1);
  } else {
    const st = spoolStatus(stateDir);
    fromSeq = Math.max(1, st.lastSeq - count + 1);
  }
  const print = (recs: AuditRecord[]): void => {
    for (const r of recs) io.out(values.json ? r.line : formatRecord(r));
  };
  let res = readAudit(stateDir, { fromSeq, limit: values.from !== undefined ? Infinity : count });
  print(res.records);
  if (!values.follow) return 0;
  let next = res.next ?? { seq: fromSeq, segment: '', offset: 0 };
  for (;;) {
    await new Promise((r) => setTimeout(r, interval));
    res = readAudit(stateDir, { fromSeq: next.seq, limit: 1000, ...(next.segment ? { position: { segment: next.segment, offset: next.offset } } : {}) });
    print(res.records);
    if (res.next) next = res.next;
  }
}

function describeStatus(s: SpoolStatus): string[] {
  const lines = [`audit spool  ${s.dir}`, `device       ${s.deviceId ?? '(not created yet)'}`];
  const first = s.segments.length ? s.segments[0]!.firstSeq : null;
  lines.push(s.lastSeq ? `events       seq ${first ?? 1}..${s.lastSeq} in ${s.segments.length} segment${s.segments.length === 1 ? '' : 's'}` : 'events       none');
  lines.push(`backlog      ${s.backlog} event${s.backlog === 1 ? '' : 's'} not acknowledged${s.ackedSeq ? ` (acknowledged up to seq ${s.ackedSeq})` : ' (nothing acknowledged yet)'}`);
  const pct = (s.usedRatio * 100).toFixed(1);
  const advice: Record<string, string> = {
    ok: 'ok',
    warn: 'WARN: above 80 % of the cap; forward the backlog',
    critical: 'CRITICAL: above 95 % of the cap; only deny/ask and system events are recorded, allowed calls are denied',
    full: 'FULL: every call is denied until the backlog is forwarded',
  };
  lines.push(`disk         ${mib(s.bytesUsed)} of ${mib(s.capBytes)} (${pct} %): ${advice[s.level]}`);
  if (s.tornTailBytes) lines.push(`note         ${s.tornTailBytes} bytes of an unfinished line at the end (removed at the next append)`);
  if (s.pending) lines.push(`pending      ${s.pending} event${s.pending === 1 ? '' : 's'} waiting for the writer`);
  if (s.lock) lines.push(`lock         held by pid ${s.lock.pid ?? '?'} on ${s.lock.host ?? '?'} for ${s.lock.ageMs} ms`);
  return lines;
}

async function status(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs(args, { home: { type: 'string' }, json: { type: 'boolean' }, cap: { type: 'string' } }, false);
  const stateDir = stateDirOf(values.home, io);
  const s = spoolStatus(stateDir, values.cap !== undefined ? { capBytes: parseBytes(values.cap) } : {});
  if (values.json) io.out(JSON.stringify(s, null, 2));
  else for (const l of describeStatus(s)) io.out(l);
  return 0;
}

export const audit: Command = {
  name: 'audit',
  summary: 'Inspect the local audit spool: verify the hash chain, tail events, status',
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    const handler = pickSubcommand(sub, { verify, tail, status });
    try {
      return await handler(rest, io);
    } catch (e) {
      if (e instanceof AuditError) throw new Error(`${e.message} [${e.code}]`);
      throw e;
    }
  },
};
