/**
 * The enrolment state file, `<stateDir>/enrollment.json` (mode 0600): read by the hook (exception grants)
 * and written by `enroll` (enroll.ts). Kept apart from enroll.ts so the hook's bundle does not pull in the
 * enrolment protocol and its schema validation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIfExists, writeFileAtomic } from './bundleStore';

export const ENROLLMENT_FILE = 'enrollment.json';

export interface Enrollment {
  schema: 1;
  server: string;
  deviceId: string;
  userId: string;
  tenant: string;
  bundleId: string | null;
  deviceToken: string;
  enrolledAt: string;
}

export function enrollmentPath(stateDir: string): string {
  return path.join(stateDir, ENROLLMENT_FILE);
}

/** The enrolment of this state directory, or null. Throws on a malformed or world-readable file. */
export function readEnrollment(stateDir: string): Enrollment | null {
  const file = enrollmentPath(stateDir);
  const bytes = readIfExists(file);
  if (!bytes) return null;
  if (process.platform !== 'win32') {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) throw new Error(`${file} holds the device token but is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}); run \`warden enroll\` again`);
  }
  for (const k of ['server', 'deviceId', 'userId', 'tenant', 'deviceToken', 'enrolledAt']) {
    if (typeof v[k] !== 'string' || !v[k]) throw new Error(`${file}: missing ${k}; run \`warden enroll\` again`);
  }
  return { schema: 1, server: v.server as string, deviceId: v.deviceId as string, userId: v.userId as string, tenant: v.tenant as string, bundleId: typeof v.bundleId === 'string' ? v.bundleId : null, deviceToken: v.deviceToken as string, enrolledAt: v.enrolledAt as string };
}

export function writeEnrollment(stateDir: string, e: Enrollment): void {
  const file = enrollmentPath(stateDir);
  writeFileAtomic(file, JSON.stringify(e, null, 2) + '\n', 0o600);
  if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
}
