/**
 * End-to-end harness: the real Claude Code CLI (pinned versions installed by scripts/install-e2e-deps.sh into
 * .cache/claude-cli/<version>/), our own fake Messages API on 127.0.0.1, a loopback-only network namespace
 * (`unshare -rn`) when the machine allows it, `env -i`-style environments, temp HOME and project, and the
 * hooks installed by OUR installer (`warden install --scope project`).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { auditEvents, CLI, ROOT, runCli, type ProcResult } from '../../hook/support';
import { toolResults, type FakeOptions } from './fakeAnthropic';
import type { Job, JobResult, Turn } from './sandboxRunner';

export const VERSIONS: string[] = (JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'e2e', 'versions.json'), 'utf8')) as { versions: string[] }).versions;
export const CACHE = process.env.AGENT_WARDEN_CLAUDE_CACHE ?? path.join(ROOT, '.cache', 'claude-cli');
const RUNNER = path.join(__dirname, 'sandboxRunner.js');
export const MIN_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The pinned CLI binary; a clear error (never a download) when it is not installed. */
export function claudeBinary(version: string): string {
  const bin = path.join(CACHE, version, 'node_modules', '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');
  if (!fs.existsSync(bin)) {
    throw new Error(`Claude Code ${version} is not installed at ${bin}.\nRun \`bash scripts/install-e2e-deps.sh\` (installs the pinned versions from the npm registry) before \`npm run test:e2e\`.`);
  }
  return bin;
}

/**
 * Where the sandboxes live: test-artifacts/e2e in the checkout, unless the checkout itself is in a temporary
 * directory (a CI clone under /tmp). The baseline lets recursive deletes in temporary directories through, so
 * a sandbox there would turn "rm -rf ~/docs" into an allowed call and the tests into nonsense; then they live
 * under the real home directory instead.
 */
export function sandboxBase(): string {
  const temp = ['/tmp', '/var/tmp', '/dev/shm', '/private/tmp', '/private/var/folders', '/var/folders', os.tmpdir()].map((d) => {
    try {
      return fs.realpathSync(d);
    } catch {
      return d;
    }
  });
  const inTemp = (p: string) => temp.some((t) => p === t || p.startsWith(t + path.sep));
  const inCheckout = path.join(ROOT, 'test-artifacts', 'e2e');
  if (!inTemp(fs.realpathSync(ROOT))) return inCheckout;
  const home = fs.realpathSync(os.homedir());
  if (inTemp(home)) throw new Error(`both the checkout (${ROOT}) and the home directory (${home}) are in temporary directories, where the baseline allows recursive deletes; run the e2e suite from elsewhere`);
  return path.join(home, '.agent-warden-test-artifacts', 'e2e');
}

let nsCache: { net: boolean; overlay: boolean } | undefined;
/** Whether `unshare -rn` (loopback-only network) and `unshare -rnm` + an overlay on /etc work here. */
export function namespaces(): { net: boolean; overlay: boolean } {
  if (nsCache) return nsCache;
  const net = spawnSync('unshare', ['-rn', 'true']).status === 0;
  let overlay = false;
  if (net) {
    // test-artifacts/ is git-ignored: a fresh clone does not have it yet.
    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    const d = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'ovl-'));
    fs.mkdirSync(path.join(d, 'up', 'claude-code'), { recursive: true });
    fs.mkdirSync(path.join(d, 'work'));
    fs.writeFileSync(path.join(d, 'up', 'claude-code', 'probe'), 'x');
    const r = spawnSync('unshare', ['-rnm', 'sh', '-c', `mount -t overlay overlay -o lowerdir=/etc,upperdir=${d}/up,workdir=${d}/work /etc && cat /etc/claude-code/probe`], { encoding: 'utf8' });
    overlay = r.status === 0 && r.stdout === 'x';
    fs.rmSync(d, { recursive: true, force: true });
  }
  nsCache = { net, overlay };
  return nsCache;
}

export interface RunOptions {
  fake: FakeOptions;
  prompt?: string;
  turns?: Turn[];
  /** Extra CLI arguments (default: --output-format json --dangerously-skip-permissions). */
  args?: string[];
  /** Extra environment for the CLI (and so for the hooks it runs). */
  env?: Record<string, string>;
  /** Overlay /etc in a private mount namespace with this directory as the upper layer. */
  etcOverlay?: string;
  setup?: Job['setup'];
  /** Static pages served on 127.0.0.1 in the sandbox; `{{PAGE_PORT}}` in fake steps becomes their port. */
  pages?: Job['pages'];
  pagesTls?: Job['pagesTls'];
  timeoutMs?: number;
}

export interface RunResult extends JobResult {
  /** The CLI's `--output-format json` object (single-turn runs). */
  json?: any;
  /** The stream-json lines (multi-turn runs). */
  lines?: any[];
  toolResults: ReturnType<typeof toolResults>;
  /** Tool calls the fake asked for (id → name/input), in order. */
  toolUses: { id: string; name: string; input: any }[];
}

/** One scenario's throw-away world: HOME, project, TMPDIR; outside /tmp so that deleting outside the project is not a temp-dir cleanup. */
export class World {
  readonly root: string;
  readonly home: string;
  readonly proj: string;
  readonly tmp: string;
  readonly stateDir: string;

  constructor(
    readonly version: string,
    label: string,
  ) {
    const base = sandboxBase();
    fs.mkdirSync(base, { recursive: true });
    this.root = fs.mkdtempSync(path.join(base, `${version}-${label.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}-`));
    this.home = path.join(this.root, 'home');
    this.proj = path.join(this.root, 'proj');
    this.tmp = path.join(this.root, 'tmp');
    for (const d of [this.home, this.proj, this.tmp]) fs.mkdirSync(d, { recursive: true });
    this.stateDir = path.join(this.home, '.agent-warden');
  }

  get claude(): string {
    return claudeBinary(this.version);
  }

  /** `warden install` with our CLI, as a user would run it (minimal PATH, this world's HOME). */
  install(args: string[] = ['--scope', 'project', '--dir', this.proj]): ProcResult {
    const r = runCli(['install', ...args, '--claude', this.claude], { env: { PATH: MIN_PATH, HOME: this.home }, cwd: this.proj });
    if (r.code !== 0) throw new Error(`warden install failed (${r.code}): ${r.stderr}\n${r.stdout}`);
    return r;
  }

  cliEnv(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {
      PATH: MIN_PATH,
      HOME: this.home,
      TMPDIR: this.tmp,
      TERM: 'dumb',
      SHELL: '/bin/bash',
      ANTHROPIC_API_KEY: 'sk-ant-offline-test',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_GROWTHBOOK: '1',
      DISABLE_BUG_COMMAND: '1',
    };
    if (process.getuid?.() === 0) env.IS_SANDBOX = '1'; // --dangerously-skip-permissions refuses root otherwise
    return { ...env, ...extra };
  }

  async run(o: RunOptions): Promise<RunResult> {
    const ns = namespaces();
    const jobFile = path.join(this.root, `job-${Date.now()}.json`);
    const resultFile = jobFile.replace(/\.json$/, '.result.json');
    const setup = [...(o.setup ?? [])];
    if (o.etcOverlay) {
      if (!ns.overlay) throw new Error('overlay mounts in a private mount namespace are not available here');
      const work = path.join(this.root, 'etc-work');
      fs.mkdirSync(work, { recursive: true });
      setup.unshift({ cmd: 'mount', args: ['-t', 'overlay', 'overlay', '-o', `lowerdir=/etc,upperdir=${o.etcOverlay},workdir=${work}`, '/etc'] });
    }
    const job: Job = {
      claudeBin: this.claude,
      cwd: this.proj,
      env: this.cliEnv(o.env),
      args: o.args ?? ['--output-format', 'json', '--dangerously-skip-permissions'],
      fake: { ...o.fake, logFile: path.join(this.root, 'requests.jsonl') },
      setup,
      netns: ns.net,
      timeoutMs: o.timeoutMs ?? 90_000,
      resultFile,
    };
    if (o.prompt) job.prompt = o.prompt;
    if (o.pages) job.pages = o.pages;
    if (o.pagesTls) job.pagesTls = o.pagesTls;
    if (o.turns) job.turns = o.turns;
    fs.writeFileSync(jobFile, JSON.stringify(job, null, 2));
    const argv = ns.net ? ['unshare', o.etcOverlay ? '-rnm' : '-rn', process.execPath, RUNNER, jobFile] : [process.execPath, RUNNER, jobFile];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    if (!fs.existsSync(resultFile)) throw new Error(`the sandbox runner wrote no result (${jobFile})`);
    const r = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as JobResult;
    if (r.error) throw new Error(`sandbox runner: ${r.error}`);
    const out: RunResult = { ...r, toolResults: toolResults(r.requests), toolUses: [] };
    for (const line of fs.existsSync(job.fake.logFile!) ? fs.readFileSync(job.fake.logFile!, 'utf8').split('\n').filter(Boolean) : []) {
      const e = JSON.parse(line);
      if (e.reply) for (const b of e.reply.blocks) if (b.type === 'tool_use') out.toolUses.push({ id: b.id, name: b.name, input: b.input });
    }
    if (o.turns) out.lines = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
    else {
      try {
        out.json = JSON.parse(r.stdout);
      } catch {
        throw new Error(`Claude Code ${this.version} printed no JSON result (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}):\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`);
      }
    }
    return out;
  }

  audit(): any[] {
    return auditEvents(this.stateDir);
  }

  /** Decision events by tool_use id. */
  decisions(): Map<string, any> {
    return new Map(this.audit().filter((e) => e.type === 'dev.agentwarden.decision.v1').map((e) => [e.data.tool.useId, e]));
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export { CLI };
