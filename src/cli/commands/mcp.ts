import * as path from 'node:path';
import { defaultStateDir } from '../../runtime/context';
import { acceptMcpServer, readInventory } from '../../hook/mcp';
import { parseArgs, pickSubcommand } from '../args';
import { UsageError, type Command } from '../types';

const HELP = `Usage: warden mcp list [--home <state dir>] [--json]
       warden mcp accept <server> [--dir <project dir>] [--home <state dir>]

The MCP servers Agent Warden has seen configured for Claude Code (.mcp.json, settings files), recorded
with a hash of each definition and of the local script or binary it runs, at every SessionStart and
ConfigChange. A server seen for the first time is "new"; one whose definition no longer matches the
accepted hash is "changed" (a rug pull, or an update someone should review); policies decide on the
status (the baseline asks before calls to a changed server).

  list     every recorded server: name, scope, project, status, MCP tools seen in calls, the command or
           URL it runs, whether a package version is pinned, and when it was first seen or changed.
  accept   accept a server's current definition after reviewing it, so its status is "known" again.
           With --dir, only the entries for that project (and user/managed ones). The agent may not run
           this for itself (baseline rule guard.admin-commands).

Options:
  --home <dir>   state directory (default: ~/.agent-warden)
  --dir <dir>    project directory for accept
  --json         machine-readable list`;

export const mcp: Command = {
  name: 'mcp',
  summary: 'List the MCP servers the guard has recorded, and accept a changed one after review',
  help: HELP,
  async run(args, io) {
    const sub = args[0];
    pickSubcommand(sub, { list: true, accept: true });
    const { values, positionals } = parseArgs(args.slice(1), { home: { type: 'string' }, dir: { type: 'string' }, json: { type: 'boolean' } });
    const stateDir = path.resolve(io.cwd, values.home ?? defaultStateDir(io.env));
    if (sub === 'list') {
      if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
      const servers = Object.values(readInventory(stateDir).servers).sort((a, b) => a.name.localeCompare(b.name) || a.scope.localeCompare(b.scope) || a.project.localeCompare(b.project));
      if (values.json) {
        io.out(JSON.stringify({ servers }, null, 2));
        return 0;
      }
      if (!servers.length) {
        io.out('No MCP servers recorded yet (they are recorded at the next Claude Code SessionStart or settings change).');
        return 0;
      }
      for (const s of servers) {
        const runs = s.summary.url ?? [s.summary.command, ...(s.summary.args ?? [])].filter(Boolean).join(' ');
        io.out(`${s.name}  [${s.status}]  ${s.scope}${s.project ? ` ${s.project}` : ''}`);
        io.out(`    runs:   ${runs || '(unknown)'}${s.summary.pinned === false ? '   (package version not pinned)' : ''}`);
        io.out(`    seen:   first ${s.firstSeen}, last ${s.lastSeen}${s.changedAt ? `, changed ${s.changedAt}` : ''}`);
        if (s.tools.length) io.out(`    tools:  ${s.tools.join(', ')}`);
      }
      return 0;
    }
    const name = positionals[0];
    if (!name || positionals.length > 1) throw new UsageError('accept needs exactly one server name');
    const known = Object.values(readInventory(stateDir).servers).filter((s) => s.name === name);
    if (!known.length) {
      io.err(`warden mcp: no MCP server named ${JSON.stringify(name)} is recorded (warden mcp list shows them)`);
      return 1;
    }
    const n = acceptMcpServer(stateDir, name, values.dir ? path.resolve(io.cwd, values.dir) : undefined);
    io.out(n ? `Accepted the current definition of ${name} (${n} entr${n === 1 ? 'y' : 'ies'}).` : `${name} was already accepted; nothing changed.`);
    return 0;
  },
};
