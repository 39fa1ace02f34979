/**
 * The hook's audit record: every PreToolUse decision and every recorded event is appended to the local
 * spool (durably, before the hook answers), through src/runtime/audit/record.ts. A failed append throws;
 * the caller decides (PreToolUse: deny).
 */
import * as fs from 'node:fs';
import { buildHookEvent, buildPolicyEvent, type DecisionMeta, type HookExtra, type PolicyEventData, type PolicyInfo } from '../core/audit/event';
import type { BundleEvent } from '../core/bundle/events';
import type { Decision, HookInput } from '../core/types';
import { auditContext, recordDecision, recordHookEvent, type AuditSetup } from '../runtime/audit/record';
import { applyLocalRetention, appendAuditEvent, spoolStatus, type AppendOptions, type AppendResult } from '../runtime/audit/spool';
import { enrollmentPath } from '../runtime/enrollment';

declare const __AW_VERSION__: string | undefined;
const VERSION = typeof __AW_VERSION__ === 'string' ? __AW_VERSION__ : 'dev';

/** Claude Code's version from `AI_AGENT=claude-code_2-1-197_harness` (set for hooks), when present. */
export function agentVersionFromEnv(env: NodeJS.ProcessEnv): string | null {
  const m = /claude-code_(\d+)-(\d+)-(\d+)/.exec(env.AI_AGENT ?? '');
  return m ? `${m[1]}.${m[2]}.${m[3]}` : null;
}

export class AuditLog {
  private readonly setup: AuditSetup;

  constructor(stateDir: string, user: string, env: NodeJS.ProcessEnv, spool?: AppendOptions) {
    this.setup = { stateDir, user, clientVersion: VERSION, agentVersion: agentVersionFromEnv(env), ...(spool ? { spool } : {}) };
  }

  get stateDir(): string {
    return this.setup.stateDir;
  }

  /**
   * Append the decision event. Throws when it could not be written (AuditError; code CRITICAL when the spool
   * is past 95 % of its cap and the decision is an allow). `timeoutMs` bounds the wait for the spool lock:
   * the hook passes what is left of its own deadline.
   */
  decision(input: HookInput, decision: Decision, meta: DecisionMeta, timeoutMs?: number, erase?: readonly string[]): AppendResult {
    let setup = timeoutMs === undefined ? this.setup : { ...this.setup, spool: { ...this.setup.spool, timeoutMs } };
    if (erase?.length) setup = { ...setup, erase: [...(setup.erase ?? []), ...erase] };
    return this.retain(recordDecision(setup, input, decision, meta));
  }

  /**
   * Past the warn level on a device that is not enrolled there is no server to drain the spool: drop the
   * oldest records (applyLocalRetention) rather than let it fill up and deny every allowed call. An enrolled
   * device keeps everything for the server. Best effort: a failure leaves the warning in place.
   */
  private retain(r: AppendResult): AppendResult {
    if (r.level === 'ok' || fs.existsSync(enrollmentPath(this.setup.stateDir))) return r;
    try {
      if (!applyLocalRetention(this.setup.stateDir, this.setup.spool ?? {}).length) return r;
      const st = spoolStatus(this.setup.stateDir, this.setup.spool ?? {});
      return { ...r, level: st.level, bytesUsed: st.bytesUsed };
    } catch {
      return r;
    }
  }

  /** Append bundle/trust events reported at hook start (as `dev.agentwarden.policy.v1`). Throws on failure. */
  bundleEvents(events: BundleEvent[], active: { id: string; version: string; info: Partial<PolicyInfo> }): void {
    for (const e of events) {
      const action: PolicyEventData['action'] = e.type === 'policy.expired' ? 'expired' : e.type === 'policy.activated' ? 'activated' : e.type === 'policy.update_rejected' ? 'update_rejected' : 'fallback';
      const subject: PolicyInfo = {
        id: e.bundleId ?? active.id,
        version: e.version !== undefined ? String(e.version) : active.version,
        bundleId: e.bundleId ?? null,
        epoch: e.epoch ?? null,
        sha256: e.sha256 ?? null,
        state: active.info.state ?? null,
      };
      appendAuditEvent(this.setup.stateDir, buildPolicyEvent(action, subject, auditContext(this.setup), { reason: `${e.type}${e.reason ? ` (${e.reason})` : ''}: ${e.message ?? ''}` }));
    }
  }

  /** Append a hook (recorded event) event. Throws when it could not be written. */
  hook(input: HookInput, extra?: HookExtra, opts: { id?: string; erase?: readonly string[] } = {}): AppendResult {
    if (!extra && !opts.id && !opts.erase?.length) return this.retain(recordHookEvent(this.setup, input));
    const ctx = auditContext(opts.erase?.length ? { ...this.setup, erase: [...(this.setup.erase ?? []), ...opts.erase] } : this.setup);
    if (opts.id) ctx.newId = () => opts.id!;
    return this.retain(appendAuditEvent(this.setup.stateDir, buildHookEvent(input, ctx, extra), this.setup.spool));
  }
}

/** A warning for the user when the spool is filling up (the forwarder is behind or offline). */
export function capWarning(r: AppendResult): string | undefined {
  if (r.level === 'ok') return undefined;
  const pct = Math.round((r.bytesUsed / r.capBytes) * 100);
  return `the audit spool is ${pct}% full (${r.level}); it empties when events reach the server${r.level === 'critical' ? '. Calls that would be allowed are denied until it drains' : '. From 95% full, calls that would be allowed are denied'}.`;
}
