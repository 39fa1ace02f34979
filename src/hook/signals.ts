/**
 * Decision and record signals from facts: the credentials in a tool input, the session's taint, the MCP
 * server's status, in the audit's SignalRecord shape (no values, only kind, place, length, fingerprint).
 */
import type { SignalRecord } from '../core/audit/event';
import type { Facts } from '../core/types';

export function inputSignals(facts: Facts): SignalRecord[] {
  const out: SignalRecord[] = [];
  for (const s of facts.secrets ?? []) {
    out.push({
      type: 'secret',
      kind: s.kind,
      severity: s.placeholder ? 'low' : s.detector === 'entropy' ? 'medium' : 'high',
      where: s.field.startsWith('/') ? `tool_input${s.field}` : `tool_input (${s.field})`,
      length: s.length,
      detail: `${s.kind} credential in ${s.in}${s.encoding !== 'plain' ? ` (${s.encoding})` : ''}${s.placeholder ? ', a documented example or placeholder' : ''}`,
      detector: s.detector,
      fingerprint: s.fingerprint,
      encoding: s.encoding,
      placeholder: s.placeholder,
    });
  }
  for (const t of facts.taint ?? []) {
    const r: SignalRecord = { type: 'taint', kind: t.kind, severity: t.severity ?? 'high', where: 'session', detail: `session tainted by ${t.kind} in ${t.tool} output${t.signals.length ? ` (${t.signals.slice(0, 6).join(', ')})` : ''}`, source: t.source, tool: t.tool, at: t.at };
    if (t.eventId) r.eventId = t.eventId;
    out.push(r);
  }
  if (facts.mcp) {
    const m = facts.mcp;
    out.push({ type: 'mcp', kind: m.status, severity: m.status === 'changed' ? 'high' : 'info', where: 'server', detail: `MCP server ${m.server}${m.scope ? ` (${m.scope} scope)` : ''}, tool ${m.tool}: ${m.status}` });
  }
  return out;
}

/**
 * JSON pointers of input fields holding a credential the text scrubber would not see (it was expanded from
 * variables, encoded or split by invisible characters): the audit stores those fields as hash + size only.
 */
export function secretErasePointers(facts: Facts): string[] {
  const out = new Set<string>();
  for (const s of facts.secrets ?? []) if (s.encoding !== 'plain' && !s.placeholder && s.field.startsWith('/')) out.add(s.field);
  return [...out];
}
