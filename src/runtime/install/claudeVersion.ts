/**
 * Which Claude Code is installed, and what it supports that Agent Warden relies on. Every feature gate below
 * was verified against the real CLI (test/e2e and research/claude-code-hooks.md); versions in between the
 * verified ones are assumed to behave like the older verified one unless stated.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Version = [number, number, number];

export function parseVersion(text: string): Version | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export const versionText = (v: Version): string => v.join('.');

/** Oldest version the e2e suite has run against. */
export const OLDEST_VERIFIED: Version = [2, 1, 197];
/** `onFailure: "block"` on command hooks: 2.1.294 ignores the key (file still valid), 2.1.295 honours it. */
export const ON_FAILURE_SINCE: Version = [2, 1, 295];

export interface ClaudeFeatures {
  /** Every event the guard installs (PreToolUse … ConfigChange) is known. */
  guardEvents: boolean;
  /** `onFailure: "block"` turns a crashed or timed-out hook into a block. */
  onFailureBlock: boolean;
  /** Hooks added after start-up are picked up even if `.claude/` did not exist at start-up. */
  reloadsNewClaudeDir: boolean;
  /** `--bare` still runs managed hooks (2.1.197 skipped them; 2.1.329 runs them). */
  bareKeepsManagedHooks: boolean;
  /** Older than anything the e2e suite verified. */
  untested: boolean;
}

export function featuresOf(v: Version): ClaudeFeatures {
  const atLeast = (w: Version): boolean => compareVersions(v, w) >= 0;
  return {
    guardEvents: atLeast(OLDEST_VERIFIED),
    onFailureBlock: atLeast(ON_FAILURE_SINCE),
    reloadsNewClaudeDir: atLeast([2, 1, 329]),
    bareKeepsManagedHooks: atLeast([2, 1, 329]),
    untested: !atLeast(OLDEST_VERIFIED),
  };
}

export interface ClaudeInfo {
  /** The binary asked, absolute. */
  path: string;
  version?: Version;
  /** What `--version` printed (first line), or why it could not be asked. */
  raw: string;
  features?: ClaudeFeatures;
}

/** Find an executable on PATH (no shell). */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT || '.EXE;.CMD;.BAT').split(';').map((e) => e.toLowerCase()) : [''];
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      try {
        const st = fs.statSync(p);
        if (st.isFile() && (process.platform === 'win32' || (st.mode & 0o111) !== 0)) return p;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** Ask a Claude Code binary for its version (`claude --version`), with a short timeout. */
export function claudeInfo(bin: string | undefined, env: NodeJS.ProcessEnv = process.env): ClaudeInfo | undefined {
  const p = bin ? path.resolve(bin) : which('claude', env);
  if (!p) return undefined;
  const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 15_000, env: { ...env, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } });
  if (r.error) return { path: p, raw: `cannot run: ${r.error.message}` };
  const raw = (r.stdout || r.stderr || '').trim().split('\n')[0] ?? '';
  const version = parseVersion(raw);
  if (!version) return { path: p, raw: raw || `exit code ${r.status}` };
  return { path: p, version, raw, features: featuresOf(version) };
}
