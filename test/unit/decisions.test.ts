/**
 * The decision corpus: every policy test suite under test/cases/decisions/ and the baseline's own suite,
 * one named test per case (the same runner `warden test` uses).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTestSuite, testCaseLines } from '../../src/core/policy/load';
import { SuiteRunner } from '../../src/core/policy/testing';
import { isBuiltin } from '../../src/runtime/builtin';
import { loadPolicyRef } from '../../src/runtime/policySource';

const ROOT = path.resolve(__dirname, '../../..');
const dir = path.join(ROOT, 'test/cases/decisions');
const files = [
  path.join(ROOT, 'policies/baseline.tests.yaml'),
  ...(fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f)) : []),
];

for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const suite = parseTestSuite(text, file);
  const lines = testCaseLines(text);
  const policy = loadPolicyRef(isBuiltin(suite.policy) ? suite.policy : path.resolve(path.dirname(file), suite.policy));
  const runner = new SuiteRunner(suite, policy);
  describe(`decisions: ${path.relative(ROOT, file)} (${suite.suite})`, () => {
    suite.cases.forEach((c, i) => {
      it(c.name, () => {
        const r = runner.runCase(c, lines[i]);
        assert.deepEqual(r.failures, [], `${path.relative(ROOT, file)}:${lines[i]}: ${JSON.stringify(c.input)}\n  ${r.failures.join('\n  ')}`);
      });
    });
  });
}
