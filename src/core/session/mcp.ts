/**
 * MCP server inventory: which MCP servers the settings layers configure, a hash of each definition, and how it
 * compares with what Agent Warden recorded before (trust on first use): `new` the first time a server is seen,
 * `known` while its definition is unchanged, `changed` when its command, arguments, package version, URL,
 * environment or the server script it runs differ from the accepted definition (a possible rug pull).
 *
 * What Claude Code lets a hook see (verified 2.1.197/2.1.329): hooks receive tool calls (`mcp__<server>__<tool>`
 * and their arguments) and outputs, never the servers' tool descriptions. So the inventory hashes what can be
 * read from disk: each server's configuration and, for stdio servers started from a local script or binary,
 * that file's bytes; npx/uvx servers without an exact version are flagged unpinned (they can change at any
 * start). Tool names are learned from the calls the hook sees.
 *
 * Pure: the hook (src/hook/mcp.ts) reads the files and stores the inventory.
 */
import { createHash } from 'node:crypto';
import { scrubSecrets } from '../scan/secrets';
import type { McpStatus } from '../types';

export type McpScope = 'local' | 'project' | 'user' | 'managed';
/** Claude Code's precedence for a server name defined in several scopes: local, then project, then user. */
const PRECEDENCE: McpScope[] = ['local', 'project', 'user', 'managed'];

export interface McpServerSummary {
  transport: string;
  command?: string;
  args?: string[];
  url?: string;
  envKeys: string[];
  headerKeys: string[];
  /** npx/uvx/bunx/dlx package with an exact version (true), without one (false); null for other servers. */
  pinned: boolean | null;
  /** Local files the server runs, with their sha256 (first 16 hex). */
  files: { path: string; sha256: string }[];
}

export interface McpServerEntry {
  name: string;
  scope: McpScope;
  /** The project a project/local server belongs to ('' for user and managed servers). */
  project: string;
  /** The file it is configured in. */
  source: string;
  /** sha256 of the canonical definition (values included, hashed, never stored) and of the files it runs. */
  hash: string;
  summary: McpServerSummary;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** JSON with sorted keys: the same definition always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v === undefined ? null : v);
}

const RUNNERS = new Set(['npx', 'uvx', 'bunx', 'pnpx']);

/** Whether a package-runner server pins its package to an exact version. */
export function pinnedOf(command: string | undefined, args: string[]): boolean | null {
  if (!command) return null;
  const prog = command.split(/[\\/]/).pop()!.replace(/\.(cmd|exe)$/i, '');
  let rest = args;
  if (RUNNERS.has(prog)) rest = args;
  else if ((prog === 'pnpm' || prog === 'yarn') && args[0] === 'dlx') rest = args.slice(1);
  else if (prog === 'uv' && args[0] === 'tool' && args[1] === 'run') rest = args.slice(2);
  else return null;
  const pkg = rest.find((a) => !a.startsWith('-'));
  if (!pkg) return false;
  // @scope/name@1.2.3, name@1.2.3, name==1.2.3 (uvx)
  return /^(?:@[^/]+\/)?[^@=\s]+(?:@|==)v?\d+\.\d+\.\d+(?:[-+][\w.]+)?$/.test(pkg);
}

/** The local files a stdio server would run: absolute (or project-relative) paths among its command and arguments. */
export function candidateFiles(command: string | undefined, args: string[]): string[] {
  const out: string[] = [];
  for (const a of [command ?? '', ...args]) {
    if (/^(?:\/|\.{1,2}\/|[A-Za-z]:[\\/])[^\s]*\.(?:js|mjs|cjs|ts|py|rb|go|sh|jar|exe)$/i.test(a) || (a.startsWith('/') && !a.includes(' ') && a === command)) out.push(a);
  }
  return out.slice(0, 4);
}

/**
 * Describe one server definition. `fileHash(path)` returns the sha256 of a local file it runs (or undefined when
 * it cannot be read); the hook passes one that resolves relative paths against the project.
 */
export function describeServer(name: string, def: unknown, scope: McpScope, project: string, source: string, fileHash: (p: string) => string | undefined): McpServerEntry {
  const d = isObj(def) ? def : {};
  const command = typeof d.command === 'string' ? d.command : undefined;
  const args = Array.isArray(d.args) ? d.args.filter((a): a is string => typeof a === 'string') : [];
  const url = typeof d.url === 'string' ? d.url : undefined;
  const transport = typeof d.type === 'string' ? d.type : url ? 'http' : command ? 'stdio' : 'unknown';
  const files: { path: string; sha256: string }[] = [];
  for (const f of candidateFiles(command, args)) {
    const h = fileHash(f);
    if (h) files.push({ path: f, sha256: h.slice(0, 16) });
  }
  const hash = createHash('sha256').update(canonicalJson({ def: d, files: files.map((f) => [f.path, f.sha256]) })).digest('hex');
  const summary: McpServerSummary = {
    transport,
    envKeys: isObj(d.env) ? Object.keys(d.env).sort() : [],
    headerKeys: isObj(d.headers) ? Object.keys(d.headers).sort() : [],
    pinned: pinnedOf(command, args),
    files,
  };
  if (command) summary.command = scrubSecrets(command).text.slice(0, 512);
  if (args.length) summary.args = args.slice(0, 32).map((a) => scrubSecrets(a).text.slice(0, 256));
  if (url) summary.url = scrubSecrets(url).text.slice(0, 512);
  return { name: name.slice(0, 128), scope, project: scope === 'project' || scope === 'local' ? project : '', source, hash, summary };
}

/** `{mcpServers: {name: def}}` → [name, def] pairs. */
export function serversIn(config: unknown): [string, unknown][] {
  if (!isObj(config) || !isObj(config.mcpServers)) return [];
  return Object.entries(config.mcpServers).slice(0, 256);
}

export interface InventoryEntry {
  name: string;
  scope: McpScope;
  project: string;
  source: string;
  /** The definition accepted as trusted (the first one seen, or one accepted later). */
  acceptedHash: string;
  /** The definition seen last. */
  hash: string;
  status: Exclude<McpStatus, 'unconfigured'>;
  firstSeen: string;
  /** The session that first saw it (status `new` holds for that session). */
  firstSession?: string;
  lastSeen: string;
  changedAt?: string;
  /** MCP tool names seen in calls (the only view of a server's tools a hook gets). */
  tools: string[];
  summary: McpServerSummary;
}

export interface McpInventory {
  v: 1;
  servers: Record<string, InventoryEntry>;
}

export interface McpChange {
  name: string;
  scope: McpScope;
  status: 'new' | 'changed';
  hash: string;
  previousHash?: string;
}

export const inventoryKey = (e: { scope: string; project: string; name: string }): string => `${e.scope}|${e.project}|${e.name}`;

export function emptyInventory(): McpInventory {
  return { v: 1, servers: {} };
}

/** A parsed inventory file, or an empty one when it is not one. */
export function inventoryOf(v: unknown): McpInventory {
  if (!isObj(v) || v.v !== 1 || !isObj(v.servers)) return emptyInventory();
  const servers: Record<string, InventoryEntry> = {};
  for (const [k, e] of Object.entries(v.servers)) {
    if (isObj(e) && typeof e.name === 'string' && typeof e.hash === 'string' && typeof e.acceptedHash === 'string' && typeof e.status === 'string') {
      servers[k] = { ...(e as unknown as InventoryEntry), tools: Array.isArray(e.tools) ? (e.tools as unknown[]).filter((t): t is string => typeof t === 'string').slice(0, 512) : [] };
    }
  }
  return { v: 1, servers };
}

/**
 * Fold the servers configured now into the inventory. Returns the changes worth reporting: servers seen for the
 * first time, and servers whose definition differs from the accepted one (reported while it differs).
 */
export function reconcile(inv: McpInventory, entries: McpServerEntry[], now: string, sessionId: string | undefined): { inventory: McpInventory; changes: McpChange[] } {
  const servers = { ...inv.servers };
  const changes: McpChange[] = [];
  for (const e of entries) {
    const key = inventoryKey(e);
    const prev = servers[key];
    if (!prev) {
      servers[key] = { name: e.name, scope: e.scope, project: e.project, source: e.source, acceptedHash: e.hash, hash: e.hash, status: 'new', firstSeen: now, ...(sessionId ? { firstSession: sessionId } : {}), lastSeen: now, tools: [], summary: e.summary };
      changes.push({ name: e.name, scope: e.scope, status: 'new', hash: e.hash });
      continue;
    }
    const changed = e.hash !== prev.acceptedHash;
    const next: InventoryEntry = { ...prev, source: e.source, hash: e.hash, lastSeen: now, summary: e.summary, status: changed ? 'changed' : prev.firstSession && prev.firstSession === sessionId ? 'new' : 'known' };
    if (changed) {
      next.changedAt = prev.status === 'changed' && prev.hash === e.hash && prev.changedAt ? prev.changedAt : now;
      changes.push({ name: e.name, scope: e.scope, status: 'changed', hash: e.hash, previousHash: prev.acceptedHash });
    } else delete next.changedAt;
    servers[key] = next;
  }
  return { inventory: { v: 1, servers }, changes };
}

/** How the server an MCP tool call names stands for this project: the first scope in Claude Code's precedence. */
export function statusFor(inv: McpInventory, project: string, name: string): { status: McpStatus; scope: McpScope } | undefined {
  const found = Object.values(inv.servers).filter((e) => e.name === name && (e.project === '' || e.project === project));
  if (!found.length) return undefined;
  found.sort((a, b) => PRECEDENCE.indexOf(a.scope) - PRECEDENCE.indexOf(b.scope));
  const e = found[0]!;
  return { status: e.status, scope: e.scope };
}

/** Accept a server's current definition as trusted (after review). Returns how many entries changed. */
export function acceptServer(inv: McpInventory, name: string, project?: string): number {
  let n = 0;
  for (const e of Object.values(inv.servers)) {
    if (e.name !== name || (project !== undefined && e.project !== '' && e.project !== project)) continue;
    if (e.acceptedHash !== e.hash || e.status === 'changed') n++;
    e.acceptedHash = e.hash;
    e.status = 'known';
    delete e.changedAt;
  }
  return n;
}
