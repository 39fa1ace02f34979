/**
 * The signed-bundle part of the state directory (default ~/.agent-warden): layout, the anti-rollback state
 * kept in two copies, atomic writes, the client configuration and a lock for writers. Read by the hook at
 * every start, so it loads neither zod nor yaml and reads only small files.
 *
 *   <stateDir>/sync.json                         client configuration {server, bundleId}
 *   <stateDir>/sync-status.json                  last sync attempt, for the extension (syncStatus.ts)
 *   <stateDir>/trust/root.json                   pinned trust root (envelope), unless a managed one exists
 *   <stateDir>/trust/<N>.json                    trust versions reached by verified rotation (immutable)
 *   <stateDir>/bundles/<sha256(bundleId)>/<sha256>.json   accepted envelopes, exact bytes (active + previous)
 *   <stateDir>/bundles/state.json                state: per bundle floor + accepted sha256 + etag…, trust floor, maxSeenTime
 *   <stateDir>/bundle-floor.json                 mirror of the floors, trust floor and maxSeenTime
 *   <stateDir>/bundles/.lock                     held while a writer updates the state
 *
 * Bundle files are content-addressed, so committing a new bundle is one atomic rename of state.json: a crash
 * at any point leaves either the old or the new bundle active, never a state naming bytes that are not there.
 * Readers take the higher (epoch, version) of the two state copies, and the later maxSeenTime.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Hex } from '../core/bundle/envelope';
import { BundleError } from '../core/bundle/errors';
import type { BundleRecord } from '../core/bundle/events';
import { compareEpochVersion } from '../core/bundle/order';
import { fsyncDir } from './fsyncDir';

/** Machine-managed files (trust.json, sync.json) written by an administrator or MDM, not by the user. */
export function defaultManagedDir(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(process.env.ProgramData || 'C:\\ProgramData', 'AgentWarden');
  if (platform === 'darwin') return '/Library/Application Support/AgentWarden';
  return '/etc/agent-warden';
}

/** `undefined` means the platform default; `null` means no managed directory. */
export function resolveManagedDir(managedDir: string | null | undefined): string | null {
  return managedDir === undefined ? defaultManagedDir() : managedDir;
}

export interface StorePaths {
  stateDir: string;
  config: string;
  status: string;
  trustDir: string;
  anchor: string;
  bundlesDir: string;
  state: string;
  mirror: string;
  lock: string;
}

export function storePaths(stateDir: string): StorePaths {
  const bundlesDir = path.join(stateDir, 'bundles');
  const trustDir = path.join(stateDir, 'trust');
  return {
    stateDir,
    config: path.join(stateDir, 'sync.json'),
    status: path.join(stateDir, 'sync-status.json'),
    trustDir,
    anchor: path.join(trustDir, 'root.json'),
    bundlesDir,
    state: path.join(bundlesDir, 'state.json'),
    mirror: path.join(stateDir, 'bundle-floor.json'),
    lock: path.join(bundlesDir, '.lock'),
  };
}

export function trustVersionFile(stateDir: string, version: number): string {
  return path.join(stateDir, 'trust', `${version}.json`);
}

export function bundleDir(stateDir: string, bundleId: string): string {
  return path.join(stateDir, 'bundles', sha256Hex(bundleId));
}

export function bundleFile(stateDir: string, bundleId: string, sha256: string): string {
  return path.join(bundleDir(stateDir, bundleId), `${sha256}.json`);
}

// ---------------------------------------------------------------------------------------------------------
// State

export interface BundleStateEntry extends BundleRecord {
  previousSha256?: string;
  etag?: string;
  issuedAt?: string;
  expiresAt?: string;
  acceptedAt?: string;
  trustVersion?: number;
}

export interface StoreState {
  /** Latest trusted time seen (signed issuedAt values, server Date headers), ms; 0 when none. */
  maxSeenTime: number;
  /** Highest trust version accepted, per tenant. */
  trust: Record<string, number>;
  bundles: Record<string, BundleStateEntry>;
}

export interface LoadedStore {
  state: StoreState;
  /** Bundle ids whose two state copies name different bytes for the same (epoch, version): the two sha256. */
  conflicts: Record<string, [string, string]>;
  /** Copies that were missing or unreadable (informational). */
  problems: string[];
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isSha = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function emptyState(): StoreState {
  return { maxSeenTime: 0, trust: {}, bundles: {} };
}

/** Read one state copy; anything malformed is dropped field by field (the other copy may still hold it). */
function readStateFile(file: string, problems: string[]): StoreState {
  const out = emptyState();
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push(code === 'ENOENT' ? `${path.basename(file)} is missing` : `${path.basename(file)} is unreadable (${(e as Error).message})`);
    return out;
  }
  if (!isObj(raw) || raw.schema !== 1) {
    problems.push(`${path.basename(file)} is not a state file`);
    return out;
  }
  const seen = typeof raw.maxSeenTime === 'string' ? Date.parse(raw.maxSeenTime) : NaN;
  if (Number.isFinite(seen)) out.maxSeenTime = seen;
  if (isObj(raw.trust)) for (const [tenant, v] of Object.entries(raw.trust)) if (isPosInt(v)) out.trust[tenant] = v;
  if (isObj(raw.bundles)) {
    for (const [id, e] of Object.entries(raw.bundles)) {
      if (!isObj(e) || !isPosInt(e.epoch) || !isPosInt(e.version) || !isSha(e.sha256)) {
        problems.push(`${path.basename(file)}: entry ${JSON.stringify(id)} is malformed`);
        continue;
      }
      const entry: BundleStateEntry = { epoch: e.epoch, version: e.version, sha256: e.sha256 };
      if (isSha(e.previousSha256)) entry.previousSha256 = e.previousSha256;
      if (typeof e.etag === 'string') entry.etag = e.etag;
      if (typeof e.issuedAt === 'string') entry.issuedAt = e.issuedAt;
      if (typeof e.expiresAt === 'string') entry.expiresAt = e.expiresAt;
      if (typeof e.acceptedAt === 'string') entry.acceptedAt = e.acceptedAt;
      if (isPosInt(e.trustVersion)) entry.trustVersion = e.trustVersion;
      out.bundles[id] = entry;
    }
  }
  return out;
}

/** Both copies merged: the higher (epoch, version) per bundle, the later maxSeenTime, the higher trust floor. */
export function readStore(stateDir: string): LoadedStore {
  const p = storePaths(stateDir);
  const problems: string[] = [];
  const primary = readStateFile(p.state, problems);
  const mirror = readStateFile(p.mirror, problems);
  const state: StoreState = { maxSeenTime: Math.max(primary.maxSeenTime, mirror.maxSeenTime), trust: { ...primary.trust }, bundles: {} };
  for (const [t, v] of Object.entries(mirror.trust)) state.trust[t] = Math.max(state.trust[t] ?? 0, v);
  const conflicts: Record<string, [string, string]> = {};
  for (const id of new Set([...Object.keys(primary.bundles), ...Object.keys(mirror.bundles)])) {
    const a = primary.bundles[id];
    const b = mirror.bundles[id];
    if (a && b) {
      const cmp = compareEpochVersion(a, b);
      if (cmp === 0 && a.sha256 !== b.sha256) conflicts[id] = [a.sha256, b.sha256];
      state.bundles[id] = cmp >= 0 ? a : { ...b };
    } else state.bundles[id] = (a ?? b)!;
  }
  return { state, conflicts, problems };
}

/** Write both copies (primary first: it is the commit point for new bundle files). */
export function writeStore(stateDir: string, state: StoreState): void {
  const p = storePaths(stateDir);
  const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : undefined);
  const primary = { schema: 1, maxSeenTime: iso(state.maxSeenTime), trust: state.trust, bundles: state.bundles };
  const mirrorBundles: Record<string, BundleRecord> = {};
  for (const [id, e] of Object.entries(state.bundles)) mirrorBundles[id] = { epoch: e.epoch, version: e.version, sha256: e.sha256 };
  const mirror = { schema: 1, maxSeenTime: iso(state.maxSeenTime), trust: state.trust, bundles: mirrorBundles };
  writeFileAtomic(p.state, JSON.stringify(primary, null, 2) + '\n');
  writeFileAtomic(p.mirror, JSON.stringify(mirror, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------------------
// Files

function renameRetrying(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Windows: a reader (antivirus, another process) briefly holding the target.
      if ((code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') && attempt < 10) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * (attempt + 1));
        continue;
      }
      throw e;
    }
  }
}

/** Write a file so that readers see the old or the new content, never a mix: temp file, fsync, rename. */
export function writeFileAtomic(file: string, data: Buffer | string, mode = 0o644): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    renameRetrying(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** The file's bytes, or undefined when it does not exist. */
export function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Remove bundle files other than those named (active and previous). */
export function pruneBundleFiles(stateDir: string, bundleId: string, keep: (string | undefined)[]): void {
  const dir = bundleDir(stateDir, bundleId);
  const names = new Set(keep.filter((k): k is string => !!k).map((k) => `${k}.json`));
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) if (/^[0-9a-f]{64}\.json$/.test(e) && !names.has(e)) fs.rmSync(path.join(dir, e), { force: true });
}

// ---------------------------------------------------------------------------------------------------------
// Lock

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Run `fn` holding the state lock (an exclusively created file). A lock older than `staleMs` is taken over
 * (its holder died). Throws BundleError `busy` after `timeoutMs`.
 */
export async function withStoreLock<T>(stateDir: string, fn: () => T | Promise<T>, opts: { timeoutMs?: number; staleMs?: number } = {}): Promise<T> {
  const { lock } = storePaths(stateDir);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const staleMs = opts.staleMs ?? 60_000;
  fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  const start = Date.now();
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = fs.openSync(lock, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > staleMs) {
          fs.rmSync(lock, { force: true });
          continue;
        }
      } catch {
        continue;
      }
      if (Date.now() - start > timeoutMs) throw new BundleError('busy', `the state directory is locked by another process (${lock})`);
      await sleep(25 + Math.random() * 50);
    }
  }
  try {
    fs.writeSync(fd, `${process.pid} ${new Date().toISOString()}\n`);
    return await fn();
  } finally {
    fs.closeSync(fd);
    fs.rmSync(lock, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Client configuration

export interface ClientConfig {
  /** Base URL of the policy server, e.g. https://warden.example.com */
  server?: string;
  /** The bundle this machine enforces, e.g. acme/default. */
  bundleId?: string;
}

function readConfigFile(file: string): ClientConfig {
  const bytes = readIfExists(file);
  if (!bytes) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(raw)) throw new Error(`${file}: not a JSON object`);
  const out: ClientConfig = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'server' && k !== 'bundleId') throw new Error(`${file}: unknown field ${JSON.stringify(k)} (allowed: server, bundleId)`);
    if (typeof v !== 'string' || !v) throw new Error(`${file}: ${k} must be a non-empty string`);
    out[k] = v;
  }
  return out;
}

/** The client configuration: `<managedDir>/sync.json` fields win over `<stateDir>/sync.json`. */
export function readClientConfig(stateDir: string, managedDir: string | null): ClientConfig {
  const user = readConfigFile(storePaths(stateDir).config);
  const managed = managedDir ? readConfigFile(path.join(managedDir, 'sync.json')) : {};
  return { ...user, ...managed };
}

export function writeClientConfig(stateDir: string, config: ClientConfig): void {
  writeFileAtomic(storePaths(stateDir).config, JSON.stringify(config, null, 2) + '\n');
}
