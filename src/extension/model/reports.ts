/**
 * Read-only Markdown reports the extension opens as documents (pure): the doctor report and the result of
 * "Simulate Tool Call".
 */
import type { DoctorReport } from '../../runtime/install/doctor';
import type { Decision, Facts } from '../../core/types';

const esc = (s: string): string => s.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
const code = (s: string): string => '`' + s.replace(/`/g, "'") + '`';

export function doctorMarkdown(r: DoctorReport, extra: { stateDir: string; extensionVersion: string; serverUrl?: string; enrolled: boolean }): string {
  const out: string[] = [];
  out.push(`# Agent Warden doctor report`);
  out.push('');
  out.push(`**${r.ok ? '✅ Guarding' : '❌ NOT guarding'}**: ${esc(r.summary)}`);
  out.push('');
  out.push(`Project ${code(r.projectDir)} · state ${code(extra.stateDir)} · extension ${extra.extensionVersion}`);
  const sev = { error: '❌', warning: '⚠️', info: 'ℹ️' } as const;
  out.push('', '## Issues', '');
  if (!r.issues.length) out.push('None.');
  for (const i of r.issues) out.push(`- ${sev[i.severity]} ${esc(i.message)}`);
  out.push('', '## Claude Code settings layers', '', '| scope | file | state | guard |', '|---|---|---|---|');
  for (const l of r.layers) {
    const state = !l.exists ? 'absent' : l.error ? 'corrupt' : !l.valid ? 'invalid (ignored by Claude Code)' : 'loaded';
    const guard = !l.commands.length
      ? '—'
      : l.commands
          .map((c) => {
            const probe = c.probe ? (c.probe.denied ? (c.probe.ordinaryAllowed ? `denies a known-bad call (${c.probe.ms} ms)` : 'denies everything') : `probe failed: ${c.probe.error ?? c.probe.decision ?? 'no decision'}`) : 'not probed';
            return esc(`${c.events.length} events; ${c.runtimeOk ? 'runtime ok' : 'runtime MISSING'}; ${c.hookScriptOk ? 'hook ok' : 'hook MISSING'}; ${probe}`) + (l.hooksRun ? '' : '; **switched off**');
          })
          .join('<br>');
    out.push(`| ${l.scope} | ${code(l.file)} | ${state} | ${guard} |`);
  }
  out.push('', '## Claude Code', '');
  out.push(r.claude.found ? `${code(r.claude.path ?? '')} ${r.claude.version ?? `(${esc(r.claude.raw ?? '?')})`}` : 'Not found on PATH.');
  out.push('', '## Policy', '', esc(r.policy.detail));
  if (r.policy.warning) out.push('', `⚠️ ${esc(r.policy.warning)}`);
  out.push('', '## Server', '', extra.serverUrl ? `${code(extra.serverUrl)} (${extra.enrolled ? 'enrolled' : 'not enrolled'})` : 'Not connected: the policy is enforced offline.');
  out.push('', '## Audit spool', '', esc(r.spool.detail));
  if (r.spool.warning) out.push('', `⚠️ ${esc(r.spool.warning)}`);
  out.push('', `Bypass-permissions mode: ${r.bypassPermissionsMode}.`, '');
  return out.join('\n');
}

export function simulationMarkdown(tool: string, input: unknown, d: Decision, f: Facts, policyLabel: string): string {
  const out: string[] = [];
  const word = d.effect === 'deny' ? '⛔ Denied' : d.effect === 'ask' ? '❓ Asks' : d.verdict !== d.effect ? `👁 Allowed (observe mode: would ${d.verdict})` : '✅ Allowed';
  out.push(`# Simulated ${esc(tool)} call: ${word}`, '');
  out.push(`Policy: ${esc(policyLabel)} (${esc(d.policy.id)} ${esc(d.policy.version)}) · not recorded in the audit log`, '');
  out.push('```json', JSON.stringify(input, null, 2), '```', '');
  out.push(`**Rules**: ${d.ruleIds.length ? d.ruleIds.map(code).join(', ') : 'none (the default effect or the unanalysable rule decided)'}`, '');
  out.push(`**Reason**: ${esc(d.reason)}`, '');
  if (d.remediation) out.push(`**What to do instead**: ${esc(d.remediation)}`, '');
  if (d.matches.length) {
    out.push('## Rules that matched', '');
    for (const m of d.matches) {
      out.push(`- ${code(m.ruleId)} ${m.effect}${m.mode === 'observe' ? ' (observe)' : ''}${m.exceptable ? ' · exceptions allowed' : ''}`);
      for (const x of m.facts) out.push(`  - ${esc(x.text)} — matched ${code(x.matched)}`);
    }
    out.push('');
  }
  if (d.unanalyzable.length) out.push('## Could not be analysed', '', ...d.unanalyzable.map((u) => `- ${esc(u)}`), '');
  out.push('## What the guard saw', '');
  for (const p of f.paths) out.push(`- ${p.access} ${code(p.path)} (${esc(p.via)})`);
  for (const c of f.commands) out.push(`- runs ${code([c.program, ...c.args].join(' '))}${c.via.length ? ` via ${esc(c.via.join(' → '))}` : ''}`);
  for (const u of f.urls) out.push(`- ${u.sends ? `sends ${u.sends} data to` : 'contacts'} ${code(u.url)}`);
  for (const r of f.risks) out.push(`- risk ${code(r.kind)}: ${esc(r.detail)}`);
  if (!f.paths.length && !f.commands.length && !f.urls.length && !f.risks.length) out.push('- nothing beyond the tool name');
  out.push('');
  return out.join('\n');
}
