/**
 * Runs one real Claude Code CLI session against the fake Messages API, inside whatever namespace the caller
 * started this process in (`unshare -rn`: loopback only; `unshare -rnm`: plus a private mount namespace for
 * an overlay on /etc). Usage: `node sandboxRunner.js <job.json>`; writes the result JSON to job.resultFile.
 *
 * The CLI gets exactly job.env (nothing inherited, like `env -i`), plus ANTHROPIC_BASE_URL pointing at the
 * fake on 127.0.0.1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { FakeAnthropic, type FakeOptions, type LoggedRequest } from './fakeAnthropic';

export interface Turn {
  prompt: string;
  /** Done before this turn is sent (after the previous turn's result). */
  before?: { writeFile?: { path: string; content: string }; removeFile?: string; waitMs?: number };
}

export interface Job {
  claudeBin: string;
  cwd: string;
  env: Record<string, string>;
  args: string[];
  /** `-p <prompt>` single-turn run (output as given by args, e.g. --output-format json). */
  prompt?: string;
  /** Multi-turn stream-json run instead of prompt. */
  turns?: Turn[];
  fake: FakeOptions;
  /** Commands run first, inside the namespace (e.g. mounting an overlay on /etc, running the installer). */
  setup?: { cmd: string; args: string[]; env?: Record<string, string> }[];
  /** Bring up loopback (inside `unshare -n`). */
  netns: boolean;
  /**
   * Static pages served on 127.0.0.1 inside the namespace (path → body). `{{PAGE_PORT}}` in the fake's steps
   * is replaced by the port they are served on.
   */
  pages?: Record<string, { body: string; contentType?: string }>;
  /** Serve the pages over HTTPS with this key and certificate (PEM); the CLI must trust the certificate. */
  pagesTls?: { key: string; cert: string };
  timeoutMs: number;
  resultFile: string;
}

export interface SetupResult {
  cmd: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface JobResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  requests: LoggedRequest[];
  setup: SetupResult[];
  error?: string;
}

function findIp(): string {
  for (const p of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) if (fs.existsSync(p)) return p;
  return 'ip';
}

async function main(jobFile: string): Promise<void> {
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8')) as Job;
  const result: JobResult = { exitCode: null, signal: null, stdout: '', stderr: '', ms: 0, timedOut: false, requests: [], setup: [] };
  const write = (): void => fs.writeFileSync(job.resultFile, JSON.stringify(result));
  try {
    if (job.netns) {
      const r = spawnSync(findIp(), ['link', 'set', 'lo', 'up'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip link set lo up failed: ${r.stderr || r.error?.message}`);
    }
    for (const s of job.setup ?? []) {
      const r = spawnSync(s.cmd, s.args, { encoding: 'utf8', env: { ...process.env, ...(s.env ?? {}) }, timeout: 60_000 });
      result.setup.push({ cmd: [s.cmd, ...s.args].join(' '), code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') });
      if (r.status !== 0) throw new Error(`setup step failed: ${s.cmd} ${s.args.join(' ')}: ${r.stderr || r.error?.message}`);
    }
    let pageServer: http.Server | undefined;
    if (job.pages) {
      const pages = job.pages;
      const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        const page = pages[(req.url ?? '').split('?')[0]!];
        if (!page) {
          res.writeHead(404);
          res.end('not found');
          return;
        }
        res.writeHead(200, { 'content-type': page.contentType ?? 'text/html; charset=utf-8' });
        res.end(page.body);
      };
      pageServer = job.pagesTls ? https.createServer({ key: job.pagesTls.key, cert: job.pagesTls.cert }, handler) : http.createServer(handler);
      await new Promise<void>((resolve) => pageServer!.listen(0, '127.0.0.1', () => resolve()));
      const pagePort = String((pageServer.address() as { port: number }).port);
      job.fake = JSON.parse(JSON.stringify(job.fake).split('{{PAGE_PORT}}').join(pagePort)) as FakeOptions;
    }
    const fake = new FakeAnthropic(job.fake);
    const port = await fake.start();
    const env = { ...job.env, ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}` };
    const started = Date.now();
    try {
      if (job.turns) await runTurns(job, env, result);
      else await runOnce(job, env, result);
    } finally {
      result.ms = Date.now() - started;
      result.requests = fake.requests;
      await fake.close();
      if (pageServer) await new Promise<void>((resolve) => pageServer!.close(() => resolve()));
    }
  } catch (e) {
    result.error = (e as Error).stack ?? String(e);
  }
  write();
}

function runOnce(job: Job, env: Record<string, string>, result: JobResult): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(job.claudeBin, ['-p', job.prompt ?? 'do the task', ...job.args], { cwd: job.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    settle(child, job, result, out, err, () => '', resolve);
  });
}

/** Kill the CLI at the job's time limit; when it ends, put its exit and output into `result`. */
function settle(child: ChildProcess, job: Job, result: JobResult, out: Buffer[], err: Buffer[], stderrNote: () => string, resolve: () => void): void {
  const timer = setTimeout(() => {
    result.timedOut = true;
    child.kill('SIGKILL');
  }, job.timeoutMs);
  child.on('error', (e) => {
    result.error = `cannot start ${job.claudeBin}: ${e.message}`;
  });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    result.exitCode = code;
    result.signal = signal;
    result.stdout = Buffer.concat(out).toString('utf8');
    result.stderr = Buffer.concat(err).toString('utf8') + stderrNote();
    resolve();
  });
}

/** A long-running stream-json session: send each turn, wait for its `result` line, then the next. */
function runTurns(job: Job, env: Record<string, string>, result: JobResult): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(job.claudeBin, ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', ...job.args], { cwd: job.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let results = 0;
    let sent = 0;
    let buffered = '';
    const turns = job.turns!;
    const send = async (): Promise<void> => {
      const t = turns[sent]!;
      if (t.before?.writeFile) fs.writeFileSync(t.before.writeFile.path, t.before.writeFile.content);
      if (t.before?.removeFile) fs.rmSync(t.before.removeFile, { force: true });
      if (t.before?.waitMs) await new Promise((r) => setTimeout(r, t.before!.waitMs));
      sent++;
      child.stdin.write(JSON.stringify({ type: 'user', message: { role: 'user', content: t.prompt } }) + '\n');
    };
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      buffered += d.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let msg: { type?: unknown } | undefined;
        try {
          msg = JSON.parse(line) as { type?: unknown };
        } catch {
          msg = undefined;
        }
        if (msg && msg.type === 'result') {
          results++;
          if (sent < turns.length) void send();
          else child.stdin.end();
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    settle(child, job, result, out, err, () => (results < turns.length ? `\n[runner] only ${results} of ${turns.length} turns finished` : ''), resolve);
    void send();
  });
}

if (require.main === module) {
  main(process.argv[2]!).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String(e));
      process.exit(1);
    },
  );
}
