/**
 * Where the pinned trust root comes from, and the chain of rotations stored after it.
 *
 * The anchor is `<managedDir>/trust.json` when that file exists (written by an administrator or MDM, e.g.
 * /etc/agent-warden/trust.json; the user cannot override it), else `<stateDir>/trust/root.json` (written at
 * enrolment by `warden trust pin`). Nothing the server sends is trusted unless it chains to this anchor:
 * rotations are stored as `<stateDir>/trust/<N>.json` and re-verified from the anchor every time the chain
 * is opened (each step: threshold of the previous root keys AND of its own, version exactly +1).
 *
 * No zod here: the hook opens the chain with the lean parser; acceptance paths pass the strict one.
 */
import * as path from 'node:path';
import { sha256Hex } from '../core/bundle/envelope';
import { BundleError } from '../core/bundle/errors';
import { openAnchor, openRotation, TRUST_DEFAULTS, type Trust, type TrustParser } from '../core/bundle/trust';
import { readIfExists, storePaths, trustVersionFile } from './bundleStore';

export interface TrustChain {
  anchor: Trust;
  /** The newest trust reached from the anchor (the anchor itself when no rotation is stored). */
  current: Trust;
  /** anchor, then each stored rotation in order. */
  chain: Trust[];
  anchorFile: string;
  managed: boolean;
}

export function anchorLocation(stateDir: string, managedDir: string | null): { file: string; managed: boolean; bytes: Buffer } | undefined {
  if (managedDir) {
    const file = path.join(managedDir, 'trust.json');
    const bytes = readIfExists(file);
    if (bytes) return { file, managed: true, bytes };
  }
  const file = storePaths(stateDir).anchor;
  const bytes = readIfExists(file);
  return bytes ? { file, managed: false, bytes } : undefined;
}

/**
 * Open the anchor and every stored rotation after it. Throws BundleError: `no-trust` when nothing is
 * pinned, otherwise the code of the first document that fails (tampered files fail their signatures).
 * Key validity windows are not re-checked here (they were checked when each document was accepted);
 * revocations and signatures are.
 */
export function loadTrustChain(stateDir: string, opts: { managedDir: string | null; parse: TrustParser }): TrustChain {
  const loc = anchorLocation(stateDir, opts.managedDir);
  if (!loc) throw new BundleError('no-trust', `no trust root is pinned (${opts.managedDir ? `${path.join(opts.managedDir, 'trust.json')} or ` : ''}${storePaths(stateDir).anchor}); run \`warden trust pin\``);
  let anchor: Trust;
  try {
    anchor = openAnchor(loc.bytes, sha256Hex(loc.bytes), opts.parse, null);
  } catch (e) {
    if (e instanceof BundleError) throw new BundleError(e.code, `${loc.file}: ${e.message}`, e.checks);
    throw e;
  }
  const chain = [anchor];
  let current = anchor;
  for (let hops = 0; hops < TRUST_DEFAULTS.maxHops; hops++) {
    const file = trustVersionFile(stateDir, current.version + 1);
    const bytes = readIfExists(file);
    if (!bytes) break;
    try {
      current = openRotation(bytes, sha256Hex(bytes), current, opts.parse, null);
    } catch (e) {
      if (e instanceof BundleError) throw new BundleError(e.code, `${file}: ${e.message}`, e.checks);
      throw e;
    }
    chain.push(current);
  }
  return { anchor, current, chain, anchorFile: loc.file, managed: loc.managed };
}

/** The trust floor check: the chain must reach at least the highest version this machine accepted. */
export function checkTrustFloor(chain: TrustChain, floors: Record<string, number>): void {
  const floor = floors[chain.current.tenant];
  if (floor !== undefined && chain.current.version < floor) {
    throw new BundleError('trust-rollback', `the stored trust chain ends at v${chain.current.version}, but v${floor} was accepted before (rotation files deleted or replaced?)`);
  }
}
