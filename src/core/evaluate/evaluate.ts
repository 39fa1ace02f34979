/**
 * The decision: pure, no I/O. Any matching deny → deny; else any ask → ask; else any allow → allow; else
 * the policy's default effect. A call the analyser could not understand contributes the policy's
 * `unanalyzable` effect (deny or ask), never allow. Observe-mode rules are reported as what would have
 * happened but do not change what is enforced.
 */
import { applyExceptions, exceptionUse } from '../exceptions/apply';
import type { ExceptionContext } from '../exceptions/match';
import type { Decision, Effect, ExceptionUse, Facts, RuleMatch } from '../types';
import type { CompiledPolicy } from './compile';

/** The pseudo rule id that stands for "the call could not be analysed". */
export const UNANALYZABLE_RULE = '@unanalyzable';

const RANK: Record<Effect, number> = { allow: 0, ask: 1, deny: 2 };

function strongest(matches: RuleMatch[]): Effect | undefined {
  let best: Effect | undefined;
  for (const m of matches) if (!best || RANK[m.effect] > RANK[best]) best = m.effect;
  return best;
}

/**
 * `exceptions`: verified exception grants and who/when (src/core/exceptions). A grant lifts deny/ask
 * matches of rules the policy marks exceptable; when nothing else denies or asks, the call is allowed and
 * `decision.exception` says which grant did it.
 */
export function evaluate(policy: CompiledPolicy, facts: Facts, exceptions?: ExceptionContext): Decision {
  const matches: RuleMatch[] = [];
  for (const rule of policy.rules) {
    const hit = rule.match(facts);
    if (!hit) continue;
    if (rule.unless && rule.unless(facts)) continue;
    const m: RuleMatch = {
      ruleId: rule.id,
      effect: rule.effect,
      mode: rule.mode,
      reason: rule.reason,
      exceptable: rule.exceptable,
      facts: hit.slice(0, 8),
    };
    if (rule.remediation) m.remediation = rule.remediation;
    matches.push(m);
  }
  if (facts.unanalyzable.length) {
    matches.push({
      ruleId: UNANALYZABLE_RULE,
      effect: policy.unanalyzable,
      mode: policy.mode,
      reason: `Agent Warden could not analyse this call: ${facts.unanalyzable.slice(0, 3).join('; ')}`,
      remediation: 'Rewrite the call in a simpler form (literal paths and commands, no computed program names).',
      exceptable: false,
      facts: facts.unanalyzable.slice(0, 8).map((u) => ({ kind: 'unanalyzable' as const, text: u, matched: 'unanalyzable' })),
    });
  }
  let counted = matches;
  let exception: ExceptionUse | undefined;
  let without: Decision | undefined;
  if (exceptions && exceptions.grants.length) {
    const x = applyExceptions(policy, matches, facts, exceptions);
    if (x.used.length) {
      without = evaluate(policy, facts);
      counted = x.remaining;
      exception = exceptionUse(x.used, x.excepted, { effect: without.effect, verdict: without.verdict, ruleIds: without.ruleIds });
    }
  }
  // With a grant in use, what no remaining rule decides is allowed (the grant's purpose), not the default.
  const fallback = exception ? 'allow' : policy.defaultEffect;
  const enforced = counted.filter((m) => m.mode === 'enforce');
  const verdictFromRules = strongest(counted);
  const enforcedFromRules = strongest(enforced);
  const verdict = verdictFromRules ?? fallback;
  const effect = policy.mode === 'observe' ? 'allow' : enforcedFromRules ?? fallback;
  const deciding = verdictFromRules ? counted.filter((m) => m.effect === verdict) : [];
  const enforcedDeciding = enforcedFromRules ? enforced.filter((m) => m.effect === effect) : [];
  const primary = deciding[0];
  const decision: Decision = {
    effect,
    verdict,
    ruleIds: deciding.map((m) => m.ruleId),
    reason: exception && verdict === 'allow' ? exceptionReason(exception) : primary ? reasonOf(deciding) : `No rule matched ${facts.tool || 'this call'}; the policy's default effect is ${policy.defaultEffect}.`,
    explicit: policy.mode !== 'observe' && (enforcedDeciding.length > 0 || (!!exception && effect === 'allow')),
    mode: policy.mode,
    matches,
    unanalyzable: facts.unanalyzable,
    policy: { id: policy.id, version: policy.version },
  };
  if (primary?.remediation) decision.remediation = primary.remediation;
  if (exception) {
    // A grant is "used" only when it changes the outcome; otherwise the decision is the one without it.
    if (without && decision.effect === without.effect && decision.verdict === without.verdict) return without;
    decision.exception = exception;
  }
  return decision;
}

function exceptionReason(x: ExceptionUse): string {
  return `Allowed by exception ${x.grantId} for ${x.ruleIds.join(', ')} (approved by ${x.approvedBy.join(', ')}; expires ${x.expiresAt}).`;
}

function reasonOf(deciding: RuleMatch[]): string {
  const reasons = [...new Set(deciding.map((m) => m.reason))];
  return reasons.length === 1 ? reasons[0]! : `${reasons[0]} (and ${reasons.length - 1} more: ${reasons.slice(1).join('; ')})`;
}
