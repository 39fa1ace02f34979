/**
 * A synchronous, cross-process lock for the audit spool, from Node built-ins only: a generation-numbered
 * lease in a lock directory.
 *
 *   <dir>/g-<n:016d>       generation n, held; content = holder token `pid host bootTime createdMs nonce`
 *   <dir>/g-<n:016d>.rel   generation n, released (renamed by its holder)
 *
 * The newest generation decides: the lock is free when it is released (or there is none), held otherwise.
 *
 * Acquire: list the directory; if the newest generation n is released, or held by a holder that is provably
 * gone, create g-(n+1) exclusively (the token is written to a private file that is then hard-linked to the
 * generation name: link fails with EEXIST like O_EXCL, and the lease never exists without its token). Exactly one process can create a given generation, so two
 * processes that both saw n free, or both judged n's holder dead, cannot both win. The winner then lists the
 * directory again and backs off if a newer generation exists or its own generation was already released
 * (it acted on an outdated listing and re-created an old number). Nothing is ever renamed or deleted out from
 * under a live holder: taking over a stale lease *is* creating the next generation.
 *
 * A holder is gone when it ran on this host and boot and `kill(pid, 0)` says ESRCH, or on a previous boot
 * of this host. A holder that looks alive loses its lease only after `staleMs` (pid reuse, a hung or
 * stopped process, another host). The holder checks `assertHeld()` right before it writes: a holder that
 * stalled past `staleMs` and was superseded fails instead of writing.
 *
 * Release: rename g-n → g-n.rel (atomic). Each winner deletes generations older than n-2.
 * Waiters sleep with jittered exponential back-off (Atomics.wait: a real sleep, not a spin).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Block the thread for `ms` (fractions allowed) without spinning. */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/** Longest sleep between two checks of a held lock: bounds both the hand-over delay and the polling load. */
export const MAX_BACKOFF_MS = 10;

const HOST = os.hostname();
/** Boot time in seconds (±1 s): tells a pid of this boot from one of a previous boot. */
const BOOT = Math.round(Date.now() / 1000 - os.uptime());

/**
 * Jittered exponential back-off: from `delay` (0.05 ms) growing ×1.5 up to `maxMs`, and beyond it up to a tenth of the
 * time already waited (at most 100 ms): hundreds of waiting processes then wake up rarely enough not to
 * starve the one holding the lock of CPU, while a short wait stays short.
 */
export class Backoff {
  private readonly start = Date.now();
  constructor(
    private readonly maxMs: number = MAX_BACKOFF_MS,
    private delay = 0.05,
  ) {}
  sleep(limitMs = Infinity): void {
    sleepSync(Math.min(this.delay * (0.5 + Math.random()), limitMs));
    const cap = Math.min(100, Math.max(this.maxMs, (Date.now() - this.start) / 10));
    this.delay = Math.min(this.delay * 1.5, cap);
  }
}

export interface LockToken {
  pid: number;
  host: string;
  boot: number;
  created: number;
  nonce: string;
}

export function formatToken(t: LockToken): string {
  return `${t.pid} ${encodeURIComponent(t.host)} ${t.boot} ${t.created} ${t.nonce}\n`;
}

export function parseToken(text: string): LockToken | null {
  const m = /^(\d+) (\S+) (\d+) (\d+) ([0-9a-f]{8,64})\n?$/.exec(text);
  if (!m) return null;
  let host: string;
  try {
    host = decodeURIComponent(m[2]!);
  } catch {
    return null;
  }
  return { pid: Number(m[1]), host, boot: Number(m[3]), created: Number(m[4]), nonce: m[5]! };
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder is known to be gone (not just slow). */
export function holderDead(t: LockToken): boolean {
  if (t.host !== HOST) return false;
  if (Math.abs(t.boot - BOOT) > 5) return true; // a previous boot of this machine
  return !pidAlive(t.pid);
}

export class LockError extends Error {
  constructor(
    message: string,
    readonly code: 'BUSY' | 'IO' | 'LOST',
  ) {
    super(message);
  }
}

export interface LockOptions {
  /** Give up after this long (default 2500 ms). */
  timeoutMs?: number;
  /** A lease whose holder seems alive is taken over after this long (default 10 s). */
  staleMs?: number;
  /** Called when the lease was taken over from a gone or stale holder (token null: it had not written one). */
  onBroken?: (holder: LockToken | null) => void;
}

const GEN_RE = /^g-(\d{16})(\.rel)?$/;

export const genName = (n: number): string => `g-${String(n).padStart(16, '0')}`;

interface Scan {
  /** Newest generation number (0 when none). */
  max: number;
  /** Whether g-max (unreleased) exists. */
  held: boolean;
  /** Whether g-max.rel exists. */
  released: boolean;
  names: string[];
}

function scan(dir: string): Scan {
  const names = fs.readdirSync(dir);
  let max = 0;
  let held = false;
  let released = false;
  for (const n of names) {
    const m = GEN_RE.exec(n);
    if (!m) continue;
    const g = Number(m[1]);
    if (g > max) {
      max = g;
      held = !m[2];
      released = !!m[2];
    } else if (g === max) {
      if (m[2]) released = true;
      else held = true;
    }
  }
  return { max, held, released, names };
}

function readText(p: string): string | null {
  try {
    return fs.readFileSync(p, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export interface HolderInfo {
  generation: number;
  token: LockToken | null;
  ageMs: number;
}

/** Who holds the lock in `dir` now (null when free). For status displays. */
export function lockHolder(dir: string): HolderInfo | null {
  let s: Scan;
  try {
    s = scan(dir);
  } catch {
    return null;
  }
  if (!s.held) return null;
  const file = path.join(dir, genName(s.max));
  try {
    const token = parseToken(readText(file) ?? '');
    const mtime = fs.statSync(file).mtimeMs;
    return { generation: s.max, token, ageMs: Date.now() - Math.min(mtime, token?.created ?? mtime) };
  } catch {
    return null;
  }
}

export class FileLock {
  private constructor(
    readonly dir: string,
    readonly generation: number,
    readonly token: LockToken,
  ) {}

  /**
   * One attempt, no waiting: take the lock if it is free or its holder is gone/stale. Returns the lock, or
   * the file of the live holder's generation (it disappears on release: poll it with one stat).
   * Throws LockError('IO') on I/O errors.
   */
  static tryAcquire(dir: string, opts: LockOptions = {}): { lock: FileLock; heldFile?: undefined; holder?: undefined } | { lock?: undefined; heldFile: string; holder: LockToken | null } {
    const staleMs = opts.staleMs ?? 10_000;
    const nonce = randomBytes(8).toString('hex');
    for (let round = 0; ; round++) {
      let s: Scan;
      try {
        try {
          s = scan(dir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
          s = scan(dir);
        }
      } catch (e) {
        throw new LockError(`cannot read the lock directory ${dir}: ${(e as Error).message}`, 'IO');
      }
      let takeover: { holder: LockToken | null } | null = null;
      if (s.held) {
        // Is the newest holder gone or stale?
        const file = path.join(dir, genName(s.max));
        let holder: LockToken | null;
        try {
          holder = parseToken(readText(file) ?? '');
          const mtime = fs.statSync(file).mtimeMs;
          const age = Date.now() - Math.min(mtime, holder?.created ?? mtime);
          if (!((holder !== null && holderDead(holder)) || age > staleMs)) return { heldFile: file, holder };
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new LockError(`cannot inspect the lock ${file}: ${(e as Error).message}`, 'IO');
          continue; // released (renamed) while we looked: look again
        }
        takeover = { holder };
      }
      const gen = s.max + 1;
      const mine = path.join(dir, genName(gen));
      // The lease appears with its token in one step (write a private file, hard-link it to the generation
      // name; link fails with EEXIST like O_EXCL), so no one ever sees an empty lease. Its age counts from
      // now, not from when the caller started waiting.
      const token: LockToken = { pid: process.pid, host: HOST, boot: BOOT, created: Date.now(), nonce };
      const tmp = path.join(dir, `t-${nonce}`);
      let won = false;
      try {
        fs.writeFileSync(tmp, formatToken(token), { mode: 0o600 });
        fs.linkSync(tmp, mine);
        won = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          fs.rmSync(tmp, { force: true });
          throw new LockError(`cannot create the lock ${mine}: ${(e as Error).message}`, 'IO');
        }
      } finally {
        try {
          fs.unlinkSync(tmp);
        } catch {
          /* never created */
        }
      }
      if (won) {
        // Did we act on an outdated listing? Then someone else holds a newer generation, or ours was an old
        // number already used and released: back off.
        let after: Scan;
        try {
          after = scan(dir);
        } catch (e) {
          fs.rmSync(mine, { force: true });
          throw new LockError(`cannot read the lock directory ${dir}: ${(e as Error).message}`, 'IO');
        }
        if (after.max === gen && !after.names.includes(`${genName(gen)}.rel`)) {
          const lock = new FileLock(dir, gen, token);
          lock.cleanup(after.names);
          if (takeover) opts.onBroken?.(takeover.holder);
          return { lock };
        }
        fs.rmSync(mine, { force: true });
      }
      // Someone else won this generation. Look again (at once: they may have been a stale re-creation).
      if (round >= 3) {
        const now = scan(dir);
        if (now.held) {
          const file = path.join(dir, genName(now.max));
          return { heldFile: file, holder: parseToken(readText(file) ?? '') };
        }
      }
    }
  }

  /** Acquire the lock directory `dir` (created if missing), waiting. Throws LockError BUSY on timeout, IO on I/O errors. */
  static acquire(dir: string, opts: LockOptions = {}): FileLock {
    const timeoutMs = opts.timeoutMs ?? 2500;
    const start = Date.now();
    const wait = new Backoff();
    for (;;) {
      const r = FileLock.tryAcquire(dir, opts);
      if (r.lock) return r.lock;
      // Held by a live holder: wait until its generation file goes (renamed on release), one stat per
      // wake-up, and re-inspect the holder every 100 ms (staleness).
      const recheckAt = Date.now() + 100;
      for (;;) {
        const waited = Date.now() - start;
        if (waited >= timeoutMs) {
          const h = r.holder;
          const who = h ? `pid ${h.pid} on ${h.host}, held ${Date.now() - h.created} ms` : 'unknown holder';
          throw new LockError(`the audit spool lock ${dir} is busy (${who}); gave up after ${waited} ms`, 'BUSY');
        }
        wait.sleep(timeoutMs - waited);
        if (!fs.existsSync(r.heldFile) || Date.now() >= recheckAt) break;
      }
    }
  }

  /** Delete generations older than this one minus 2 (kept: the two before, for slow readers' listings). */
  private cleanup(names: string[]): void {
    for (const n of names) {
      const m = GEN_RE.exec(n);
      try {
        if (m && Number(m[1]) < this.generation - 2) fs.unlinkSync(path.join(this.dir, n));
        // token files of processes killed mid-acquire
        else if (n.startsWith('t-') && fs.statSync(path.join(this.dir, n)).mtimeMs < Date.now() - 60_000) fs.unlinkSync(path.join(this.dir, n));
      } catch {
        /* another winner cleaned it */
      }
    }
  }

  /**
   * Throw LockError('LOST') unless this generation is still the newest and unreleased. A newer generation
   * is always created as newest + 1, so checking for generation + 1 (held or released) is enough.
   */
  assertHeld(): void {
    const next = path.join(this.dir, genName(this.generation + 1));
    if (fs.existsSync(next) || fs.existsSync(`${next}.rel`) || !fs.existsSync(path.join(this.dir, genName(this.generation)))) {
      throw new LockError(`lost the audit spool lock ${this.dir} (held longer than the stale limit and taken over by another process)`, 'LOST');
    }
  }

  /** Release (rename to .rel). Never throws: a lease left behind is taken over as stale. */
  release(): void {
    try {
      fs.renameSync(path.join(this.dir, genName(this.generation)), path.join(this.dir, `${genName(this.generation)}.rel`));
    } catch {
      /* taken over already */
    }
  }
}
