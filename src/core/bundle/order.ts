/** Orderings the anti-rollback and compatibility rules use. */

/** Lexicographic order on (epoch, version): negative when a < b. */
export function compareEpochVersion(a: { epoch: number; version: number }, b: { epoch: number; version: number }): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.version - b.version;
}

/**
 * Compare two semantic versions (major.minor.patch with an optional pre-release, which sorts before the
 * release). Throws on text that is not a version.
 */
export function compareSemver(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  for (let i = 0; i < 3; i++) if (pa.nums[i] !== pb.nums[i]) return pa.nums[i]! - pb.nums[i]!;
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === undefined) return 1;
  if (pb.pre === undefined) return -1;
  const xa = pa.pre.split('.');
  const xb = pb.pre.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const x = xa[i];
    const y = xb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function parseSemver(v: string): { nums: number[]; pre: string | undefined } {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) throw new Error(`not a version: ${JSON.stringify(v)}`);
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] };
}
