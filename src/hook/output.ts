/**
 * Claude Code hook output. Always the documented JSON form on stdout with exit code 0: a crash, a timeout,
 * a non-zero exit or empty stdout would let the tool call through.
 */
import type { Decision } from '../core/types';

export interface HookOutput {
  hookSpecificOutput?: {
    hookEventName: string;
    permissionDecision?: 'allow' | 'deny' | 'ask';
    permissionDecisionReason?: string;
    additionalContext?: string;
  };
  systemMessage?: string;
  suppressOutput?: boolean;
}

export function denyOutput(reason: string): HookOutput {
  return {
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: 'deny',
      permissionDecisionReason: `Agent Warden blocked this call: ${reason}`,
    },
  };
}

/** The human text shown to the model (and the user) for a decision. */
export function decisionReason(d: Decision, eventId?: string): string {
  const rules = d.ruleIds.length ? ` [rule ${d.ruleIds.join(', ')}]` : '';
  const fix = d.remediation ? ` ${d.remediation.replace(/[.\s]+$/, '')}.` : '';
  const ref = ` (policy ${d.policy.id} ${d.policy.version}${eventId ? `, event ${eventId}` : ''})`;
  return `${d.reason.replace(/[.\s]+$/, '')}${rules}.${fix}${ref}`;
}

export function preToolUseOutput(d: Decision, eventId?: string): HookOutput {
  const reason = decisionReason(d, eventId);
  if (d.effect === 'deny' || d.effect === 'ask') {
    return {
      hookSpecificOutput: {
        hookEventName: 'PreToolUse',
        permissionDecision: d.effect,
        permissionDecisionReason: `Agent Warden ${d.effect === 'deny' ? 'blocked this call' : 'asks for confirmation'}: ${reason}`,
      },
    };
  }
  const out: HookOutput = { hookSpecificOutput: { hookEventName: 'PreToolUse' } };
  if (d.explicit) {
    out.hookSpecificOutput!.permissionDecision = 'allow';
    out.hookSpecificOutput!.permissionDecisionReason = `Agent Warden allowed this call: ${reason}`;
  }
  if (d.verdict !== d.effect) out.systemMessage = `Agent Warden (observe mode) would have ${d.verdict === 'deny' ? 'blocked' : 'asked about'} this call: ${reason}`;
  return out;
}
