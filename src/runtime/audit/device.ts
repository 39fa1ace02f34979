/**
 * The device id: a random id created once per state directory, the `source` of every audit event
 * (`urn:agentwarden:device:<id>`) and the key under which the server sequences this device's chain.
 *
 * `<stateDir>/device.json` = `{"deviceId":"<uuid>","createdAt":"<RFC 3339>"}`. Created atomically even when
 * many hook processes start at once on a fresh machine: each writes a private temp file, fsyncs it, and
 * hard-links it to the final name; link fails with EEXIST for all but the first, and those read the winner's
 * file. A reader therefore never sees a half-written file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir } from '../fsyncDir';

export const DEVICE_FILE = 'device.json';
const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

const cache = new Map<string, string>();

function parse(file: string, text: string): string {
  let id: unknown;
  try {
    id = (JSON.parse(text) as { deviceId?: unknown }).deviceId;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); remove it to create a new device id`);
  }
  if (typeof id !== 'string' || !DEVICE_ID_RE.test(id)) throw new Error(`${file} has no valid "deviceId"; remove it to create a new device id`);
  return id;
}

/** The device id of `stateDir`, or null when none was created yet. Throws when the file is unreadable or invalid. */
export function readDeviceId(stateDir: string): string | null {
  const file = path.join(stateDir, DEVICE_FILE);
  const cached = cache.get(file);
  if (cached) return cached;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  const id = parse(file, text);
  cache.set(file, id);
  return id;
}

/** The device id of `stateDir`, created on first use. */
export function loadDeviceId(stateDir: string): string {
  const existing = readDeviceId(stateDir);
  if (existing) return existing;
  const file = path.join(stateDir, DEVICE_FILE);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const id = randomUUID();
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify({ deviceId: id, createdAt: new Date().toISOString() }) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    fsyncDir(stateDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const winner = readDeviceId(stateDir);
  if (!winner) throw new Error(`${file} vanished while it was created`);
  return winner;
}
