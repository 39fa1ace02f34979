/**
 * Helpers for tests that run the real hook (dist/hook.js) and CLI (dist/cli.js) as processes, with real
 * stdin/stdout, in throw-away HOME directories.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root, from out/test/<dir>/ or test/<dir>/. */
export const ROOT = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json'))) d = path.dirname(d);
  return d;
})();
export const HOOK = path.join(ROOT, 'dist', 'hook.js');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export function requireBuilt(): void {
  for (const f of [HOOK, CLI]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
}

export function tempDir(prefix = 'aw-test-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** A minimal environment: no inherited variables except PATH, a temp HOME. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...extra };
}

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a node script with `input` on stdin (a string, a Buffer, or null to keep stdin open until `holdMs`). */
export function runNode(script: string, args: string[], input: string | Buffer | null, opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; holdMs?: number }): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [script, ...args], { env: opts.env, cwd: opts.cwd ?? os.tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // the hook may answer (and exit) before reading everything
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    let hold: NodeJS.Timeout | undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      if (hold) clearTimeout(hold);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started });
    });
    if (input === null) hold = setTimeout(() => child.stdin.end(), opts.holdMs ?? 60_000);
    else child.stdin.end(input);
  });
}

export function runHook(input: string | Buffer | null, opts: { env: NodeJS.ProcessEnv; args?: string[]; cwd?: string; timeoutMs?: number; holdMs?: number }): Promise<ProcResult> {
  return runNode(HOOK, opts.args ?? [], input, opts);
}

export function runCli(args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; input?: string }): ProcResult {
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { env: opts.env, cwd: opts.cwd ?? os.tmpdir(), input: opts.input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

/** The one JSON object the hook printed (throws with the raw output if it is not exactly that). */
export function hookJson(r: ProcResult): Record<string, any> {
  const text = r.stdout.trim();
  if (!text) throw new Error(`empty stdout (exit ${r.code}, stderr ${JSON.stringify(r.stderr)})`);
  try {
    return JSON.parse(text) as Record<string, any>;
  } catch {
    throw new Error(`stdout is not one JSON object: ${JSON.stringify(text.slice(0, 500))}`);
  }
}

export function preToolUse(toolName: string, toolInput: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    session_id: 'test-session',
    transcript_path: '/tmp/none.jsonl',
    cwd: extra.cwd ?? os.tmpdir(),
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: toolName,
    tool_input: toolInput,
    tool_use_id: 'toolu_test_1',
    ...extra,
  });
}

/** Every audit event line in a state dir's spool, parsed. */
export function auditEvents(stateDir: string): any[] {
  const dir = path.join(stateDir, 'audit', 'log');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}
