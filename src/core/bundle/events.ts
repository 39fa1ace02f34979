/**
 * What bundle and trust handling reports for the audit trail. Functions here and in src/runtime return these
 * as values; writing them to the audit spool is the caller's job (the hook, the sync loop, the CLI).
 */
import type { RejectCode } from './errors';

export type BundleEventType =
  /** A new bundle was accepted and is now the one the hook enforces. */
  | 'policy.activated'
  /** A fetched or offered bundle was refused; the previous one stays active. */
  | 'policy.update_rejected'
  /** Same (epoch, version) as the active bundle with different bytes: the signer or server equivocates. */
  | 'policy.equivocation'
  /** The cached bundle failed re-verification at hook start (tampered, revoked signer, rollback…). */
  | 'policy.cache_rejected'
  /** The active bundle expired and its offline grace is over: the built-in baseline applies. */
  | 'policy.expired'
  /** A trust rotation was accepted. */
  | 'trust.updated'
  /** A trust rotation was refused; the current trust stays. */
  | 'trust.update_rejected'
  /** The pinned trust or a cached rotation failed re-verification. */
  | 'trust.cache_rejected';

export interface BundleEvent {
  type: BundleEventType;
  /** ISO time of the event (the caller's clock). */
  time: string;
  source: 'sync' | 'hook' | 'cli';
  tenant?: string;
  bundleId?: string;
  epoch?: number;
  version?: number;
  sha256?: string;
  /** The bundle that was active before (activation) or that stays active (rejection). */
  previous?: { epoch: number; version: number; sha256: string };
  trustVersion?: number;
  reason?: RejectCode;
  message?: string;
}

/** A bundle's anti-rollback record: the highest (epoch, version) accepted and the bytes accepted for it. */
export interface BundleRecord {
  epoch: number;
  version: number;
  sha256: string;
}
