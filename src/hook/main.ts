/**
 * The Claude Code hook runner: `node dist/hook.js [--policy <file.yaml|builtin:baseline>] [--home <state dir>]`.
 *
 * One hook JSON object on stdin, one hook JSON object on stdout, exit code 0, always. Every failure path
 * (malformed input, oversized or too deeply nested input, an unreadable policy, an internal error, the
 * internal deadline) prints an explicit deny: Claude Code treats a crash, a timeout, a non-2 exit or an
 * empty stdout as "allow", so the runner never produces any of those.
 */
import { denyOutput, type HookOutput } from './output';
import { runHook } from './run';

const DEFAULT_DEADLINE_MS = 5_000;
const DEFAULT_MAX_INPUT = 8 * 1024 * 1024;

let answered = false;

function answer(out: HookOutput): void {
  if (answered) return;
  answered = true;
  const text = JSON.stringify(out);
  process.stdout.write(text + '\n', () => process.exit(0));
  // If stdout cannot be flushed (closed pipe), still exit 0 shortly after.
  setTimeout(() => process.exit(0), 1000).unref();
}

function failClosed(reason: string): void {
  answer(denyOutput(reason));
}

export function main(argv: string[]): void {
  const started = Date.now();
  const deadlineMs = Number(process.env.AGENT_WARDEN_DEADLINE_MS) || DEFAULT_DEADLINE_MS;
  const maxInput = Number(process.env.AGENT_WARDEN_MAX_INPUT) || DEFAULT_MAX_INPUT;
  process.on('uncaughtException', (e) => failClosed(`internal error: ${e instanceof Error ? e.message : String(e)}`));
  process.on('unhandledRejection', (e) => failClosed(`internal error: ${e instanceof Error ? e.message : String(e)}`));
  process.stdout.on('error', () => process.exit(0));
  const timer = setTimeout(() => failClosed(`no decision within ${deadlineMs} ms`), deadlineMs);
  timer.unref();

  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  process.stdin.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxInput) {
      tooLarge = true;
      failClosed(`hook input larger than ${maxInput} bytes`);
      return;
    }
    chunks.push(chunk);
  });
  process.stdin.on('error', (e) => failClosed(`cannot read hook input: ${e.message}`));
  process.stdin.on('end', () => {
    if (tooLarge || answered) return;
    try {
      const out = runHook(argv, Buffer.concat(chunks).toString('utf8'), { started, deadline: started + deadlineMs - 250 });
      answer(out);
    } catch (e) {
      failClosed(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}
