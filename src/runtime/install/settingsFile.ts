/**
 * Reading and writing Claude Code settings files safely: a corrupt file is reported with its position and
 * never overwritten; a write goes to a temp file in the same directory, is fsynced, and renamed over the
 * original (atomic on POSIX and NTFS), after a backup copy of the previous content.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir } from '../fsyncDir';

export class SettingsFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SettingsRead {
  file: string;
  exists: boolean;
  /** The raw text ('' when the file does not exist). */
  text: string;
  /** The parsed object ({} when the file does not exist or is empty). */
  data: Record<string, unknown>;
}

/** Line and column (1-based) of a character offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) (line++, (last = i));
  return { line, col: offset - last };
}

/** Parse settings JSON text; throws a SettingsFileError naming file:line:col on corrupt content. */
export function parseSettingsText(file: string, text: string): Record<string, unknown> {
  const body = text.replace(/^\uFEFF/, '');
  if (!body.trim()) return {};
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : body.length;
    const { line, col } = lineCol(body, pos);
    throw new SettingsFileError(file, `${file}:${line}:${col}: not valid JSON (${msg.replace(/ in JSON at position \d+.*$/, '')}). Claude Code ignores this whole file; fix it by hand — it was left untouched.`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SettingsFileError(file, `${file}: the settings file must hold a JSON object, not ${Array.isArray(data) ? 'an array' : typeof data}; it was left untouched.`);
  }
  return data as Record<string, unknown>;
}

export function readSettings(file: string): SettingsRead {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new SettingsFileError(file, `${file}: not a regular file`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof SettingsFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { file, exists: false, text: '', data: {} };
    throw new SettingsFileError(file, `${file}: cannot read (${(e as Error).message})`);
  }
  return { file, exists: true, text, data: parseSettingsText(file, text) };
}

/** The text we write: two-space JSON with a trailing newline (Claude Code's own style). */
export function settingsText(data: unknown): string {
  return JSON.stringify(data, null, 2) + '\n';
}

export interface WriteResult {
  file: string;
  backup?: string;
}

/**
 * Atomically replace `file` with `text`. When the file exists its previous content is first copied to
 * `<file>.agent-warden-<timestamp>.bak` (same directory, same mode). Creates missing parent directories.
 */
export function atomicWrite(file: string, text: string, opts: { backup?: boolean; mode?: number } = {}): WriteResult {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const result: WriteResult = { file };
  let mode = opts.mode ?? 0o644;
  let existing: Buffer | undefined;
  try {
    existing = fs.readFileSync(file);
    mode = fs.statSync(file).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (existing && opts.backup !== false) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const backup = `${file}.agent-warden-${stamp}.bak`;
    writeDurably(backup, existing, mode);
    result.backup = backup;
  }
  const tmp = path.join(dir, `.${path.basename(file)}.agent-warden-${process.pid}-${Date.now()}.tmp`);
  try {
    writeDurably(tmp, Buffer.from(text, 'utf8'), mode);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  fsyncDir(dir);
  return result;
}

/** Remove a file we created, durably. */
export function removeFile(file: string): void {
  fs.unlinkSync(file);
  fsyncDir(path.dirname(file));
}

function writeDurably(file: string, data: Buffer, mode: number): void {
  const fd = fs.openSync(file, 'w', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
