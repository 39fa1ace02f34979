/**
 * The MCP inventory on disk: at SessionStart and ConfigChange the hook reads every place Claude Code configures
 * MCP servers for this project, hashes each definition (and the local script it runs), and folds them into
 * `<stateDir>/mcp/inventory.json` (src/core/session/mcp.ts). New and changed servers are reported in the audit
 * record and to the user; PreToolUse looks a server's status up (one small file read, MCP calls only), and
 * PostToolUse learns the tool names it sees.
 *
 * Sources: `<project>/.mcp.json` (project scope); `~/.claude.json` `mcpServers` (user scope) and
 * `projects[<project>].mcpServers` (local scope); `managed-mcp.json` beside the managed settings (managed scope);
 * `mcpServers` in any settings layer. Servers added with `--mcp-config`, by plugins or claude.ai connectors are
 * not in these files: their calls have status `unconfigured`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acceptServer, describeServer, emptyInventory, inventoryKey, inventoryOf, reconcile, serversIn, statusFor, type McpChange, type McpInventory, type McpScope, type McpServerEntry } from '../core/session/mcp';
import type { McpStatus } from '../core/types';
import { claudeConfigDir, settingsPath } from '../runtime/install/paths';
import { layerFiles, readSettingsState } from './configChange';

const MAX_HASHED_FILE = 8 * 1024 * 1024;

export function inventoryFile(stateDir: string): string {
  return path.join(stateDir, 'mcp', 'inventory.json');
}

export function readInventory(stateDir: string): McpInventory {
  const st = readSettingsState(inventoryFile(stateDir));
  return st.kind === 'ok' ? inventoryOf(st.data) : emptyInventory();
}

function writeInventory(stateDir: string, inv: McpInventory): void {
  const file = inventoryFile(stateDir);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(inv, null, 1), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function fileHasher(base: string): (p: string) => string | undefined {
  return (p) => {
    const abs = path.resolve(base, p);
    try {
      const st = fs.statSync(abs);
      if (!st.isFile() || st.size > MAX_HASHED_FILE) return undefined;
      return createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    } catch {
      return undefined;
    }
  };
}

export interface McpEnv {
  env: NodeJS.ProcessEnv;
  projectDir: string;
  managedSettings?: string;
}

/** Every MCP server configured for this project, described and hashed. */
export function configuredServers(me: McpEnv): McpServerEntry[] {
  const project = path.resolve(me.projectDir);
  const hash = fileHasher(project);
  const out: McpServerEntry[] = [];
  const add = (config: unknown, scope: McpScope, source: string): void => {
    for (const [name, def] of serversIn(config)) out.push(describeServer(name, def, scope, project, source, hash));
  };
  const read = (file: string): Record<string, unknown> | undefined => {
    const st = readSettingsState(file);
    return st.kind === 'ok' ? st.data : undefined;
  };
  const mcpJson = path.join(project, '.mcp.json');
  add(read(mcpJson), 'project', mcpJson);
  const claudeJson = path.join(path.dirname(claudeConfigDir(me.env)), '.claude.json');
  const cj = read(me.env.CLAUDE_CONFIG_DIR ? path.join(me.env.CLAUDE_CONFIG_DIR, '.claude.json') : claudeJson);
  if (cj) {
    add(cj, 'user', claudeJson);
    const projects = cj.projects;
    if (projects && typeof projects === 'object' && !Array.isArray(projects)) add((projects as Record<string, unknown>)[project], 'local', claudeJson);
  }
  const managed = settingsPath('managed', { env: me.env, projectDir: project, ...(me.managedSettings ? { managedSettings: me.managedSettings } : {}) });
  const managedMcp = path.join(path.dirname(managed), 'managed-mcp.json');
  add(read(managedMcp), 'managed', managedMcp);
  for (const { scope, file } of layerFiles({ env: me.env, projectDir: project, ...(me.managedSettings ? { managedSettings: me.managedSettings } : {}) })) add(read(file), scope, file);
  // One entry per (scope, project, name): a later source of the same scope overrides an earlier one.
  const byKey = new Map<string, McpServerEntry>();
  for (const e of out) byKey.set(inventoryKey(e), e);
  return [...byKey.values()];
}

export interface McpRecord {
  servers: { name: string; scope: McpScope; status: McpStatus; hash: string; transport: string; pinned: boolean | null; command?: string; url?: string; files: number }[];
  changes: McpChange[];
}

/** SessionStart / ConfigChange: fold the configured servers into the inventory; what to record and report. */
export function updateMcpInventory(stateDir: string, me: McpEnv, sessionId: string | undefined, now = new Date()): McpRecord {
  const entries = configuredServers(me);
  const before = readInventory(stateDir);
  const { inventory, changes } = reconcile(before, entries, now.toISOString(), sessionId);
  if (entries.length || Object.keys(before.servers).length) writeInventory(stateDir, inventory);
  const servers = entries.slice(0, 64).map((e) => {
    const inv = inventory.servers[inventoryKey(e)]!;
    const s: McpRecord['servers'][number] = { name: e.name, scope: e.scope, status: inv.status, hash: e.hash.slice(0, 16), transport: e.summary.transport, pinned: e.summary.pinned, files: e.summary.files.length };
    if (e.summary.command) s.command = [e.summary.command, ...(e.summary.args ?? [])].join(' ').slice(0, 256);
    if (e.summary.url) s.url = e.summary.url;
    return s;
  });
  return { servers, changes: changes.map((c) => ({ ...c, hash: c.hash.slice(0, 16), ...(c.previousHash ? { previousHash: c.previousHash.slice(0, 16) } : {}) })) };
}

/** PreToolUse: the recorded status of an MCP server for this project (undefined: never recorded). */
export function mcpStatus(stateDir: string, projectDir: string, server: string): { status: McpStatus; scope: McpScope } | undefined {
  return statusFor(readInventory(stateDir), path.resolve(projectDir), server);
}

/**
 * PostToolUse of an MCP tool: remember the tool name. Returns true when the server was recorded before but
 * this tool was never seen (its tool list may have changed).
 */
export function noteMcpTool(stateDir: string, projectDir: string, server: string, tool: string): boolean {
  const inv = readInventory(stateDir);
  const project = path.resolve(projectDir);
  const entries = Object.values(inv.servers).filter((e) => e.name === server && (e.project === '' || e.project === project));
  if (!entries.length || entries.some((e) => e.tools.includes(tool))) return false;
  const firstUse = entries.every((e) => e.tools.length === 0);
  for (const e of entries) if (e.tools.length < 512) e.tools.push(tool.slice(0, 128));
  writeInventory(stateDir, inv);
  return !firstUse;
}

/** Accept a changed server's current definition (for a `warden mcp accept` verb). */
export function acceptMcpServer(stateDir: string, name: string, projectDir?: string): number {
  const inv = readInventory(stateDir);
  const n = acceptServer(inv, name, projectDir ? path.resolve(projectDir) : undefined);
  if (n) writeInventory(stateDir, inv);
  return n;
}
