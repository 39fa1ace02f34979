/**
 * Claude Code hook output. Always the documented JSON form on stdout with exit code 0: a crash, a timeout,
 * a non-zero exit or empty stdout would let the tool call through.
 *
 * Only PreToolUse (deny/ask) and ConfigChange (block = veto the reload) ever block. Every other event gets
 * an output that is valid for it and cannot block: `{}`, or a `systemMessage` shown to the user.
 */
import type { Decision } from '../core/types';

export interface HookOutput {
  hookSpecificOutput?: {
    hookEventName: string;
    permissionDecision?: 'allow' | 'deny' | 'ask';
    permissionDecisionReason?: string;
    additionalContext?: string;
  };
  /** ConfigChange only: "block" vetoes the settings reload. */
  decision?: 'block';
  reason?: string;
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

/** Events whose failure must block (the guard decisions); every other event only reports. */
export function blocksOnFailure(event: string | undefined): boolean {
  return event === undefined || event === 'PreToolUse' || event === 'ConfigChange';
}

/**
 * The fail-closed answer for an event: PreToolUse (or an event we could not tell) is denied, a ConfigChange
 * reload is vetoed, any other event gets a warning for the user and is never blocked.
 */
export function failureOutput(event: string | undefined, reason: string): HookOutput {
  if (event === undefined || event === 'PreToolUse') return denyOutput(reason);
  if (event === 'ConfigChange') return configBlockOutput([`Agent Warden could not check this settings change (${reason})`]);
  return { systemMessage: `Agent Warden: ${reason}` };
}

/** The output of a recorded (non-deciding) event. */
export function recordOutput(warning?: string): HookOutput {
  return warning ? { systemMessage: `Agent Warden: ${warning}` } : {};
}

export function configBlockOutput(reasons: string[]): HookOutput {
  const why = reasons.join('; ');
  return {
    decision: 'block',
    reason: `Agent Warden kept the previous settings: ${why}.`,
    systemMessage: `Agent Warden blocked a settings change that would disable it: ${why}. The session keeps its previous settings; a deliberate change (or \`warden uninstall\`) takes effect when Claude Code is restarted.`,
  };
}

/**
 * Content facts behind the deciding rules, for the reason: which credential (kind, place, fingerprint), what
 * tainted the session (tool, source, signals, audit event), the MCP server's status.
 */
function contentWhy(d: Decision): string {
  const texts: string[] = [];
  for (const m of d.matches) {
    if (!d.ruleIds.includes(m.ruleId)) continue;
    for (const f of m.facts) if ((f.kind === 'taint' || f.kind === 'secret' || f.kind === 'mcp') && !texts.includes(f.text)) texts.push(f.text);
  }
  return texts.length ? ` Why: ${texts.slice(0, 3).join('; ')}.` : '';
}

/** The human text shown to the model (and the user) for a decision. */
export function decisionReason(d: Decision, eventId?: string): string {
  const rules = d.ruleIds.length ? ` [rule ${d.ruleIds.join(', ')}]` : '';
  const fix = d.remediation ? ` ${d.remediation.replace(/[.\s]+$/, '')}.` : '';
  const ref = ` (policy ${d.policy.id} ${d.policy.version}${eventId ? `, event ${eventId}` : ''})`;
  return `${d.reason.replace(/[.\s]+$/, '')}${rules}.${contentWhy(d)}${fix}${ref}`;
}

/**
 * PostToolUse: never blocks. `context` goes to the model (hookSpecificOutput.additionalContext), `message` to
 * the user (systemMessage).
 */
export function postToolUseOutput(context?: string, message?: string, event: 'PostToolUse' | 'PostToolUseFailure' = 'PostToolUse'): HookOutput {
  const out: HookOutput = {};
  if (context) out.hookSpecificOutput = { hookEventName: event, additionalContext: context };
  if (message) out.systemMessage = `Agent Warden: ${message}`;
  return out;
}

/**
 * `exceptionInput`: for a deny/ask every deciding rule of which may be excepted, the canonical sha256 of the
 * tool input, so the user can ask for an exception for exactly this call.
 */
export function preToolUseOutput(d: Decision, eventId?: string, exceptionInput?: string): HookOutput {
  let reason = decisionReason(d, eventId);
  if (exceptionInput && d.effect !== 'allow') reason += ` A temporary exception may be requested for this call (input sha256 ${exceptionInput}).`;
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
