/**
 * In-host integration tests, part 1 (no server): the real extension in code-server's extension host, real
 * VS Code API, real files in a throwaway HOME, the real hook run as Claude Code runs it.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, installedCommand, runHook, sandbox, until, userSettingsFile } from './hostEnv';

describe('in host: activation', () => {
  it('activates and registers every contributed command, each with a title, category and icon', async () => {
    const a = await api();
    const pkg = JSON.parse(fs.readFileSync(path.join(sandbox.root(), 'package.json'), 'utf8')) as { contributes: { commands: { command: string; title: string; category: string; icon: string }[] } };
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of pkg.contributes.commands) {
      assert.ok(registered.has(c.command), `${c.command} is registered`);
      assert.ok(c.title && c.category === 'Agent Warden' && /^\$\([a-z-]+\)$/.test(c.icon), `${c.command} has a title, category and icon`);
    }
    assert.equal(a.version, (JSON.parse(fs.readFileSync(path.join(sandbox.root(), 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('activation and start-up load neither the deferred half (sync, enrolment, zod) nor the YAML policy loader', async () => {
    await api();
    const loaded = Object.keys(require.cache);
    assert.ok(loaded.includes(path.join(sandbox.root(), 'dist', 'extension.js')), 'the extension is the bundle');
    assert.deepEqual(loaded.filter((f) => /dist[\\/](extension-deferred|policy-loader)\.js$/.test(f)), []);
  });

  it('a clean profile: not installed, the built-in baseline, shown in the status bar', async () => {
    const a = await api();
    await a.refresh();
    assert.equal(fs.existsSync(userSettingsFile()), false, 'the sandbox starts without Claude Code settings');
    const s = a.statusBar();
    assert.ok(s);
    assert.equal(s.kind, 'notInstalled');
    assert.equal(s.text, '$(shield) Warden: not installed');
    assert.equal(a.snapshot()?.policy.id, 'builtin:baseline');
  });

  it('a command that cannot run says why instead of failing: sync without a server', async () => {
    const r = await vscode.commands.executeCommand('agentWarden.syncNow');
    assert.equal(r, undefined);
    const ex = await vscode.commands.executeCommand('agentWarden.requestException', 'no-such-event');
    assert.equal(ex, undefined);
  });
});

describe('in host: one-click setup (no server)', () => {
  it('installs the hooks in the user settings and the guard becomes active', async () => {
    const a = await api();
    const r = (await vscode.commands.executeCommand('agentWarden.setup', { scope: 'user', serverUrl: '' })) as { steps: { step: string; ok: boolean; detail: string }[]; install: { file: string; changed: boolean } };
    assert.ok(r, 'setup returned its steps');
    assert.equal(r.install.file, userSettingsFile());
    assert.equal(r.install.changed, true);
    const cmd = installedCommand(userSettingsFile());
    // The hooks run a stable copy of this extension's runner in the state directory, not the extension folder.
    const runner = /"([^"]+[\\/]runtime[\\/][0-9a-f]{16}[\\/]hook\.js)"/.exec(cmd)?.[1];
    assert.ok(runner && runner.startsWith(path.join(a.stateDir(), 'runtime')), cmd);
    assert.deepEqual(fs.readFileSync(runner), fs.readFileSync(path.join(sandbox.root(), 'dist', 'hook.js')));
    assert.ok(!cmd.includes(path.join(sandbox.root(), 'dist')), cmd);
    const settings = JSON.parse(fs.readFileSync(userSettingsFile(), 'utf8')) as { hooks: Record<string, unknown>; permissions?: { deny?: string[] } };
    for (const ev of ['PreToolUse', 'PostToolUse', 'SessionStart', 'ConfigChange']) assert.ok(settings.hooks[ev], `hook for ${ev}`);
    assert.ok(r.steps.find((s) => s.step === 'verify')?.ok, JSON.stringify(r.steps));
    await a.refresh();
    assert.equal(a.snapshot()?.install.installed, true);
    assert.deepEqual(a.snapshot()?.install.scopes, ['user']);
    assert.equal(a.statusBar()?.kind, 'enforcing');
    assert.equal(a.statusBar()?.text, '$(shield) Warden baseline 1.0.0');
  });

  it('running it again changes nothing', async () => {
    const before = fs.readFileSync(userSettingsFile());
    const r = (await vscode.commands.executeCommand('agentWarden.setup', { scope: 'user', serverUrl: '' })) as { install: { changed: boolean } };
    assert.equal(r.install.changed, false);
    assert.deepEqual(fs.readFileSync(userSettingsFile()), before);
  });
});

describe('in host: extension updates', () => {
  it('hooks setup installed that point at a removed version of the extension are pointed at this one', async () => {
    const a = await api();
    const file = userSettingsFile();
    const current = /"([^"]+[\\/]runtime[\\/][0-9a-f]{16}[\\/]hook\.js)"/.exec(installedCommand(file))![1]!;
    const old = path.join(sandbox.tmp(), 'agent-warden.agent-warden-0.0.9', 'dist', 'hook.js');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split(JSON.stringify(current).slice(1, -1)).join(JSON.stringify(old).slice(1, -1)));
    assert.ok(installedCommand(file).includes(old), 'the settings now name a hook runner that does not exist');
    await a.refresh();
    await until('the hooks repaired', () => installedCommand(file).includes(current) && !fs.readFileSync(file, 'utf8').includes(old));
    await until('the guard active again', async () => (await a.refresh(), a.snapshot()?.install.installed));
  });
});

describe('in host: live decisions', () => {
  let denied: { eventId: string };

  it('a denied hook call appears in the tree, grouped by session, and the status bar count changes', async function () {
    this.timeout(60_000);
    const a = await api();
    const before = a.deniesThisSession();
    const ans = await runHook(installedCommand(userSettingsFile()), 'Bash', { command: 'cat .env' }, { session: 'session-inhost-1' });
    assert.equal(ans.decision, 'deny');
    assert.ok(ans.eventId, ans.reason);
    denied = { eventId: ans.eventId! };
    // The spool watcher picks it up by itself; nothing here pokes the extension.
    const e = await until('the decision in the extension', () => a.decisions().find((d) => d.id === ans.eventId));
    assert.equal(e.kind, 'deny');
    assert.deepEqual(e.ruleIds, ['secrets.read']);
    assert.equal(a.deniesThisSession(), before + 1);
    assert.equal(a.statusBar()?.text, `$(shield) Warden baseline 1.0.0 · ${before + 1} denied`);
    const tree = a.decisionTree();
    const session = tree.find((s) => s.label === 'Session session-');
    assert.ok(session, JSON.stringify(tree));
    assert.equal(tree[0], session, 'the newest session is first');
    const item = session.children?.find((c) => c.description === 'cat .env');
    assert.ok(item, JSON.stringify(session));
    assert.equal(item.label, 'Bash');
    assert.equal(item.icon, 'circle-slash');
    assert.equal(item.contextValue, 'decision.deny.exceptable');
  });

  it('an allowed call appears too, and the filters narrow the tree', async () => {
    const a = await api();
    const ans = await runHook(installedCommand(userSettingsFile()), 'Bash', { command: 'ls -la' }, { session: 'session-inhost-1' });
    assert.notEqual(ans.decision, 'deny');
    await until('the allowed call in the tree', () => a.decisionTree()[0]?.children?.some((c) => c.description === 'ls -la'));
    const flags = await vscode.commands.executeCommand('agentWarden.filterDecisions', { deniedOnly: true });
    assert.deepEqual(flags, { deniedOnly: true, thisWorkspace: false, wouldDenyOnly: false });
    const items = a.decisionTree().flatMap((s) => s.children ?? []);
    assert.ok(items.length > 0);
    assert.ok(items.every((i) => i.icon === 'circle-slash'), JSON.stringify(items));
    await vscode.commands.executeCommand('agentWarden.filterDecisions', { thisWorkspace: true });
    assert.ok(a.decisionTree().length > 0, 'calls made in the workspace folder');
    await vscode.commands.executeCommand('agentWarden.filterDecisions', { wouldDenyOnly: true });
    assert.equal(a.decisionTree().length, 0, 'no observe-mode calls');
    await vscode.commands.executeCommand('agentWarden.clearFilters');
    assert.ok(a.decisionTree()[0]!.children!.some((c) => c.icon === 'pass'));
  });

  it('"Why was this blocked?" shows the rule, reason, remediation, facts, input, policy and event id in a webview', async () => {
    const a = await api();
    const id = await vscode.commands.executeCommand('agentWarden.showDecisionDetails', denied.eventId);
    assert.equal(id, denied.eventId);
    const d = a.details();
    assert.ok(d);
    assert.equal(d.id, denied.eventId);
    assert.match(d.html, /<code id="rule">secrets\.read<\/code>/);
    assert.match(d.html, /id="rule-source">[^<]*baseline\.yaml:\d+</);
    assert.match(d.html, /id="remediation">/);
    assert.ok(d.html.includes(`read ${sandbox.workspace()}/.env`), 'the matched fact');
    assert.ok(d.html.includes(`id="event-id">${denied.eventId}<`));
    const csp = (/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(d.html)?.[1] ?? '').replace(/&#39;/g, "'");
    assert.match(csp, /^default-src 'none'; style-src [^;]+; script-src 'nonce-[A-Za-z0-9+/=]+'; img-src [^;]+; font-src [^;]+; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/, csp);
    const tab = await until('the panel open in the editor area', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Why was Bash blocked?'));
    assert.ok(tab.input instanceof vscode.TabInputWebview);
  });

  it('"Open rule source" opens the rule in the policy', async () => {
    const where = (await vscode.commands.executeCommand('agentWarden.openRuleSource', denied.eventId)) as string;
    assert.match(where, /baseline\.yaml:\d+$/);
    const ed = vscode.window.activeTextEditor;
    assert.ok(ed);
    assert.match(ed.document.lineAt(ed.selection.active.line).text, /id: secrets\.read/);
  });

  it('"Copy as policy test case" gives a case the real `warden test` passes', async () => {
    const yaml = (await vscode.commands.executeCommand('agentWarden.copyAsTestCase', denied.eventId)) as string;
    assert.match(yaml, /expect: \{ effect: deny, ruleIds: \["secrets\.read"\] \}/);
    const suite = path.join(sandbox.tmp(), 'copied.warden-test.yaml');
    fs.writeFileSync(suite, `suite: copied\npolicy: builtin:baseline\ncases:\n${yaml.replace(/^/gm, '  ').trimEnd()}\n`);
    const out = execFileSync(process.execPath, [path.join(sandbox.root(), 'dist', 'cli.js'), 'test', suite], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    assert.match(out, /1 passed, 0 failed/);
  });

  it('"Try it" runs the installed hook on a call every policy blocks, and shows why', async () => {
    const a = await api();
    const r = (await vscode.commands.executeCommand('agentWarden.tryIt')) as { decision: string; entry: { id: string; ruleIds: string[]; summary: string } };
    assert.equal(r.decision, 'deny');
    assert.equal(r.entry.summary, 'cat ~/.ssh/id_rsa');
    assert.deepEqual(r.entry.ruleIds, ['secrets.read']);
    assert.equal(a.details()?.id, r.entry.id);
  });

  it('the policy view lists the rules with their effects', async () => {
    const a = await api();
    const nodes = a.policyTree();
    assert.equal(nodes.find((n) => n.label === 'Built-in policy')?.description, 'builtin:baseline');
    const rules = nodes.find((n) => n.label === 'Rules');
    assert.ok(rules?.children?.some((r) => r.label === 'secrets.read' && r.description === 'deny · exceptions up to 1h' && r.icon === 'circle-slash'));
  });
});

describe('in host: policy authoring', () => {
  const policy = `apiVersion: agentwarden.dev/v1
kind: Policy
metadata: { id: team/policy, version: "1" }
defaultEffect: allow
rules:
  - id: no-curl
    effect: deny
    reason: Network access goes through the proxy.
    match: { command: { program: curl } }
`;
  const suite = `suite: team policy
policy: ./team.warden.yaml
cases:
  - name: curl is denied
    tool: Bash
    input: { command: curl https://example.com }
    expect: { effect: deny, ruleIds: [no-curl] }
  - name: wget is denied too
    tool: Bash
    input: { command: wget https://example.com }
    expect: { effect: deny }
`;

  it('"Test Policy" runs the suites and puts failing cases in the Problems panel at their line', async () => {
    const ws = sandbox.workspace();
    fs.writeFileSync(path.join(ws, 'team.warden.yaml'), policy);
    const suiteFile = path.join(ws, 'team.warden-test.yaml');
    fs.writeFileSync(suiteFile, suite);
    const uri = vscode.Uri.file(suiteFile);
    const r = await vscode.commands.executeCommand('agentWarden.testPolicy', uri);
    assert.deepEqual(r, { passed: 1, failed: 1, problems: 1 });
    const diags = vscode.languages.getDiagnostics(uri);
    assert.equal(diags.length, 1);
    assert.equal(diags[0]!.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(diags[0]!.source, 'Agent Warden');
    assert.equal(diags[0]!.range.start.line, 7, 'line 8, where the failing case starts');
    assert.match(diags[0]!.message, /wget is denied too: expected deny, got allow/);
  });

  it('"Test Policy" from the policy file finds the suites that test it; fixing the policy clears the problem', async () => {
    const ws = sandbox.workspace();
    const file = path.join(ws, 'team.warden.yaml');
    fs.writeFileSync(file, policy.replace('program: curl', 'program: [curl, wget]'));
    const r = await vscode.commands.executeCommand('agentWarden.testPolicy', vscode.Uri.file(file));
    assert.deepEqual(r, { passed: 2, failed: 0, problems: 0 });
    assert.equal(vscode.languages.getDiagnostics(vscode.Uri.file(path.join(ws, 'team.warden-test.yaml'))).length, 0);
  });

  it('"Simulate Tool Call" evaluates a call with the enforced policy, or the policy file given', async () => {
    const d = (await vscode.commands.executeCommand('agentWarden.simulateToolCall', { tool: 'Bash', input: { command: 'cat .env' } })) as { effect: string; ruleIds: string[] };
    assert.equal(d.effect, 'deny');
    assert.deepEqual(d.ruleIds, ['secrets.read']);
    const t = (await vscode.commands.executeCommand('agentWarden.simulateToolCall', { tool: 'Bash', input: { command: 'wget https://x.test' }, policyFile: path.join(sandbox.workspace(), 'team.warden.yaml') })) as { effect: string; ruleIds: string[] };
    assert.deepEqual([t.effect, t.ruleIds], ['deny', ['no-curl']]);
  });
});

describe('in host: settings', () => {
  it('an invalid value falls back to its default; an organisation-managed value wins and is locked', async () => {
    const a = await api();
    const cfg = vscode.workspace.getConfiguration('agentWarden');
    await cfg.update('syncInterval', 5, vscode.ConfigurationTarget.Global);
    await cfg.update('notifications', 'all', vscode.ConfigurationTarget.Global);
    await until('the settings re-read', () => a.settings().notifications.value === 'all');
    assert.deepEqual(a.settings().syncInterval, { value: 90, source: 'default', locked: false });
    fs.mkdirSync(path.dirname(sandbox.managedConfig()), { recursive: true });
    fs.writeFileSync(sandbox.managedConfig(), JSON.stringify({ notifications: 'off' }));
    await cfg.update('notifications', 'denies', vscode.ConfigurationTarget.Global);
    await until('the managed value', () => a.settings().notifications.locked);
    assert.deepEqual(a.settings().notifications, { value: 'off', source: 'managed', locked: true, lockedBy: sandbox.managedConfig() });
    const shown = (await vscode.commands.executeCommand('agentWarden.openSettings', 'list')) as { key: string; locked: boolean; description: string }[];
    assert.deepEqual(shown.find((x) => x.key === 'notifications'), { key: 'notifications', locked: true, description: '"off" · set by your organisation' });
    assert.equal(shown.find((x) => x.key === 'serverUrl')?.locked, false);
    fs.rmSync(sandbox.managedConfig());
    await cfg.update('syncInterval', undefined, vscode.ConfigurationTarget.Global);
    await cfg.update('notifications', undefined, vscode.ConfigurationTarget.Global);
    await until('the managed value gone', () => !a.settings().notifications.locked);
  });
});

describe('in host: doctor', () => {
  it('opens the doctor report, which probes the installed hook', async function () {
    this.timeout(60_000);
    const ok = await vscode.commands.executeCommand('agentWarden.doctor');
    assert.equal(ok, true);
    const text = vscode.window.activeTextEditor?.document.getText() ?? '';
    assert.match(text, /^# Agent Warden doctor report/);
    assert.match(text, /\*\*✅ Guarding\*\*/);
    assert.match(text, /denies a known-bad call/);
  });
});
