/**
 * "Why was this blocked?": the details panel's HTML (strict CSP, no inline script or style, every value
 * escaped) and "copy as policy test case". Pure: the webview layer passes the CSP source, the nonce and the
 * asset URIs.
 */
import { canRequestException, KIND_LABELS, type DecisionEntry } from './decisions';
import { escapeHtml } from './format';

export interface DetailsAssets {
  /** webview.cspSource */
  cspSource: string;
  /** A fresh random nonce per render. */
  nonce: string;
  styleUri: string;
  scriptUri: string;
}

export interface DetailsExtras {
  /** Where the deciding rule is defined ("policies/baseline.yaml:318"), when known. */
  ruleSource?: string;
  /** The rule's exception settings, when known. */
  exception?: { allowed: boolean; maxDuration?: string };
  /** Status of an exception requested for this call ("pending", "approved until 14:05"). */
  exceptionStatus?: string;
}

/** The Content-Security-Policy of the panel: nothing but our own stylesheet and one nonce'd script. */
export function detailsCsp(a: Pick<DetailsAssets, 'cspSource' | 'nonce'>): string {
  return `default-src 'none'; style-src ${a.cspSource}; script-src 'nonce-${a.nonce}'; img-src ${a.cspSource}; font-src ${a.cspSource}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

const h = escapeHtml;

function row(label: string, value: string | null | undefined, id?: string): string {
  if (value === null || value === undefined || value === '') return '';
  return `<dt>${h(label)}</dt><dd${id ? ` id="${id}"` : ''}>${h(value)}</dd>`;
}

export function detailsHtml(e: DecisionEntry, a: DetailsAssets, x: DetailsExtras = {}): string {
  const deciding = e.matched.filter((m) => !e.ruleIds.length || e.ruleIds.includes(m.ruleId));
  const facts = deciding.flatMap((m) => m.facts.map((f) => ({ rule: m.ruleId, text: f })));
  const others = e.matched.filter((m) => !deciding.includes(m));
  const inputText = e.input === null ? (e.inputTruncated ? '(too large to keep in the view: see the audit log)' : '(none)') : JSON.stringify(e.input, null, 2);
  const canRequest = canRequestException(e) && x.exception?.allowed !== false;
  const requestTitle = x.exception?.allowed === false ? 'The policy does not allow exceptions for this rule' : canRequest ? `Ask for a temporary exception${x.exception?.maxDuration ? ` (at most ${x.exception.maxDuration})` : ''}` : 'Only calls a rule denied or asked about can get an exception';
  const rules = e.ruleIds.length ? e.ruleIds : [];
  const heading = `${KIND_LABELS[e.kind]}: ${e.tool}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${h(detailsCsp(a))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${h(a.styleUri)}">
<title>${h(heading)}</title>
</head>
<body class="kind-${e.kind}" data-event-id="${h(e.id)}">
<header>
  <h1 id="heading">${h(heading)}</h1>
  ${e.summary ? `<p class="summary"><code id="summary">${h(e.summary)}</code></p>` : ''}
</header>
<section>
  <h2>Rule</h2>
  ${rules.length ? `<p><code id="rule">${h(rules.join(', '))}</code>${x.ruleSource ? ` <span class="muted" id="rule-source">${h(x.ruleSource)}</span>` : ''}</p>` : '<p id="rule" class="muted">No rule: the policy\'s default or its rule for calls it cannot analyse decided.</p>'}
  <h2>Why</h2>
  <p id="reason">${h(e.reason || '(no reason recorded)')}</p>
  ${e.remediation ? `<h2>What to do instead</h2><p id="remediation">${h(e.remediation)}</p>` : ''}
  ${x.exceptionStatus ? `<p class="badge" id="exception-status">Exception: ${h(x.exceptionStatus)}</p>` : ''}
  ${e.mode === 'observe' && e.kind !== 'allow' ? '<p class="badge">Observe mode: the call was not blocked; this is what the policy would have done.</p>' : ''}
</section>
<section>
  <h2>What matched</h2>
  ${facts.length ? `<ul id="facts">${facts.map((f) => `<li><code>${h(f.text)}</code>${rules.length > 1 ? ` <span class="muted">(${h(f.rule)})</span>` : ''}</li>`).join('')}</ul>` : '<p class="muted" id="facts">No recorded facts.</p>'}
  ${e.unanalyzable.length ? `<h3>Could not be analysed</h3><ul>${e.unanalyzable.map((u) => `<li>${h(u)}</li>`).join('')}</ul>` : ''}
  ${others.length ? `<h3>Other rules that matched</h3><ul>${others.map((m) => `<li><code>${h(m.ruleId)}</code> ${h(m.effect)}${m.mode === 'observe' ? ' (observe)' : ''}</li>`).join('')}</ul>` : ''}
</section>
${e.signals.length ? `<section>
  <h2>Content signals</h2>
  <ul id="signals">${e.signals.map((sg) => `<li><span class="badge">${h(sg.type)}: ${h(sg.kind)}${sg.severity ? ` (${h(sg.severity)})` : ''}</span> ${h(sg.detail)}${sg.where ? ` <span class="muted">in ${h(sg.where)}</span>` : ''}${sg.tool || sg.source ? `<br><span class="muted">from ${h([sg.tool, sg.source].filter(Boolean).join(' '))}${sg.eventId ? `, event <code>${h(sg.eventId)}</code>` : ''}</span>` : sg.eventId ? ` <span class="muted">event <code>${h(sg.eventId)}</code></span>` : ''}${sg.excerpt ? `<pre>${h(sg.excerpt)}</pre>` : ''}</li>`).join('')}</ul>
</section>` : ''}
<section>
  <h2>Tool input <span class="muted">(redacted)</span></h2>
  <pre id="input">${h(inputText)}</pre>
</section>
<section>
  <h2>Record</h2>
  <dl>
    ${row('Policy', `${e.policy.id} ${e.policy.version}${e.policy.bundleId ? ` (bundle ${e.policy.bundleId})` : ''}`, 'policy')}
    ${row('Event id', e.id, 'event-id')}
    ${row('Time', new Date(e.time).toISOString())}
    ${row('Session', e.sessionId || '(none)')}
    ${row('Folder', e.cwd)}
    ${row('Permission mode', e.permissionMode)}
    ${row('Subagent', e.agentType)}
    ${row('Exception used', e.exceptionId)}
  </dl>
</section>
<div class="actions">
  <button id="request-exception" data-action="requestException" title="${h(requestTitle)}"${canRequest ? '' : ' disabled'}>Request exception…</button>
  <button id="copy-test" data-action="copyTestCase" class="secondary" title="Copy this call as a case for a policy test suite">Copy as policy test case</button>
  <button id="open-rule" data-action="openRule" class="secondary" title="Open the rule in the policy"${rules.length ? '' : ' disabled'}>Open rule source</button>
</div>
<script nonce="${h(a.nonce)}" src="${h(a.scriptUri)}"></script>
</body>
</html>`;
}

/** A YAML string scalar, double-quoted with JSON escapes (valid YAML 1.2). */
function yq(s: string): string {
  return JSON.stringify(s);
}

/**
 * The decision as one case for a policy test suite (`warden test`), in the suite's YAML form. The
 * environment is the real one (home, folder) so absolute paths in the input keep their meaning.
 */
export function testCaseYaml(e: DecisionEntry, env: { home: string; user?: string }): string {
  const verdictWord = e.verdict === 'deny' ? 'denied' : e.verdict === 'ask' ? 'asked about' : 'allowed';
  const name = `${e.tool}${e.summary ? ` ${e.summary}` : ''} is ${verdictWord}${e.ruleIds.length ? ` by ${e.ruleIds.join(', ')}` : ''}`;
  const expect = [`effect: ${e.verdict}`];
  if (e.verdict !== e.effect) expect.push(`enforced: ${e.effect}`);
  if (e.ruleIds.length) expect.push(`ruleIds: [${e.ruleIds.map(yq).join(', ')}]`);
  const lines = [`# From audit event ${e.id} (policy ${e.policy.id} ${e.policy.version}, ${new Date(e.time).toISOString()})`];
  if (e.inputTruncated || e.input === null || JSON.stringify(e.input).includes('"erased":true') || JSON.stringify(e.input).includes('[REDACTED')) {
    lines.push('# The recorded input was redacted or cut: complete it before running the suite.');
  }
  lines.push(`- name: ${yq(name)}`);
  lines.push(`  tool: ${yq(e.tool)}`);
  lines.push(`  input: ${JSON.stringify(e.input ?? {})}`);
  const envParts = [`home: ${yq(env.home)}`];
  if (env.user) envParts.push(`user: ${yq(env.user)}`);
  if (e.cwd) envParts.push(`workspace: ${yq(e.cwd)}`, `cwd: ${yq(e.cwd)}`);
  lines.push(`  env: { ${envParts.join(', ')} }`);
  if (e.permissionMode && e.permissionMode !== 'default') lines.push(`  hook: { permission_mode: ${yq(e.permissionMode)} }`);
  lines.push(`  expect: { ${expect.join(', ')} }`);
  return lines.join('\n') + '\n';
}
