/**
 * Which policy the hook enforces: `--policy <file|builtin:…>` when given (development, tests); otherwise the
 * verified last-good bundle from the state directory (src/runtime/bundleActive.ts re-verifies it at every
 * hook start), and the built-in baseline when there is none or it fails re-verification — in observe mode
 * when the signed trust root allows failing open (`warden trust init --fail-open`).
 */
import type { PolicyInfo } from '../core/audit/event';
import type { BundleEvent } from '../core/bundle/events';
import type { PolicyDoc } from '../core/policy/schema';
import { activePolicy } from '../runtime/bundleActive';
import { builtinPolicy } from '../runtime/builtin';
import { loadPolicyRef } from '../runtime/policySource';

export interface SelectedPolicy {
  policy: PolicyDoc;
  /** Bundle details for the audit record (what the decision does not carry). */
  info: Partial<PolicyInfo>;
  /** Bundle/trust events to append to the audit spool (tampered cache, expiry past grace…). */
  events: BundleEvent[];
  /** Why the baseline applies, when a bundle was configured but could not be used. */
  fallbackReason?: string;
}

export function selectPolicy(ref: string | undefined, stateDir: string): SelectedPolicy {
  if (ref) {
    const policy = loadPolicyRef(ref);
    return { policy, info: { state: ref.startsWith('builtin:') ? 'builtin' : 'local' }, events: [] };
  }
  let active: ReturnType<typeof activePolicy>;
  try {
    active = activePolicy(stateDir);
  } catch (e) {
    // activePolicy reports failures as a fallback; this is a bug guard. The baseline is the safe default.
    return { policy: builtinPolicy('builtin:baseline'), info: { state: 'builtin' }, events: [], fallbackReason: `bundle check failed: ${(e as Error).message}` };
  }
  if (active.source === 'bundle') {
    return {
      policy: active.policy,
      info: { bundleId: active.bundle.bundleId, epoch: active.bundle.epoch, sha256: active.bundle.sha256, state: active.state },
      events: active.events,
    };
  }
  const quiet = active.reason === 'not-configured' || active.reason === 'no-bundle';
  const out: SelectedPolicy = { policy: builtinPolicy('builtin:baseline'), info: { state: 'builtin' }, events: active.events };
  if (quiet) return out;
  if (active.failOpen) {
    // The organisation's signed trust root chose availability over enforcement when its bundle cannot be
    // used: the baseline still decides, but only records what it would have blocked (every decision says so).
    out.policy = { ...out.policy, mode: 'observe' };
    out.info = { state: 'fail-open' };
    out.fallbackReason = `${active.message}; the trust root allows failing open, so the baseline only records what it would block`;
  } else out.fallbackReason = active.message;
  return out;
}
