/**
 * The scan corpus (test/cases/scan/): real-looking tool inputs decided by builtin:baseline (secrets written,
 * sent, smuggled; benign look-alikes) and tool outputs scanned as PostToolUse does (credentials, prompt
 * injection, benign look-alikes), one named test per case; then precision and recall over the corpus.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compilePolicy } from '../../src/core/evaluate/compile';
import { outputActions, scanOutput } from '../../src/core/scan/output';
import { SuiteRunner } from '../../src/core/policy/testing';
import type { TestCaseDoc } from '../../src/core/policy/schema';
import { builtinPolicy } from '../../src/runtime/builtin';
import { resolveJoins } from '../support/joins';

const ROOT = path.resolve(__dirname, '../../..');

interface InputCase {
  name: string;
  attack?: boolean;
  limitation?: string;
  encoding?: string;
  tool: string;
  input: unknown;
  expect: TestCaseDoc['expect'];
}
interface OutputCase {
  name: string;
  attack: boolean;
  tool: string;
  response: unknown;
  expect: { secrets?: string[]; injection?: string[]; severity?: 'high' | 'medium' | 'low'; action?: 'record' | 'warn' | 'taint' };
}

const inputs = (resolveJoins(JSON.parse(fs.readFileSync(path.join(ROOT, 'test/cases/scan/inputs.json'), 'utf8'))) as { cases: InputCase[] }).cases;
const outputs = (resolveJoins(JSON.parse(fs.readFileSync(path.join(ROOT, 'test/cases/scan/outputs.json'), 'utf8'))) as { cases: OutputCase[] }).cases;
const policy = builtinPolicy('builtin:baseline');
const runner = new SuiteRunner({ suite: 'scan inputs', policy: 'builtin:baseline', cases: [{ name: 'x', input: {}, expect: { effect: 'allow' } }] }, policy);
const compiled = compilePolicy(policy, { home: '/home/dev', workspace: '/home/dev/project', stateDir: '/home/dev/.agent-warden', claudeDir: '/home/dev/.claude', tmpDir: '/tmp', caseInsensitive: false });

interface Tally {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}
const tally = (): Tally => ({ tp: 0, fp: 0, fn: 0, tn: 0 });
const count = (t: Tally, truth: boolean, predicted: boolean): void => {
  if (truth && predicted) t.tp++;
  else if (truth) t.fn++;
  else if (predicted) t.fp++;
  else t.tn++;
};
const pr = (t: Tally): string => {
  const p = t.tp + t.fp ? t.tp / (t.tp + t.fp) : 1;
  const r = t.tp + t.fn ? t.tp / (t.tp + t.fn) : 1;
  return `precision ${(p * 100).toFixed(1)}% recall ${(r * 100).toFixed(1)}% (tp ${t.tp}, fp ${t.fp}, fn ${t.fn}, tn ${t.tn})`;
};

const inputTally = tally();
const outputWarn = tally();
const outputTaint = tally();

describe('scan corpus: secrets in tool inputs (test/cases/scan/inputs.json, builtin:baseline)', () => {
  for (const c of inputs) {
    it(c.name, () => {
      const r = runner.runCase({ name: c.name, tool: c.tool, input: c.input, expect: c.expect });
      assert.deepEqual(r.failures, [], `${c.name}: ${JSON.stringify(r.decision.matches.map((m) => [m.ruleId, m.facts.map((f) => f.text)]))}`);
      const secretRules = r.decision.matches.filter((m) => m.ruleId.startsWith('secrets.send') || m.ruleId === 'secrets.hardcode' || m.ruleId === 'secrets.in-command');
      if (c.encoding) {
        assert.ok((r.facts.secrets ?? []).some((s) => s.encoding === c.encoding && !s.placeholder), `no secret fact with encoding ${c.encoding}: ${JSON.stringify(r.facts.secrets)}`);
      }
      // Facts never carry the value: only kind, place, length and fingerprint.
      const json = JSON.stringify(r.facts.secrets ?? []);
      for (const s of r.facts.secrets ?? []) assert.ok(!/[A-Za-z0-9]{16,}/.test(json.replace(s.fingerprint, '')) || !json.includes('ghp_'), 'a secret value leaked into the facts');
      count(inputTally, !!c.attack, secretRules.length > 0);
    });
  }
});

describe('scan corpus: tool outputs (test/cases/scan/outputs.json)', () => {
  for (const c of outputs) {
    it(c.name, () => {
      const scan = scanOutput(c.response, { maxChars: compiled.scan.maxChars, injection: compiled.scan.injectionTool(c.tool), ignore: compiled.scan.ignore });
      const secrets = [...new Set(scan.signals.filter((s) => s.type === 'secret').map((s) => s.kind))].sort();
      const injection = scan.signals.filter((s) => s.type === 'injection');
      const kinds = new Set(injection.map((s) => s.kind));
      const detail = JSON.stringify(scan.signals.map((s) => [s.type, s.kind, s.severity, s.detail]));
      assert.deepEqual(secrets, [...(c.expect.secrets ?? [])].sort(), `secret kinds: ${detail}`);
      for (const k of c.expect.injection ?? []) assert.ok(kinds.has(k as never), `expected injection signal ${k}: ${detail}`);
      const decided = outputActions(scan.signals, compiled.scan);
      assert.equal(decided.top ?? 'none', c.expect.severity ?? 'none', `top severity: ${detail}`);
      const action = decided.actions.has('taint') ? 'taint' : decided.actions.has('warn') ? 'warn' : 'record';
      assert.equal(action, c.expect.action ?? 'record', `action: ${detail}`);
      // What is stored and shown is safe: no excerpt keeps a credential.
      for (const s of scan.signals) assert.ok(!/gh[pousr]_[A-Za-z0-9]{20}|AKIA[A-Z0-9]{12}|sk_live_[A-Za-z0-9]{10}/.test(s.excerpt), `excerpt leaks a secret: ${s.excerpt}`);
      count(outputWarn, c.attack, action !== 'record');
      count(outputTaint, c.attack, action === 'taint');
    });
  }
});

describe('scan corpus: precision and recall', () => {
  it('are reported (and every attack is caught or a documented limitation)', function () {
    const lines = [
      `inputs (${inputs.length} cases; positive = a secrets.* rule decided): ${pr(inputTally)}`,
      `outputs (${outputs.length} cases; positive = the model is warned or the session tainted): ${pr(outputWarn)}`,
      `outputs (positive = the session is tainted): ${pr(outputTaint)}`,
    ];
    console.log(`      ${lines.join('\n      ')}`);
    const misses = inputs.filter((c) => c.attack && c.limitation).length;
    assert.equal(inputTally.fn, misses, 'an input attack is missed without being listed as a limitation');
    assert.equal(inputTally.fp, 0, 'a benign input triggered a secret rule');
  });
});
