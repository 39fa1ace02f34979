/**
 * Real audit decision events for the extension's UI-logic tests: the call is decided by the real engine
 * on a real policy (the built-in baseline unless given), and the event is built by the audit module's own
 * builder, exactly as the hook records it. No vscode import.
 */
import { buildDecisionEvent, type AuditContext, type AuditEvent, type DecisionData } from '../../../src/core/audit/event';
import type { PolicyDoc } from '../../../src/core/policy/schema';
import { evaluate } from '../../../src/core/evaluate/evaluate';
import { extractFacts } from '../../../src/core/facts/extract';
import type { HookInput, TaintFact } from '../../../src/core/types';
import { inputSignals } from '../../../src/hook/signals';
import { builtinPolicy } from '../../../src/runtime/builtin';
import { analysisEnv, machineContext } from '../../../src/runtime/context';
import { Engine } from '../../../src/runtime/engine';

export const HOME = '/home/dev';
export const PROJECT = '/home/dev/project';

const ctx: AuditContext = { actor: { user: 'dev', deviceId: 'dev-test-device', host: 'devbox' }, client: { version: '0.1.0', os: 'linux-x64' } };

let seq = 0;

export interface CallOptions {
  session?: string;
  cwd?: string;
  time?: number;
  policy?: PolicyDoc;
  hook?: Partial<HookInput>;
}

export function hookInput(tool: string, toolInput: unknown, o: CallOptions = {}): HookInput {
  return {
    session_id: o.session ?? 'session-aaaa1111',
    transcript_path: '',
    cwd: o.cwd ?? PROJECT,
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: tool,
    tool_input: toolInput,
    tool_use_id: `toolu_${++seq}`,
    ...o.hook,
  };
}

/** Decide a call with the real engine and record it as the hook does; returns the stored-form event. */
export function decisionEvent(tool: string, toolInput: unknown, o: CallOptions = {}): AuditEvent<DecisionData> {
  const policy = o.policy ?? builtinPolicy('builtin:baseline');
  const machine = machineContext({ env: { HOME, USER: 'dev' }, stateDir: `${HOME}/.agent-warden` });
  const input = hookInput(tool, toolInput, o);
  const decision = new Engine(policy, machine, undefined, o.cwd ?? PROJECT).decide(input).decision;
  const draft = buildDecisionEvent(input, decision, { ...ctx, now: o.time ?? Date.now() }, { latencyMs: 1.5 });
  const s = ++seq;
  return { seq: s, prev: `sha256:${'0'.repeat(64)}`, ...draft };
}

/**
 * A call decided in a session the hook has marked tainted, recorded with the content signals behind the
 * decision, exactly as the hook's PreToolUse path builds them (src/hook/run.ts, signals.ts).
 */
export function taintedDecisionEvent(tool: string, toolInput: unknown, taint: TaintFact[], o: CallOptions = {}): AuditEvent<DecisionData> {
  const policy = o.policy ?? builtinPolicy('builtin:baseline');
  const machine = machineContext({ env: { HOME, USER: 'dev' }, stateDir: `${HOME}/.agent-warden` });
  const input = hookInput(tool, toolInput, o);
  const engine = new Engine(policy, machine, undefined, o.cwd ?? PROJECT);
  const compiled = engine.compiledFor(engine.workspaceFor(input));
  const facts = extractFacts(input, { ...analysisEnv(machine, engine.workspaceFor(input), undefined), secrets: compiled.uses.secret, session: { taint } });
  const decision = evaluate(compiled, facts);
  const draft = buildDecisionEvent(input, decision, { ...ctx, now: o.time ?? Date.now() }, { latencyMs: 1.5, signals: inputSignals(facts) });
  return { seq: ++seq, prev: `sha256:${'0'.repeat(64)}`, ...draft };
}
