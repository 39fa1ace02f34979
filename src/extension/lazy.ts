/**
 * Loads the deferred half of the extension (deferred.ts → dist/extension-deferred.js) on first use, so
 * activation parses neither zod nor the shell analyser, the sync, enrolment and forwarding code.
 */
type Deferred = typeof import('./deferred');
let cached: Deferred | undefined;

export function deferred(): Deferred {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (cached ??= require('./deferred') as Deferred);
}
