/**
 * Path canonicalisation for policy matching.
 *
 * Every path the policy sees is absolute, POSIX-separated and free of `.`/`..`/repeated slashes. Windows
 * spellings (`C:\Users\x`, `\\?\C:\…`, `file:///C:/…`) become `c:/users/x`-style paths. Symlinks are resolved
 * through a `FsProbe` the caller injects (the core itself performs no I/O): both the path as written and the
 * physical target are reported, so a rule on either catches the access.
 */
import { DYN } from '../types';

export type Platform = 'linux' | 'darwin' | 'win32';

/** The file-system questions the analyser may ask. All optional: without them analysis is purely lexical. */
export interface FsProbe {
  /** Target of `p` if `p` itself is a symbolic link, else undefined. */
  readlink(p: string): string | undefined;
  /** Whether `p` exists as a directory. */
  isDir?(p: string): boolean;
  /** Expand a shell glob (`*`, `?`, `[…]`; dotfiles only when the pattern says so) relative to `cwd`. */
  glob?(pattern: string, cwd: string): string[] | undefined;
  /** Text of a small file the command will run (package.json scripts), undefined when absent or larger. */
  readText?(p: string, maxBytes: number): string | undefined;
}

const MAX_LINK_HOPS = 40;

/** Lexically normalise an absolute POSIX path. */
export function normalizeAbs(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/** Convert a platform-specific spelling to the POSIX form the policy matches against. */
export function toPosix(p: string, platform: Platform): string {
  let s = p;
  if (s.startsWith('file://')) {
    s = decodeURIComponentSafe(s.slice('file://'.length));
    if (/^\/[A-Za-z]:/.test(s)) s = s.slice(1);
  }
  if (platform === 'win32' || /^[A-Za-z]:[\\/]/.test(s) || s.startsWith('\\\\')) {
    s = s.replace(/^\\\\[?.]\\(UNC\\)?/i, (_m, unc) => (unc ? '//' : ''));
    s = s.replace(/\\/g, '/');
    const drive = /^([A-Za-z]):(\/|$)/.exec(s);
    if (drive) s = '/' + drive[1]!.toLowerCase() + ':' + s.slice(2);
  }
  return s;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

const PROC_SELF = `(?:self|thread-self|\\d+|${DYN})(?:/task/(?:\\d+|${DYN}))?`;
const PROC_ROOT = new RegExp(`^/proc/${PROC_SELF}/root(/.*)?$`);
const PROC_CWD = new RegExp(`^/proc/${PROC_SELF}/cwd(/.*)?$`);
const FD_ALIAS = new RegExp(`^(?:/dev/fd/\\d+|/dev/std(?:in|out|err)|/proc/(?:self|thread-self|${DYN})(?:/task/(?:\\d+|${DYN}))?/fd/\\d+)$`);
const STDIN_ALIAS = new RegExp(`^(?:-|/dev/stdin|/dev/fd/0|/proc/(?:self|thread-self|${DYN})(?:/task/(?:\\d+|${DYN}))?/fd/0)$`);

/**
 * A path through a process's /proc entry, as the file it leads to: `/proc/<pid>/root/x` and
 * `/proc/self/task/<tid>/root/x` are `/x`; `/proc/<pid>/cwd/x` is `x` in the current directory (the shell's
 * own, `$$`, is the common case). The hook must not ask its own /proc: its pid, root and cwd are not the
 * agent's.
 */
export function procAlias(p: string, cwd: string): string {
  if (!p.startsWith('/proc/')) return p;
  const root = PROC_ROOT.exec(p);
  if (root) return normalizeAbs(root[1] || '/');
  const cwdLink = PROC_CWD.exec(p);
  if (cwdLink) return resolveLexical(cwd, '.' + (cwdLink[1] ?? ''));
  return p;
}

/** A name for one of the shell's own file descriptors (`/dev/fd/3`, `/dev/stdout`, `/proc/self/fd/1`). */
export function isFdAlias(p: string): boolean {
  return FD_ALIAS.test(p);
}

/** A name for standard input, as a script operand (`sh /dev/stdin`, `. /dev/fd/0`, `bash -`). */
export function isStdinAlias(p: string): boolean {
  return STDIN_ALIAS.test(p);
}

/** Join `p` onto `base` (absolute) unless `p` is absolute, then normalise. */
export function resolveLexical(base: string, p: string): string {
  if (p.startsWith(DYN)) return normalizeAbs('/' + p);
  return normalizeAbs(isAbsolute(p) ? p : base + '/' + p);
}

/**
 * Physical path: follow symlinks in every component (including the last, even when its target does not exist).
 * Returns the lexical path unchanged when no probe is available or nothing is a link.
 */
export function resolvePhysical(p: string, fs: FsProbe | undefined, virtualLinks?: ReadonlyMap<string, string>): string {
  if (!fs && !virtualLinks?.size) return p;
  if (p.includes(DYN)) return p;
  let hops = 0;
  let done = '/';
  let rest = p.split('/').filter(Boolean);
  while (rest.length) {
    const seg = rest.shift()!;
    if (seg === '.') continue;
    if (seg === '..') {
      done = parent(done);
      continue;
    }
    const candidate = done === '/' ? '/' + seg : done + '/' + seg;
    // /proc and /dev/fd links describe the process that reads them, here the hook, not the agent's shell
    // (procAlias maps what can be mapped): the rest of such a path stays as written.
    if (candidate === '/proc' || candidate === '/dev/fd' || /^\/dev\/std(?:in|out|err)$/.test(candidate)) return normalizeAbs([candidate, ...rest].join('/'));
    const target = virtualLinks?.get(candidate) ?? safeReadlink(fs, candidate);
    if (target === undefined) {
      done = candidate;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) return candidate;
    const t = target.replace(/\/+$/, '') || '/';
    rest = [...t.split('/').filter(Boolean), ...rest];
    if (t.startsWith('/')) done = '/';
  }
  return done;
}

function safeReadlink(fs: FsProbe | undefined, p: string): string | undefined {
  try {
    return fs?.readlink(p);
  } catch {
    return undefined;
  }
}

function parent(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function basename(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t.slice(t.lastIndexOf('/') + 1);
}

/** `~`, `~/x`, `$HOME/x`, `${HOME}/x` → absolute, for paths that come from tool arguments rather than a shell. */
export function expandHome(p: string, home: string): string {
  if (p === '~' || p.startsWith('~/')) return home + p.slice(1);
  if (p === '$HOME' || p.startsWith('$HOME/')) return home + p.slice(5);
  if (p === '${HOME}' || p.startsWith('${HOME}/')) return home + p.slice(7);
  return p;
}
