/**
 * Which matched rules do the grants lift? A deny or ask match is lifted when its rule is marked exceptable
 * in the policy (`exception.allowed: true`), and some grant names that rule, covers the call (match.ts) and
 * is not longer than the rule's maxDuration. Non-exceptable rules (and the analyser's `@unanalyzable`
 * pseudo-rule) are never lifted. Allow matches are left alone.
 */
import type { CompiledPolicy } from '../evaluate/compile';
import type { ExceptionUse, Facts, RuleMatch } from '../types';
import type { Grant } from './grant';
import { checkGrant, type ExceptionContext } from './match';

export interface ExceptionOutcome {
  /** Matches that still count. */
  remaining: RuleMatch[];
  /** Matches lifted by a grant. */
  excepted: RuleMatch[];
  /** Grants used, in the order they were first used. */
  used: Grant[];
}

export function applyExceptions(policy: CompiledPolicy, matches: readonly RuleMatch[], facts: Facts, ctx: ExceptionContext): ExceptionOutcome {
  const remaining: RuleMatch[] = [];
  const excepted: RuleMatch[] = [];
  const used: Grant[] = [];
  const covers = new Map<Grant, boolean>();
  const coversCall = (g: Grant): boolean => {
    let ok = covers.get(g);
    if (ok === undefined) {
      ok = checkGrant(g, facts, ctx).ok;
      covers.set(g, ok);
    }
    return ok;
  };
  const rules = new Map(policy.rules.map((r) => [r.id, r]));
  for (const m of matches) {
    const rule = rules.get(m.ruleId);
    if (m.effect === 'allow' || !m.exceptable || !rule || !rule.exceptable) {
      remaining.push(m);
      continue;
    }
    const g = ctx.grants.find((x) => x.ruleIds.includes(m.ruleId) && x.expiresAtMs - x.notBeforeMs <= rule.maxExceptionMs && coversCall(x));
    if (!g) {
      remaining.push(m);
      continue;
    }
    excepted.push(m);
    if (!used.includes(g)) used.push(g);
  }
  return { remaining, excepted, used };
}

/** The `exception` field of a decision. */
export function exceptionUse(used: readonly Grant[], excepted: readonly RuleMatch[], original: ExceptionUse['original']): ExceptionUse {
  const primary = used[0]!;
  return {
    grantId: primary.grantId,
    requestId: primary.requestId,
    grantIds: used.map((g) => g.grantId),
    ruleIds: [...new Set(excepted.map((m) => m.ruleId))],
    expiresAt: new Date(Math.min(...used.map((g) => g.expiresAtMs))).toISOString(),
    approvedBy: [...new Set(used.flatMap((g) => g.approvedBy))],
    original,
  };
}
