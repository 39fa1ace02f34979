/**
 * The Policy view's nodes (pure): the active policy (source, bundle, version, age, mode), its rules with
 * their effects, and the exceptions in force or pending with their expiry.
 */
import type { Effect } from '../../core/types';
import { escapeMarkdown, formatSpan, relative } from './format';
import { exceptionSummary, inForce, statusText, visibleExceptions, type ExceptionRecord } from './exceptions';
import type { IconModel, TreeItemModel } from './decisions';
import { policyProblemWord, type PolicyState } from './state';

export interface RuleSummary {
  id: string;
  effect: Effect;
  mode?: 'enforce' | 'observe';
  reason: string;
  description?: string;
  exception?: { allowed: boolean; maxDuration?: string };
}

export interface PolicyViewInput {
  policy: PolicyState;
  rules: RuleSummary[];
  defaultEffect?: Effect;
  exceptions: ExceptionRecord[];
  now: number;
}

export interface PolicyNode {
  item: TreeItemModel;
  children?: PolicyNode[];
  /** Rule id for "open rule source" / exception request id. */
  ruleId?: string;
  requestId?: string;
}

const EFFECT_ICON: Record<Effect, IconModel> = {
  deny: { id: 'circle-slash', color: 'errorForeground' },
  ask: { id: 'question', color: 'editorWarning.foreground' },
  allow: { id: 'pass', color: 'testing.iconPassed' },
};

function leaf(id: string, label: string, description: string, icon: IconModel, tooltip = `${label}: ${description}`, contextValue = 'info'): PolicyNode {
  return { item: { id, label, description, tooltip, icon, contextValue, collapsible: 'none' } };
}

export function policyNodes(v: PolicyViewInput): PolicyNode[] {
  const p = v.policy;
  const nodes: PolicyNode[] = [];
  if (p.source === 'bundle') nodes.push(leaf('policy.source', 'Bundle', p.id, { id: 'verified-filled', color: 'testing.iconPassed' }, `Signed policy bundle **${escapeMarkdown(p.id)}**`));
  else if (p.source === 'file') nodes.push(leaf('policy.source', 'Policy file', p.id, { id: 'file' }));
  else nodes.push(leaf('policy.source', 'Built-in policy', p.id, { id: 'shield' }, `The built-in **${escapeMarkdown(p.id)}** applies${p.fallback ? ` because the configured bundle is not usable: ${escapeMarkdown(p.fallback.message)}` : ' (no policy bundle is configured)'}`));
  nodes.push(leaf('policy.version', 'Version', p.source === 'bundle' ? `v${p.version}` : p.version, { id: 'tag' }));
  if (p.issuedAt) {
    const fresh = p.freshness ?? 'fresh';
    const exp = p.freshness === 'grace' && p.graceEndsAt ? `baseline takes over ${relative(p.graceEndsAt, v.now)}` : p.expiresAt ? `expires ${relative(p.expiresAt, v.now)}` : '';
    nodes.push(leaf('policy.age', 'Age', `${formatSpan(v.now - p.issuedAt)} (${fresh})${exp ? ` · ${exp}` : ''}`, { id: 'history', ...(fresh !== 'fresh' ? { color: 'editorWarning.foreground' } : {}) }));
  }
  nodes.push(leaf('policy.mode', 'Mode', p.mode === 'observe' ? 'observe (records, blocks nothing)' : 'enforce', { id: p.mode === 'observe' ? 'eye' : 'lock' }));
  if (p.fallback || p.rejected || (p.freshness && p.freshness !== 'fresh')) {
    const msg = p.fallback?.message ?? p.rejected?.message ?? `the bundle is ${p.freshness}`;
    nodes.push(leaf('policy.problem', 'Attention', `${policyProblemWord(p)}: ${msg}`, { id: 'warning', color: 'editorWarning.foreground' }));
  }
  const rules: PolicyNode[] = v.rules.map((r) => {
    const observe = r.mode === 'observe' || p.mode === 'observe';
    const ex = r.exception?.allowed ? ` · exceptions up to ${r.exception.maxDuration ?? '8h'}` : '';
    const node = leaf(`rule:${r.id}`, r.id, `${r.effect}${observe ? ' (observe)' : ''}${ex}`, EFFECT_ICON[r.effect], `**${escapeMarkdown(r.id)}** · ${r.effect}${observe ? ' (observe)' : ''}\n\n${escapeMarkdown(r.reason)}${r.description ? `\n\n${escapeMarkdown(r.description)}` : ''}`, 'rule');
    node.ruleId = r.id;
    return node;
  });
  const deny = v.rules.filter((r) => r.effect === 'deny').length;
  const ask = v.rules.filter((r) => r.effect === 'ask').length;
  nodes.push({
    item: { id: 'policy.rules', label: 'Rules', description: `${v.rules.length} (${deny} deny, ${ask} ask)${v.defaultEffect ? ` · default ${v.defaultEffect}` : ''}`, tooltip: 'The rules of the active policy', icon: { id: 'list-ordered' }, contextValue: 'rules', collapsible: 'collapsed' },
    children: rules,
  });
  const shown = visibleExceptions(v.exceptions, v.now);
  const active = shown.filter((r) => inForce(r, v.now)).length;
  const pending = shown.filter((r) => r.status === 'pending').length;
  const exNodes: PolicyNode[] = shown.map((r) => {
    const icon: IconModel = r.status === 'pending' ? { id: 'clock', color: 'editorWarning.foreground' } : inForce(r, v.now) ? { id: 'unlock', color: 'charts.blue' } : { id: 'circle-slash', color: 'disabledForeground' };
    const node = leaf(`exception:${r.requestId}`, exceptionSummary(r), statusText(r, v.now), icon, `**Exception ${escapeMarkdown(r.requestId)}** — ${escapeMarkdown(statusText(r, v.now))}\n\n${escapeMarkdown(exceptionSummary(r))}\n\nJustification: ${escapeMarkdown(r.justification)}`, `exception.${r.status}`);
    node.requestId = r.requestId;
    return node;
  });
  nodes.push({
    item: { id: 'policy.exceptions', label: 'Exceptions', description: shown.length ? `${active} in force, ${pending} pending` : 'none', tooltip: 'Temporary exceptions in force, and requests waiting for review', icon: { id: 'unlock' }, contextValue: 'exceptions', collapsible: shown.length ? 'expanded' : 'none' },
    children: exNodes,
  });
  return nodes;
}


