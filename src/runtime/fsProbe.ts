/**
 * The file-system probe the analyser uses on a real machine: symlink targets, directories and shell-glob
 * expansion, all synchronous and bounded. POSIX-style policy paths (`/c:/users/x`) are mapped back to native
 * paths on Windows.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { FsProbe } from '../core/paths/paths';

const MAX_GLOB_RESULTS = 512;
const MAX_GLOB_DIRS = 2048;

function native(p: string): string {
  if (process.platform === 'win32' && /^\/[a-z]:/i.test(p)) return p.slice(1).replace(/\//g, '\\');
  return p;
}

export function nodeFsProbe(): FsProbe {
  return {
    readlink(p) {
      try {
        return fs.readlinkSync(native(p)).replace(/\\/g, '/');
      } catch {
        return undefined;
      }
    },
    isDir(p) {
      try {
        return fs.statSync(native(p)).isDirectory();
      } catch {
        return false;
      }
    },
    glob(pattern, cwd) {
      return expandGlob(pattern, cwd);
    },
    readText(p, maxBytes) {
      try {
        const st = fs.statSync(native(p));
        if (!st.isFile() || st.size > maxBytes) return undefined;
        return fs.readFileSync(native(p), 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** Bash-style pathname expansion (no dotglob, no globstar): `*`, `?`, `[…]` per segment. */
export function expandGlob(pattern: string, cwd: string): string[] | undefined {
  const absolute = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s) => s !== '');
  let current = [absolute ? '/' : cwd];
  let visited = 0;
  for (const seg of segs) {
    const next: string[] = [];
    const isPattern = /(^|[^\\])[*?[]/.test(seg);
    const literal = seg.replace(/\\(.)/g, '$1');
    for (const dir of current) {
      if (!isPattern) {
        next.push(nodePath.posix.join(dir, literal));
        continue;
      }
      if (++visited > MAX_GLOB_DIRS) return undefined;
      let entries: string[];
      try {
        entries = fs.readdirSync(native(dir));
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const e of entries) {
        if (e.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(e)) next.push(nodePath.posix.join(dir, e));
        if (next.length > MAX_GLOB_RESULTS) return undefined;
      }
    }
    current = next;
    if (!current.length) return [];
  }
  const existing = current.filter((p) => {
    try {
      fs.lstatSync(native(p));
      return true;
    } catch {
      return false;
    }
  });
  return existing.sort().map((p) => (absolute ? p : nodePath.posix.relative(cwd, p) || '.'));
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) re += escape(seg[++i]!);
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, 's');
}

const escape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
