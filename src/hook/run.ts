/**
 * What the hook does with one payload, without process plumbing (so the CLI's `warden hook` and tests
 * share it). Returns the hook output; throws only on internal errors, which the caller turns into a deny.
 */
import type { HookInput } from '../core/types';
import { machineContext } from '../runtime/context';
import { Engine } from '../runtime/engine';
import { nodeFsProbe } from '../runtime/fsProbe';
import { loadPolicyRef } from '../runtime/policySource';
import { denyOutput, preToolUseOutput, type HookOutput } from './output';

const MAX_DEPTH = 64;

export interface HookArgs {
  policy?: string;
  home?: string;
}

export function parseHookArgs(argv: string[]): HookArgs {
  const out: HookArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const val = eq > 0 ? a.slice(eq + 1) : argv[i + 1];
    if (name === '--policy' || name === '--home') {
      if (val === undefined) throw new Error(`${name} needs a value`);
      if (eq < 0) i++;
      if (name === '--policy') out.policy = val;
      else out.home = val;
    } else throw new Error(`unknown hook argument ${JSON.stringify(a)}`);
  }
  return out;
}

function depthOf(v: unknown, limit: number): number {
  const stack: [unknown, number][] = [[v, 1]];
  let max = 0;
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (x && typeof x === 'object') for (const y of Object.values(x)) if (y && typeof y === 'object') stack.push([y, d + 1]);
  }
  return max;
}

export function runHook(argv: string[], raw: string, timing: { started: number; deadline: number }): HookOutput {
  let args: HookArgs;
  try {
    args = parseHookArgs(argv);
  } catch (e) {
    return denyOutput(`the hook is misconfigured: ${(e as Error).message}`);
  }
  if (!raw.trim()) return denyOutput('empty hook input');
  let input: HookInput;
  try {
    input = JSON.parse(raw) as HookInput;
  } catch (e) {
    return denyOutput(`hook input is not valid JSON (${(e as Error).message})`);
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) return denyOutput('hook input is not a JSON object');
  if (depthOf(input, MAX_DEPTH) > MAX_DEPTH) return denyOutput(`hook input is nested deeper than ${MAX_DEPTH} levels`);
  const event = typeof input.hook_event_name === 'string' ? input.hook_event_name : 'PreToolUse';
  if (event !== 'PreToolUse') return {};

  const machine = machineContext(args.home ? { stateDir: args.home } : {});
  let engine: Engine;
  try {
    const policy = loadPolicyRef(args.policy ?? 'builtin:baseline');
    engine = new Engine(policy, machine, nodeFsProbe(), process.env.CLAUDE_PROJECT_DIR);
  } catch (e) {
    return denyOutput(`the policy could not be loaded: ${(e as Error).message}`);
  }
  const { decision } = engine.decide(input, timing.deadline);
  return preToolUseOutput(decision);
}
