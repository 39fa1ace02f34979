/**
 * The Claude Code hook runner: `node dist/hook.js [--policy <file.yaml|builtin:baseline>] [--home <state dir>]`.
 *
 * One hook JSON object on stdin, one hook JSON object on stdout, exit code 0, always. Every failure path
 * (malformed input, oversized or too deeply nested input, an unreadable policy, an internal error, the
 * internal deadline) prints the event's fail-closed answer: a deny for PreToolUse (and for input whose event
 * cannot be told), a veto for ConfigChange, a warning that blocks nothing for the recording events. Claude
 * Code treats a crash, a timeout, a non-2 exit or an empty stdout as "allow", so the runner never produces
 * any of those.
 *
 * Limits (environment): AGENT_WARDEN_DEADLINE_MS (default 5000; the installed hook `timeout` is 30 s),
 * AGENT_WARDEN_MAX_INPUT (bytes, default 8 MiB) and AGENT_WARDEN_SPOOL_CAP (bytes the local audit spool may
 * hold before it refuses events, default 256 MiB; from 95 % of it, calls that would be allowed are denied).
 */
import { failureOutput, type HookOutput } from './output';
import { recordRejectedCall, runHook, sniffEvent } from './run';

const DEFAULT_DEADLINE_MS = 5_000;
const DEFAULT_MAX_INPUT = 8 * 1024 * 1024;
/** Time kept back from the deadline for recording and answering once analysis stops. */
const ANSWER_RESERVE_MS = 250;

let answered = false;

function answer(out: HookOutput): void {
  if (answered) return;
  answered = true;
  const text = JSON.stringify(out);
  process.stdout.write(text + '\n', () => process.exit(0));
  // If stdout cannot be flushed (closed pipe), still exit 0 shortly after.
  setTimeout(() => process.exit(0), 1000).unref();
}

export function main(argv: string[]): void {
  const started = Date.now();
  const deadlineMs = Number(process.env.AGENT_WARDEN_DEADLINE_MS) || DEFAULT_DEADLINE_MS;
  const maxInput = Number(process.env.AGENT_WARDEN_MAX_INPUT) || DEFAULT_MAX_INPUT;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  /** The event, as soon as it can be told: fail-closed answers must fit it. */
  const eventNow = (): string | undefined => {
    if (!chunks.length) return undefined;
    return sniffEvent(Buffer.concat(chunks.slice(0, 4)).toString('utf8'));
  };
  const failClosed = (reason: string): void => {
    if (answered) return;
    let event: string | undefined;
    let head = '';
    try {
      head = Buffer.concat(chunks.slice(0, 4)).toString('utf8');
      event = eventNow();
    } catch {
      event = undefined;
    }
    // A deny is recorded like any other decision (best effort: the failure may be that nothing works).
    if (event === undefined || event === 'PreToolUse') {
      const id = recordRejectedCall(argv, process.env, head, reason, size);
      reason = id ? `${reason} (audit event ${id})` : `${reason} (the audit record could not be written either)`;
    }
    answer(failureOutput(event, reason));
  };
  const internal = (e: unknown): void => failClosed(`internal error: ${e instanceof Error ? e.message : String(e)}`);
  process.on('uncaughtException', internal);
  process.on('unhandledRejection', internal);
  process.stdout.on('error', () => process.exit(0));
  const timer = setTimeout(() => failClosed(`no decision within ${deadlineMs} ms`), deadlineMs);
  timer.unref();

  const onChunk = (chunk: Buffer): void => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxInput) {
      tooLarge = true;
      if (!chunks.length) chunks.push(chunk.subarray(0, 4096));
      failClosed(`hook input larger than ${maxInput} bytes`);
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    if (tooLarge || answered) return;
    try {
      answer(runHook(argv, Buffer.concat(chunks).toString('utf8'), { started, deadline: started + deadlineMs - ANSWER_RESERVE_MS }));
    } catch (e) {
      internal(e);
    }
  };
  process.stdin.on('data', onChunk);
  process.stdin.on('error', (e) => failClosed(`cannot read hook input: ${e.message}`));
  process.stdin.on('end', onEnd);
}
