/**
 * Which policy the hook enforces: `--policy <file|builtin:…>` when given (development, tests); otherwise the
 * verified last-good bundle from the state directory (src/runtime/bundleActive.ts re-verifies it at every
 * hook start), and the built-in baseline when there is none or it fails re-verification.
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
  if (!quiet) out.fallbackReason = active.message;
  return out;
}
