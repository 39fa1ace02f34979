/**
 * A stable copy of the hook runner for the hooks to run: `<stateDir>/runtime/<content hash>/hook.js`.
 *
 * Hooks that pointed into the VS Code extension's folder (or an npm package's) broke on every update: the
 * editor deletes the old version's folder, and until something rewrote the settings, Claude Code ran a
 * missing script, which older versions treat as "allow". A copy named by its content never changes under
 * a running hook and outlives the folder it came from; installing a new version writes a new directory and
 * then points the settings at it, so at every moment the hooks run a complete runner. The state directory
 * is covered by the baseline's self-protection rules and by the permissions.deny backstop.
 *
 * Old copies are kept (about 1 MB each): a project-scope install elsewhere may still run one.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What the hook needs at run time: the loader, the runner, and the policy loader for `--policy <file>`. */
export const RUNTIME_FILES = ['hook.js', 'hook-main.js', 'policy-loader.js'] as const;

export function runtimeRoot(stateDir: string): string {
  return path.join(stateDir, 'runtime');
}

export interface StagedRuntime {
  /** The stable hook script to put in the hook command. */
  hookScript: string;
  dir: string;
  /** False when an identical copy was already there. */
  created: boolean;
}

/**
 * Copy the runner next to `hookScript` into the state directory (once per distinct content) and return the
 * copy's hook.js. Throws when a runtime file is missing beside `hookScript`. `dryRun`: only say where.
 */
export function stageHookRuntime(hookScript: string, stateDir: string, dryRun = false): StagedRuntime {
  const srcDir = path.dirname(path.resolve(hookScript));
  if (path.basename(hookScript) !== 'hook.js') throw new Error(`the hook script must be a hook.js built beside hook-main.js, not ${hookScript}`);
  const contents = RUNTIME_FILES.map((f) => {
    const file = path.join(srcDir, f);
    try {
      return { name: f, bytes: fs.readFileSync(file) };
    } catch (e) {
      throw new Error(`cannot read ${file}, which the hook needs at run time (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  });
  const h = createHash('sha256');
  for (const c of contents) h.update(`${c.name}\0${c.bytes.length}\0`).update(c.bytes);
  const dir = path.join(runtimeRoot(stateDir), h.digest('hex').slice(0, 16));
  const target = path.join(dir, 'hook.js');
  if (complete(dir, contents)) return { hookScript: target, dir, created: false };
  if (dryRun) return { hookScript: target, dir, created: true };

  fs.mkdirSync(runtimeRoot(stateDir), { recursive: true, mode: 0o700 });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp, { mode: 0o755 });
  try {
    for (const c of contents) {
      const fd = fs.openSync(path.join(tmp, c.name), 'wx', 0o644);
      try {
        fs.writeSync(fd, c.bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    // A directory left half-written by a crash is not `complete`: move it aside before taking its name.
    if (fs.existsSync(dir)) fs.renameSync(dir, `${dir}.broken-${Date.now()}`);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another installer may have won the race with the same content.
    if (complete(dir, contents)) return { hookScript: target, dir, created: false };
    throw e;
  }
  return { hookScript: target, dir, created: true };
}

function complete(dir: string, contents: { name: string; bytes: Buffer }[]): boolean {
  try {
    return contents.every((c) => fs.readFileSync(path.join(dir, c.name)).equals(c.bytes));
  } catch {
    return false;
  }
}
