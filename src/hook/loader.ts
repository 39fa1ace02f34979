/**
 * Entry point of dist/hook.js: a small loader for the hook runner bundle (dist/hook-main.js) that keeps a V8
 * code cache beside it (`hook-main.js.<sha256 of the source>.<node version>-<arch>.cache`). The hook starts on every tool call and
 * must stay close to a bare `node` start; compiling the ~250 KB runner from source costs about as much as
 * all of its decision work, and a code cache saves most of that.
 *
 * - The cache is only an optimisation: a missing, stale or rejected cache (another Node version, another
 *   bundle) just means a normal compile, and a fresh cache is written atomically when the process exits.
 *   Where dist/ is not writable there is no cache and nothing else changes.
 * - The cache has the same trust as the script beside it (dist/ is protected by the policy's self-protection
 *   rule and the permissions.deny backstop). Its name carries a hash of the exact source: V8's own check
 *   compares little more than the source length, so a cache is never offered to a different bundle.
 * - Fail closed: if the runner cannot be loaded at all, print a deny and exit 0.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

const DENY = (reason: string): string =>
  JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: `Agent Warden blocked this call: ${reason}` } }) + '\n';

function load(): void {
  const main = path.join(__dirname, 'hook-main.js');
  const source = fs.readFileSync(main, 'utf8').replace(/^#!.*/, '');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 20);
  const cacheFile = `${main}.${hash}.${process.version}-${process.arch}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: main, ...(cachedData ? { cachedData } : {}) });
  const mod = new Module(main, module);
  if (!cachedData || script.cachedDataRejected) {
    // Made at exit, so it also holds every function this run compiled lazily, and, after the runner's warm-up
    // (warm.ts: in-memory PreToolUse/PostToolUse work), the hot path whatever event this first run was.
    process.once('exit', () => {
      try {
        (mod.exports as { warm?: () => void }).warm?.();
      } catch {
        /* the cache is an optimisation */
      }
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
        fs.renameSync(tmp, cacheFile);
        // Caches of earlier builds are never used again.
        for (const f of fs.readdirSync(__dirname)) {
          if (f.startsWith('hook-main.js.') && f.endsWith('.cache') && !cacheFile.endsWith(f)) fs.rmSync(path.join(__dirname, f), { force: true });
        }
      } catch {
        try {
          fs.unlinkSync(tmp);
        } catch {
          /* nothing written */
        }
      }
    });
  }
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  mod.filename = main;
  fn.call(mod.exports, mod.exports, require, mod, main, __dirname);
}

try {
  load();
} catch (e) {
  process.stdout.write(DENY(`the hook runner could not be loaded (${e instanceof Error ? e.message : String(e)})`), () => process.exit(0));
}
