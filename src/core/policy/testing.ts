/**
 * Policy test suites (`warden test`, and the decision corpus run by `npm test`): each case is a hook input
 * and the expected verdict and rule ids, evaluated against a deterministic environment (home, workspace,
 * virtual file system), like `opa test`.
 */
import { compilePolicy, type CompiledPolicy, type CompileEnv } from '../evaluate/compile';
import { evaluate } from '../evaluate/evaluate';
import { extractFacts, type AnalysisEnv } from '../facts/extract';
import type { Decision, Facts, HookInput } from '../types';
import type { PolicyDoc, TestCaseDoc, TestEnvDoc, TestSuiteDoc } from './schema';
import { virtualFsProbe } from './virtualFs';

export interface CaseResult {
  name: string;
  line?: number;
  pass: boolean;
  failures: string[];
  decision: Decision;
  facts: Facts;
}

export const DEFAULT_TEST_ENV = {
  home: '/home/dev',
  user: 'dev',
  workspace: '/home/dev/project',
  platform: 'linux' as const,
};

interface ResolvedEnv {
  home: string;
  user: string;
  workspace: string;
  cwd: string;
  stateDir: string;
  platform: 'linux' | 'darwin' | 'win32';
  vars: Record<string, string>;
  fs?: TestEnvDoc['fs'];
}

function resolveEnv(...layers: (TestEnvDoc | undefined)[]): ResolvedEnv {
  const merged: TestEnvDoc = {};
  for (const l of layers) if (l) Object.assign(merged, l, { vars: { ...merged.vars, ...l.vars } });
  const home = merged.home ?? DEFAULT_TEST_ENV.home;
  const workspace = merged.workspace ?? (merged.home ? `${home}/project` : DEFAULT_TEST_ENV.workspace);
  const env: ResolvedEnv = {
    home,
    user: merged.user ?? (merged.home ? home.split('/').pop() || 'dev' : DEFAULT_TEST_ENV.user),
    workspace,
    cwd: merged.cwd ?? workspace,
    stateDir: merged.stateDir ?? `${home}/.agent-warden`,
    platform: merged.platform ?? DEFAULT_TEST_ENV.platform,
    vars: { HOME: home, ...merged.vars },
  };
  if (merged.fs) env.fs = merged.fs;
  return env;
}

export function testCompileEnv(env: ResolvedEnv): CompileEnv {
  return {
    home: env.home,
    workspace: env.workspace,
    stateDir: env.stateDir,
    claudeDir: `${env.home}/.claude`,
    tmpDir: '/tmp',
    caseInsensitive: env.platform !== 'linux',
    vars: { GUARD_DIR: `${env.home}/.vscode/extensions/agent-warden.agent-warden-0.1.0/dist` },
  };
}

/** The hook payload a case stands for. */
export function caseInput(c: TestCaseDoc, env: { cwd: string }): HookInput {
  if (c.tool) {
    return {
      session_id: 'test-session',
      hook_event_name: 'PreToolUse',
      permission_mode: 'default',
      cwd: env.cwd,
      tool_name: c.tool,
      tool_input: c.input,
      tool_use_id: 'toolu_test',
      ...(c.hook ?? {}),
    };
  }
  return c.input as HookInput;
}

export class SuiteRunner {
  private readonly compiled = new Map<string, CompiledPolicy>();

  constructor(
    readonly suite: TestSuiteDoc,
    readonly policy: PolicyDoc,
  ) {}

  runCase(c: TestCaseDoc, line?: number): CaseResult {
    const env = resolveEnv(this.suite.env, c.env);
    const key = JSON.stringify([env.home, env.workspace, env.stateDir, env.platform]);
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = compilePolicy(this.policy, testCompileEnv(env));
      this.compiled.set(key, compiled);
    }
    const analysis: AnalysisEnv = { home: env.home, user: env.user, platform: env.platform, workspace: env.workspace, vars: env.vars };
    if (c.session) analysis.session = caseSession(c.session);
    if (env.fs) analysis.fs = virtualFsProbe(env.fs);
    const facts = extractFacts(caseInput(c, env), analysis);
    const decision = evaluate(compiled, facts);
    const failures = checkExpectations(c, decision);
    const result: CaseResult = { name: c.name, pass: failures.length === 0, failures, decision, facts };
    if (line !== undefined) result.line = line;
    return result;
  }

  runAll(lines: number[] = []): CaseResult[] {
    return this.suite.cases.map((c, i) => this.runCase(c, lines[i]));
  }
}

/** The session state a test case declares, as the hook would have read it. */
function caseSession(s: NonNullable<TestCaseDoc['session']>): NonNullable<AnalysisEnv['session']> {
  const out: NonNullable<AnalysisEnv['session']> = {};
  if (s.taint) out.taint = s.taint.map((t) => ({ kind: t.kind, tool: t.tool ?? 'WebFetch', source: t.source ?? '', at: '2026-01-01T00:00:00.000Z', signals: t.signals ?? [] }));
  if (s.mcp) out.mcp = Object.fromEntries(Object.entries(s.mcp).map(([k, status]) => [k, { status }]));
  return out;
}

export function checkExpectations(c: TestCaseDoc, d: Decision): string[] {
  const e = c.expect;
  const failures: string[] = [];
  if (d.verdict !== e.effect) failures.push(`expected ${e.effect}, got ${d.verdict}${d.ruleIds.length ? ` (rules ${d.ruleIds.join(', ')})` : ''}: ${d.reason}`);
  if (e.enforced && d.effect !== e.enforced) failures.push(`expected enforced effect ${e.enforced}, got ${d.effect}`);
  for (const id of e.ruleIds ?? []) if (!d.ruleIds.includes(id)) failures.push(`expected rule ${id} among the deciding rules, got [${d.ruleIds.join(', ')}]`);
  const matched = d.matches.map((m) => m.ruleId);
  for (const id of e.notRuleIds ?? []) if (matched.includes(id)) failures.push(`rule ${id} matched but should not have`);
  if (e.unanalyzable !== undefined && (d.unanalyzable.length > 0) !== e.unanalyzable) {
    failures.push(e.unanalyzable ? 'expected the call to be unanalysable' : `unexpectedly unanalysable: ${d.unanalyzable.join('; ')}`);
  }
  return failures;
}
