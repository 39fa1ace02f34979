import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatDiagnostic, parseTestSuite, PolicyError, testCaseLines } from '../../core/policy/load';
import { SuiteRunner, type CaseResult } from '../../core/policy/testing';
import { builtinPolicyFile, isBuiltin } from '../../runtime/builtin';
import { loadPolicyRef } from '../../runtime/policySource';
import { parseArgs } from '../args';
import type { Command } from '../types';

export const BASELINE_SUITE = 'baseline.tests.yaml';

export interface SuiteReport {
  file: string;
  suite: string;
  results: CaseResult[];
  error?: string;
}

/** Load and run one suite file; policy references are relative to the suite. */
export function runSuiteFile(file: string, filter?: string): SuiteReport {
  const text = fs.readFileSync(file, 'utf8');
  const suite = parseTestSuite(text, file);
  const ref = isBuiltin(suite.policy) ? suite.policy : path.resolve(path.dirname(file), suite.policy);
  const policy = loadPolicyRef(ref);
  const runner = new SuiteRunner(suite, policy);
  const lines = testCaseLines(text);
  const results: CaseResult[] = [];
  suite.cases.forEach((c, i) => {
    if (filter && !c.name.includes(filter)) return;
    results.push(runner.runCase(c, lines[i]));
  });
  return { file, suite: suite.suite, results };
}

export const test: Command = {
  name: 'test',
  summary: 'Run policy test suites (cases: input → expected effect and rule ids)',
  help: `Usage: warden test [suite.yaml...] [--filter <text>] [--verbose] [--json]

Runs policy test suites. Each case gives a tool call and the expected effect (allow, deny, ask)
and, optionally, the rule ids that must decide it. Without files, runs the built-in baseline's
own suite. Exit code 0 when every case passes, 1 otherwise.

Options:
  --filter <text>  only cases whose name contains <text>
  --verbose        list passing cases too
  --json           one JSON report on stdout`,
  async run(args, io) {
    const { values, positionals } = parseArgs(args, {
      filter: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      json: { type: 'boolean' },
    });
    const files = positionals.length ? positionals : [path.join(path.dirname(builtinPolicyFile()), BASELINE_SUITE)];
    const reports: SuiteReport[] = [];
    for (const file of files) {
      try {
        reports.push(runSuiteFile(file, values.filter));
      } catch (e) {
        const msg = e instanceof PolicyError ? e.diagnostics.map(formatDiagnostic).join('\n') : `${file}: ${(e as Error).message}`;
        reports.push({ file, suite: file, results: [], error: msg });
      }
    }
    const passed = reports.reduce((n, r) => n + r.results.filter((x) => x.pass).length, 0);
    const failed = reports.reduce((n, r) => n + r.results.filter((x) => !x.pass).length, 0);
    const broken = reports.filter((r) => r.error).length;
    if (values.json) {
      io.out(JSON.stringify({
        passed,
        failed,
        suites: reports.map((r) => ({
          file: r.file,
          suite: r.suite,
          error: r.error,
          cases: r.results.map((c) => ({ name: c.name, line: c.line, pass: c.pass, failures: c.failures, effect: c.decision.verdict, ruleIds: c.decision.ruleIds })),
        })),
      }, null, 2));
    } else {
      for (const r of reports) {
        if (r.error) {
          io.err(r.error);
          continue;
        }
        io.out(`${r.suite} (${r.file})`);
        for (const c of r.results) {
          if (c.pass && !values.verbose) continue;
          io.out(`  ${c.pass ? '✓' : '✗'} ${c.name}${c.pass ? '' : `  (${r.file}:${c.line ?? 0})`}`);
          for (const f of c.failures) io.out(`      ${f}`);
        }
      }
      io.out(`${passed} passed, ${failed} failed${broken ? `, ${broken} suite(s) could not be loaded` : ''}`);
    }
    return failed || broken ? 1 : 0;
  },
};
