/** Durations as written in policies (`15m`, `8h`, `7d`). */

export const MAX_EXCEPTION_MS = 14 * 24 * 3600 * 1000;
export const DEFAULT_EXCEPTION_MS = 8 * 3600 * 1000;

const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(text: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 15m, 8h, 7d)`);
  return Number(m[1]) * UNIT[m[2]!]!;
}
