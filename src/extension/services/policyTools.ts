/**
 * Policy authoring helpers behind "Test Policy" and "Simulate Tool Call" (no vscode import): run policy
 * test suites the way `warden test` does and report failures with file positions; evaluate one tool call
 * against a policy with the hook's own engine. The YAML/zod loader is required on first use only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PolicyDoc } from '../../core/policy/schema';
import type { Decision, Facts, HookInput } from '../../core/types';

type LoadModule = typeof import('../../core/policy/load');
function loader(): LoadModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../core/policy/load') as LoadModule;
}

export interface Problem {
  file: string;
  /** 1-based; 0 when unknown. */
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface CaseOutcome {
  name: string;
  line: number;
  pass: boolean;
  failures: string[];
  effect: string;
  ruleIds: string[];
}

export interface SuiteOutcome {
  file: string;
  suite: string;
  policy?: string;
  cases: CaseOutcome[];
  problems: Problem[];
}

/** Does this YAML text look like a policy test suite / a policy? (cheap, before parsing) */
export function looksLikeSuite(text: string): boolean {
  return /^suite\s*:/m.test(text) && /^cases\s*:/m.test(text);
}
export function looksLikePolicy(text: string): boolean {
  return /^apiVersion\s*:\s*["']?agentwarden\.dev\/v1/m.test(text) && /^kind\s*:\s*["']?Policy\b/m.test(text);
}

function diagnostics(e: unknown, file: string): Problem[] {
  const d = e as { diagnostics?: { file: string; line: number; col: number; message: string }[] };
  if (Array.isArray(d.diagnostics)) return d.diagnostics.map((x) => ({ file: x.file, line: x.line, col: x.col, message: x.message, severity: 'error' }));
  return [{ file, line: 0, col: 0, message: (e as Error).message ?? String(e), severity: 'error' }];
}

/** Resolve a suite's `policy:` reference (relative to the suite, or builtin:…) and load it. */
export function loadSuitePolicy(ref: string, suiteFile: string, texts: (file: string) => string | undefined): { policy: PolicyDoc; file: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { builtinPolicy, builtinPolicyFile, isBuiltin } = require('../../runtime/builtin') as typeof import('../../runtime/builtin');
  if (isBuiltin(ref)) return { policy: builtinPolicy(ref), file: builtinPolicyFile() };
  const file = path.resolve(path.dirname(suiteFile), ref);
  const text = texts(file) ?? fs.readFileSync(file, 'utf8');
  return { policy: loader().parsePolicy(text, file), file };
}

/**
 * Run one suite. `texts` gives the current (possibly unsaved) text of open documents by absolute path.
 */
export function runSuite(file: string, texts: (file: string) => string | undefined = () => undefined): SuiteOutcome {
  const text = texts(file) ?? fs.readFileSync(file, 'utf8');
  const out: SuiteOutcome = { file, suite: path.basename(file), cases: [], problems: [] };
  const L = loader();
  let suite;
  try {
    suite = L.parseTestSuite(text, file);
  } catch (e) {
    out.problems.push(...diagnostics(e, file));
    return out;
  }
  out.suite = suite.suite;
  let policy: PolicyDoc;
  try {
    const p = loadSuitePolicy(suite.policy, file, texts);
    policy = p.policy;
    out.policy = p.file;
  } catch (e) {
    const probs = diagnostics(e, file);
    // A broken policy is reported where it is broken, and at the suite's `policy:` line.
    out.problems.push(...probs, { file, line: lineOf(text, /^policy\s*:/m), col: 1, message: `the policy ${suite.policy} cannot be loaded: ${probs[0]?.message ?? ''}`, severity: 'error' });
    return out;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SuiteRunner } = require('../../core/policy/testing') as typeof import('../../core/policy/testing');
  const runner = new SuiteRunner(suite, policy);
  const lines = L.testCaseLines(text);
  suite.cases.forEach((c, i) => {
    const r = runner.runCase(c, lines[i]);
    out.cases.push({ name: r.name, line: r.line ?? 0, pass: r.pass, failures: r.failures, effect: r.decision.verdict, ruleIds: r.decision.ruleIds });
    if (!r.pass) out.problems.push({ file, line: r.line ?? 0, col: 1, message: `${r.name}: ${r.failures.join('; ')}`, severity: 'error' });
  });
  return out;
}

function lineOf(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m ? text.slice(0, m.index).split('\n').length : 0;
}

/** Suites in a policy file's folder that test it (their `policy:` resolves to it). */
export function suitesFor(policyFile: string, candidates: string[], texts: (f: string) => string | undefined = () => undefined): string[] {
  const target = path.resolve(policyFile);
  return candidates.filter((f) => {
    let text: string;
    try {
      text = texts(f) ?? fs.readFileSync(f, 'utf8');
    } catch {
      return false;
    }
    const m = /^policy\s*:\s*["']?([^"'\n#]+?)["']?\s*(?:#.*)?$/m.exec(text);
    return !!m && path.resolve(path.dirname(f), m[1]!.trim()) === target;
  });
}

export interface Simulation {
  decision: Decision;
  facts: Facts;
  input: HookInput;
}

/** Evaluate one tool call with the hook's engine (real file-system probing, the machine's context). */
export function simulate(policy: PolicyDoc, tool: string, toolInput: unknown, o: { projectDir?: string; stateDir?: string; env?: NodeJS.ProcessEnv } = {}): Simulation {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Engine } = require('../../runtime/engine') as typeof import('../../runtime/engine');
  const { machineContext } = require('../../runtime/context') as typeof import('../../runtime/context');
  const { nodeFsProbe } = require('../../runtime/fsProbe') as typeof import('../../runtime/fsProbe');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const env = o.env ?? process.env;
  const machine = machineContext({ env, ...(o.stateDir ? { stateDir: o.stateDir } : {}) });
  const engine = new Engine(policy, machine, nodeFsProbe(), o.projectDir);
  const input: HookInput = {
    session_id: 'agent-warden-simulation',
    hook_event_name: 'PreToolUse',
    permission_mode: 'default',
    cwd: o.projectDir ?? machine.home,
    tool_name: tool,
    tool_input: toolInput,
    tool_use_id: 'toolu_simulation',
  };
  const r = engine.decide(input);
  return { decision: r.decision, facts: r.facts, input };
}

/** Parse a policy from (possibly unsaved) editor text. Throws with diagnostics. */
export function parsePolicyText(text: string, file: string): PolicyDoc {
  return loader().parsePolicy(text, file);
}

export function problemsOf(e: unknown, file: string): Problem[] {
  return diagnostics(e, file);
}
