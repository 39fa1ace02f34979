/**
 * Resolving a policy reference: `builtin:<name>`, or a YAML/JSON policy file. The loader (yaml + zod) is
 * required lazily so the hook pays for it only when it evaluates a policy file.
 */
import * as fs from 'node:fs';
import type { PolicyDoc } from '../core/policy/schema';
import { builtinPolicy, isBuiltin } from './builtin';

export function loadPolicyRef(ref: string): PolicyDoc {
  if (isBuiltin(ref)) return builtinPolicy(ref);
  const text = fs.readFileSync(ref, 'utf8');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parsePolicy } = require('../core/policy/load') as typeof import('../core/policy/load');
  return parsePolicy(text, ref);
}
