/**
 * The session taint file: `<stateDir>/sessions/<first 32 hex of sha256(session_id)>.taint.ndjson`, one JSON line per
 * tainting read (src/core/session/taint.ts). Append-only with O_APPEND and one write() per line, so parallel
 * PostToolUse hooks of one session never lose each other's lines and no lock is needed. The state directory is
 * covered by the baseline's self-protection rule (guard.self-protect), so the agent cannot clear its own taint.
 *
 * Reading costs PreToolUse at most one open() (ENOENT: the session is not tainted) and one read of ≤ 64 KiB.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTaintLines, type TaintRecord } from '../core/session/taint';

/** A file that grew past this is not appended to (the session is tainted already) nor read further. */
export const MAX_TAINT_FILE = 64 * 1024;

export function sessionsDir(stateDir: string): string {
  return path.join(stateDir, 'sessions');
}

export function taintFile(stateDir: string, sessionId: string): string {
  return path.join(sessionsDir(stateDir), `${createHash('sha256').update(sessionId).digest('hex').slice(0, 32)}.taint.ndjson`);
}

/** The session's taint records; [] when it has none (the usual case: a single failed open). */
export function readTaint(stateDir: string, sessionId: string): TaintRecord[] {
  let fd: number;
  try {
    fd = fs.openSync(taintFile(stateDir, sessionId), fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
  try {
    const buf = Buffer.alloc(MAX_TAINT_FILE);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n <= 0) break;
      off += n;
    }
    return parseTaintLines(buf.subarray(0, off).toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

/** Append one record (durably). Returns false when the file is already at its cap (nothing written). */
export function appendTaint(stateDir: string, sessionId: string, record: TaintRecord): boolean {
  const file = taintFile(stateDir, sessionId);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const line = JSON.stringify(record) + '\n';
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  try {
    if (fs.fstatSync(fd).size + Buffer.byteLength(line) > MAX_TAINT_FILE) return false;
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

/** Remove taint files not touched for `maxAgeMs` (default 30 days); best effort, at most 200 files per call. */
export function pruneTaint(stateDir: string, now: number, maxAgeMs = 30 * 24 * 3600 * 1000): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(sessionsDir(stateDir));
  } catch {
    return 0;
  }
  for (const n of names.slice(0, 200)) {
    if (!n.endsWith('.taint.ndjson')) continue;
    const f = path.join(sessionsDir(stateDir), n);
    try {
      if (now - fs.statSync(f).mtimeMs > maxAgeMs) {
        fs.rmSync(f, { force: true });
        removed++;
      }
    } catch {
      /* raced with another hook */
    }
  }
  return removed;
}
