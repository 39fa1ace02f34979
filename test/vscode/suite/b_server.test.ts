/**
 * In-host integration tests, part 2: with the project's own central server (`warden server`, SQLite, on
 * 127.0.0.1) set up as an administrator would: setup enrolls and syncs the signed bundle; an exception
 * request from the editor reaches the server, is approved there, the grant arrives, and the next identical
 * call is allowed; "Remove" undoes exactly what setup did.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startLocalServer, type LocalServer } from '../support/server';
import { api, installedCommand, runHook, sandbox, until, userSettingsFile } from './hostEnv';

describe('in host: with the central server', function () {
  this.timeout(120_000);
  let server: LocalServer;
  const stateDir = (): string => path.join(sandbox.home(), '.agent-warden');

  before(async () => {
    server = await startLocalServer(sandbox.root(), path.join(sandbox.tmp(), 'server'));
  });
  after(async () => {
    await server?.stop();
  });

  it('setup enrolls (token kept in SecretStorage), pins the trust root, syncs the signed bundle', async () => {
    const a = await api();
    const token = server.enrollmentToken('alice@acme.test');
    const r = (await vscode.commands.executeCommand('agentWarden.setup', { scope: 'user', serverUrl: server.url, enrollmentToken: token, trustRootSha256: server.trustSha256 })) as { steps: { step: string; ok: boolean; detail: string }[] };
    const failed = r.steps.filter((s) => !s.ok && s.step !== 'detect Claude Code');
    assert.deepEqual(failed, [], JSON.stringify(r.steps, null, 1));
    const enrollment = JSON.parse(fs.readFileSync(path.join(stateDir(), 'enrollment.json'), 'utf8')) as { server: string; userId: string; tenant: string };
    assert.deepEqual([enrollment.server, enrollment.userId, enrollment.tenant], [server.url, 'alice@acme.test', 'acme']);
    assert.ok(fs.existsSync(path.join(stateDir(), 'trust', 'root.json')));
    await a.refresh();
    const snap = a.snapshot()!;
    assert.equal(snap.policy.source, 'bundle');
    assert.equal(snap.policy.id, server.bundleId);
    assert.equal(snap.policy.version, '1');
    assert.equal(a.statusBar()?.kind, 'enforcing');
    assert.match(a.statusBar()!.text, /^\$\(shield\) Warden v1( · \d+ denied)?$/);
    assert.equal(a.settings().serverUrl.value, server.url);
    const nodes = a.policyTree();
    assert.equal(nodes.find((n) => n.label === 'Bundle')?.description, server.bundleId);
    assert.equal(nodes.find((n) => n.label === 'Version')?.description, 'v1');
  });

  it('an exception request reaches the server, is approved there, and the next identical call is allowed', async () => {
    const a = await api();
    const cmd = installedCommand(userSettingsFile());
    const input = { command: 'cat .env.production' };
    const first = await runHook(cmd, 'Bash', input, { session: 'session-exception' });
    assert.equal(first.decision, 'deny', first.raw);
    const e = await until('the denied call in the extension', () => a.decisions().find((d) => d.id === first.eventId));
    assert.equal(e.policy.bundleId, server.bundleId, 'decided by the synced bundle');
    // The extension forwards the audit spool to the server while enrolled.
    await until('the decision in the server\'s audit trail', async () => (await server.auditEventIds('session-exception')).includes(e.id), 30_000);

    const rec = (await vscode.commands.executeCommand('agentWarden.requestException', { eventId: e.id, scope: 'exact', duration: '15m', justification: 'the release build reads it for the hotfix (OPS-1234)' })) as { requestId: string; status: string };
    assert.ok(rec, 'the request was sent');
    assert.equal(rec.status, 'pending');
    const onServer = (await server.requests()).find((q) => q.id === rec.requestId);
    assert.ok(onServer, 'the server has the request');
    assert.equal(onServer.status, 'pending');
    assert.equal(onServer.userId, 'alice@acme.test');
    assert.deepEqual(onServer.ruleIds, ['secrets.read']);
    assert.equal((onServer.matcher as { kind: string }).kind, 'exact');
    assert.equal(onServer.durationMs, 900_000);
    assert.equal(a.statusBar()?.text.includes('$(clock) 1'), true, a.statusBar()?.text);

    const approved = await server.approve(rec.requestId);
    assert.equal(approved.status, 'approved');
    // The extension is long-polling the request: it sees the approval, fetches the signed grant list.
    const done = await until('the approval in the extension', () => a.exceptions().find((x) => x.requestId === rec.requestId && x.status === 'approved'), 60_000);
    assert.equal(done.grant?.installed, true, JSON.stringify(done));
    assert.equal(done.grant?.grantId, approved.grantId);
    assert.ok(fs.existsSync(path.join(stateDir(), 'grants', 'list.json')));

    const again = await runHook(cmd, 'Bash', input, { session: 'session-exception' });
    assert.notEqual(again.decision, 'deny', again.raw);
    const other = await runHook(cmd, 'Bash', { command: 'cat .env.staging' }, { session: 'session-exception' });
    assert.equal(other.decision, 'deny', 'the grant covers only the exact call');
    const nodes = a.policyTree();
    const ex = nodes.find((n) => n.label === 'Exceptions');
    assert.match(ex?.description ?? '', /^1 in force, 0 pending$/);
  });

  it('"Remove" undoes exactly what setup did, and keeps the audit log', async () => {
    const a = await api();
    const r = (await vscode.commands.executeCommand('agentWarden.remove', true)) as { undone: string[]; kept: string[] };
    assert.ok(r, 'something was undone');
    assert.equal(fs.existsSync(userSettingsFile()), false, 'setup created the settings file, so it is gone');
    assert.equal(fs.existsSync(path.join(stateDir(), 'enrollment.json')), false);
    assert.equal(fs.existsSync(path.join(stateDir(), 'sync.json')), false);
    assert.equal(fs.existsSync(path.join(stateDir(), 'trust', 'root.json')), false);
    assert.ok(fs.readdirSync(path.join(stateDir(), 'audit', 'log')).length > 0, 'the audit log is kept');
    assert.equal(vscode.workspace.getConfiguration('agentWarden').inspect('serverUrl')?.globalValue, undefined);
    assert.ok(r.kept.some((k) => k.includes('audit log')));
    await a.refresh();
    assert.equal(a.statusBar()?.kind, 'notInstalled');
    const again = await vscode.commands.executeCommand('agentWarden.remove', true);
    assert.equal(again, undefined, 'nothing left to remove: says why instead');
  });

  it('workspace scope: setup installs in the project\'s .claude/settings.json, and remove takes exactly that out', async () => {
    const a = await api();
    const file = path.join(sandbox.workspace(), '.claude', 'settings.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const mine = { permissions: { allow: ['Bash(npm test)'] }, env: { FOO: 'bar' } };
    fs.writeFileSync(file, JSON.stringify(mine, null, 2) + '\n');
    const r = (await vscode.commands.executeCommand('agentWarden.setup', { scope: 'workspace', serverUrl: '' })) as { install: { file: string; changed: boolean } };
    assert.equal(r.install.file, file);
    assert.ok(installedCommand(file));
    await a.refresh();
    assert.deepEqual(a.snapshot()?.install.scopes, ['project']);
    await vscode.commands.executeCommand('agentWarden.remove', true);
    const after = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(after, mine, 'the user\'s own settings are exactly as before');
  });
});
