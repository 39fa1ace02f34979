/** `warden mcp list|accept` over a real inventory, recorded the way the hook records it at SessionStart. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/types';
import { mcpStatus, updateMcpInventory } from '../../src/hook/mcp';

describe('warden mcp', () => {
  let root: string;
  let home: string;
  let project: string;
  let state: string;
  let env: NodeJS.ProcessEnv;
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n'), stdin: async () => '', cwd: project, env };
    const code = await main(['mcp', ...args], io);
    return { code, out, err };
  };
  const writeMcp = (cmd: string) => fs.writeFileSync(path.join(project, '.mcp.json'), JSON.stringify({ mcpServers: { tracker: { command: 'npx', args: ['-y', cmd] } } }));

  beforeEach(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'aw-mcp-')));
    home = path.join(root, 'home');
    project = path.join(root, 'project');
    state = path.join(home, '.agent-warden');
    fs.mkdirSync(project, { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    env = { HOME: home, PATH: process.env.PATH };
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists the recorded servers; a changed definition shows as changed until accepted, then known', async () => {
    assert.match((await run('list')).out, /No MCP servers recorded yet/);
    writeMcp('tracker-mcp@1.2.3');
    updateMcpInventory(state, { env, projectDir: project }, 'session-1');
    updateMcpInventory(state, { env, projectDir: project }, 'session-2');
    assert.equal(mcpStatus(state, project, 'tracker')?.status, 'known');
    writeMcp('tracker-mcp@latest');
    updateMcpInventory(state, { env, projectDir: project }, 'session-3');
    assert.equal(mcpStatus(state, project, 'tracker')?.status, 'changed');
    const list = await run('list');
    assert.equal(list.code, 0);
    assert.match(list.out, /^tracker {2}\[changed\] {2}project /m);
    assert.match(list.out, /runs: {3}npx -y tracker-mcp@latest {3}\(package version not pinned\)/);
    const json = JSON.parse((await run('list', '--json')).out) as { servers: { name: string; status: string }[] };
    assert.deepEqual(json.servers.map((s) => [s.name, s.status]), [['tracker', 'changed']]);
    const acc = await run('accept', 'tracker');
    assert.equal(acc.code, 0, acc.err);
    assert.match(acc.out, /Accepted the current definition of tracker/);
    assert.equal(mcpStatus(state, project, 'tracker')?.status, 'known');
    assert.match((await run('accept', 'tracker')).out, /already accepted; nothing changed/);
  });

  it('accept of an unknown server fails with a clear message; bad usage exits 2', async () => {
    const r = await run('accept', 'nope');
    assert.equal(r.code, 1);
    assert.match(r.err, /no MCP server named "nope" is recorded/);
    assert.equal((await run('frob')).code, 2);
    assert.equal((await run('accept')).code, 2);
  });
});
