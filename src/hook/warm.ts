/**
 * Code-cache warm-up. The loader (loader.ts) writes the V8 code cache when a run finds none, at that run's
 * exit, and the cache holds the functions that run compiled. The first run after an install is usually a
 * SessionStart or a PostToolUse, which compile little of what PreToolUse needs; every later PreToolUse would
 * then compile its functions again on each call. So before the cache is written, the loader calls `warm()`:
 * pure, in-memory work (no file, no audit record) along the PreToolUse path, so the cache holds it. Only that
 * path: every function in the cache is deserialised on every run, so PostToolUse's scanners stay out of it
 * (they compile when a PostToolUse needs them). It runs once per build and machine, after the answer was written.
 */
import { buildDecisionEvent } from '../core/audit/event';
import { compilePolicy } from '../core/evaluate/compile';
import { evaluate } from '../core/evaluate/evaluate';
import { extractFacts } from '../core/facts/extract';
import type { HookInput } from '../core/types';
import { builtinPolicy } from '../runtime/builtin';
import { preToolUseOutput } from './output';

export function warm(): void {
  const home = '/home/warm';
  const ws = `${home}/project`;
  const compiled = compilePolicy(builtinPolicy('builtin:baseline'), { home, workspace: ws, stateDir: `${home}/.agent-warden`, claudeDir: `${home}/.claude`, tmpDir: '/tmp', caseInsensitive: false });
  const env = { home, user: 'warm', platform: 'linux' as const, workspace: ws, vars: { HOME: home } };
  const ctx = { actor: { user: 'warm', deviceId: 'warm', host: 'warm' }, client: { version: 'warm', os: 'linux-x64' } };
  const calls: [string, Record<string, unknown>][] = [
    ['Bash', { command: 'cd src && npm run build -- --mode=production && git status | grep -v x > /tmp/out.txt; curl -s https://api.example.com/v1/x' }],
    ['Read', { file_path: `${ws}/src/index.ts` }],
    ['Write', { file_path: `${ws}/src/a.ts`, content: 'export const a = 1;\n' }],
    ['WebFetch', { url: 'https://docs.example.com/guide', prompt: 'summarize' }],
  ];
  for (const [tool, toolInput] of calls) {
    const input: HookInput = { hook_event_name: 'PreToolUse', session_id: 'warm', cwd: ws, tool_name: tool, tool_input: toolInput, tool_use_id: 'toolu_warm' };
    const d = evaluate(compiled, extractFacts(input, { ...env, session: { taint: [{ kind: 'injection', tool: 'WebFetch', source: 'x', at: new Date(0).toISOString(), signals: [] }] } }));
    buildDecisionEvent(input, d, ctx, { latencyMs: 0 });
    preToolUseOutput(d, 'warm');
  }
}
