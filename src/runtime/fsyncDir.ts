/**
 * Make a directory entry durable (a file created, renamed or removed in it) by fsyncing the directory.
 * Best effort: directories cannot be opened on Windows, and some file systems refuse fsync on one; the
 * file's own fsync and the atomicity of the rename still hold there.
 */
import * as fs from 'node:fs';

export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
