/**
 * Built-in policies. In the bundles (dist/*.js) the baseline is inlined at build time, already validated
 * (see esbuild.config.mjs), so the hook pays neither for YAML parsing nor for schema validation. Running
 * from compiled sources (tests), it is read and validated from `policies/baseline.yaml`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PolicyDoc } from '../core/policy/schema';

declare const __AW_BASELINE__: string | undefined;

export const BUILTIN_PREFIX = 'builtin:';
export const BUILTIN_NAMES = ['baseline'] as const;

let cached: PolicyDoc | undefined;

export function isBuiltin(ref: string): boolean {
  return ref.startsWith(BUILTIN_PREFIX);
}

export function builtinPolicy(ref: string): PolicyDoc {
  const name = ref.startsWith(BUILTIN_PREFIX) ? ref.slice(BUILTIN_PREFIX.length) : ref;
  if (name !== 'baseline') throw new Error(`unknown built-in policy "${ref}" (available: ${BUILTIN_NAMES.map((n) => BUILTIN_PREFIX + n).join(', ')})`);
  if (cached) return cached;
  if (typeof __AW_BASELINE__ !== 'undefined') return (cached = JSON.parse(__AW_BASELINE__) as PolicyDoc);
  const file = builtinPolicyFile();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parsePolicy } = require('../core/policy/load') as typeof import('../core/policy/load');
  return (cached = parsePolicy(fs.readFileSync(file, 'utf8'), file));
}

/** Where the baseline's YAML source lives when running from sources (for `warden explain` and editors). */
export function builtinPolicyFile(): string {
  const candidates = [path.resolve(__dirname, '../../../policies/baseline.yaml'), path.resolve(__dirname, '../policies/baseline.yaml')];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}
