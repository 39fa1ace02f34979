/**
 * `warden install` / `warden uninstall` on real settings files in temp directories: the user's settings and
 * hooks survive round trips, install is idempotent, a corrupt or invalid file is reported and never
 * overwritten, only our entries are removed, and every file written validates.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { featuresOf, parseVersion } from '../../src/runtime/install/claudeVersion';
import { GUARD_EVENTS, guardHooksIn, parseGuardCommand, shellQuote, shellWords } from '../../src/runtime/install/guardHooks';
import { backstopRules, installGuard, InstallError, readInstallRecord, recordFileFor, uninstallGuard } from '../../src/runtime/install/install';
import { permissionRuleError, validateSettings } from '../../src/runtime/install/validate';
import { RUNTIME_FILES } from '../../src/runtime/install/runtimeCopy';
import { CLI, cleanEnv, HOOK, hookJson, preToolUse, requireBuilt, runCli, runNode, tempDir } from '../hook/support';

const claude = (v: string) => ({ path: '/usr/bin/claude', raw: `${v} (Claude Code)`, version: parseVersion(v)!, features: featuresOf(parseVersion(v)!) });

function userSettingsOf(home: string): string {
  return path.join(home, '.claude', 'settings.json');
}

const USER_SETTINGS = {
  $schema: 'https://json.schemastore.org/claude-code-settings.json',
  model: 'opus',
  env: { FOO: 'bar' },
  permissions: { allow: ['Bash(npm run *)'], deny: ['Bash(git push *)'], defaultMode: 'acceptEdits' },
  hooks: {
    PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: '/usr/local/bin/my-lint-hook', timeout: 5 }] }],
    Notification: [{ hooks: [{ type: 'command', command: 'notify-send "Claude"' }] }],
  },
  statusLine: { type: 'command', command: 'echo hi' },
};

describe('install: settings files', function () {
  this.timeout(20_000);
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(requireBuilt);
  beforeEach(() => {
    home = tempDir();
    env = cleanEnv(home);
  });

  const install = (extra: Partial<Parameters<typeof installGuard>[0]> = {}) => installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath, claude: claude('2.1.329'), ...extra });

  it('writes one "*" guard hook per event with absolute, quoted runtime and script paths', () => {
    const r = install();
    assert.equal(r.changed, true);
    assert.equal(r.file, userSettingsOf(home));
    const data = JSON.parse(fs.readFileSync(r.file, 'utf8'));
    const hooks = guardHooksIn(data);
    assert.deepEqual(hooks.map((h) => h.event).sort(), [...GUARD_EVENTS].sort());
    for (const h of hooks) {
      assert.equal(h.matcher, '*');
      const parts = parseGuardCommand(h.command)!;
      assert.equal(parts.node, process.execPath);
      assert.equal(parts.hook, r.hookScript);
      assert.ok(path.isAbsolute(parts.node) && path.isAbsolute(parts.hook));
      assert.ok(h.command.startsWith(`"${process.execPath}" "${r.hookScript}" --agent-warden`), h.command);
      assert.ok((h.timeout ?? 0) >= 10);
    }
    assert.deepEqual(validateSettings(data).filter((i) => i.severity === 'error'), []);
  });

  it('sets onFailure "block" on PreToolUse and ConfigChange only when Claude Code supports it (2.1.295+)', () => {
    const on = guardHooksIn(JSON.parse(fs.readFileSync(install({ claude: claude('2.1.329') }).file, 'utf8')));
    assert.deepEqual(on.filter((h) => h.onFailure === 'block').map((h) => h.event).sort(), ['ConfigChange', 'PreToolUse']);
    const off = install({ claude: claude('2.1.294') });
    assert.equal(off.onFailure.set, false);
    assert.match(off.onFailure.reason, /predates onFailure/);
    assert.equal(guardHooksIn(JSON.parse(fs.readFileSync(off.file, 'utf8'))).filter((h) => h.onFailure).length, 0);
    const unknown = installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath });
    assert.equal(unknown.onFailure.set, false);
    assert.match(unknown.onFailure.reason, /not found/);
    assert.equal(install({ claude: claude('2.1.197'), onFailure: 'block' }).onFailure.set, true);
  });

  it('keeps every other setting and hook of the user, and uninstall restores them exactly', () => {
    const file = userSettingsOf(home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(USER_SETTINGS, null, 2) + '\n');
    const r = install();
    assert.ok(r.backup && fs.readFileSync(r.backup, 'utf8') === JSON.stringify(USER_SETTINGS, null, 2) + '\n', 'previous file backed up');
    const after = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(after.model, 'opus');
    assert.deepEqual(after.env, USER_SETTINGS.env);
    assert.deepEqual(after.statusLine, USER_SETTINGS.statusLine);
    assert.deepEqual(after.permissions.allow, USER_SETTINGS.permissions.allow);
    assert.equal(after.permissions.defaultMode, 'acceptEdits');
    assert.deepEqual(after.hooks.PreToolUse[0], USER_SETTINGS.hooks.PreToolUse[0], 'the user\'s own PreToolUse hook stays first');
    assert.deepEqual(after.hooks.Notification, USER_SETTINGS.hooks.Notification);
    assert.ok(after.permissions.deny.includes('Bash(git push *)'));
    assert.ok(after.permissions.deny.includes('Read(**/.env)'));

    const u = uninstallGuard({ scope: 'user', env });
    assert.equal(u.removedHooks, GUARD_EVENTS.length);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), USER_SETTINGS);
    assert.ok(!fs.existsSync(recordFileFor(file)), 'install record removed');
  });

  it('is idempotent: a second install changes nothing and writes no backup', () => {
    const first = install();
    const text = fs.readFileSync(first.file, 'utf8');
    const second = install();
    assert.equal(second.changed, false);
    assert.equal(second.backup, undefined);
    assert.equal(fs.readFileSync(first.file, 'utf8'), text);
    assert.equal(guardHooksIn(JSON.parse(text)).length, GUARD_EVENTS.length);
  });

  it('re-install with other options replaces our entries instead of adding more', () => {
    install();
    install({ policy: 'builtin:baseline', home: path.join(home, 'state') });
    const hooks = guardHooksIn(JSON.parse(fs.readFileSync(userSettingsOf(home), 'utf8')));
    assert.equal(hooks.length, GUARD_EVENTS.length);
    assert.deepEqual(parseGuardCommand(hooks[0]!.command)!.args, ['--policy', 'builtin:baseline', '--home', path.join(home, 'state')]);
  });

  it('does not remove a deny rule the user had before installing', () => {
    const file = userSettingsOf(home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ permissions: { deny: ['Read(**/.env)'] } }));
    install();
    assert.ok(!readInstallRecord(file)!.addedDenyRules.includes('Read(**/.env)'));
    uninstallGuard({ scope: 'user', env });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { permissions: { deny: ['Read(**/.env)'] } });
  });

  it('uninstall removes a file it created', () => {
    const r = install();
    assert.ok(fs.existsSync(r.file));
    const u = uninstallGuard({ scope: 'user', env });
    assert.equal(u.removedFile, true);
    assert.ok(!fs.existsSync(r.file));
  });

  it('uninstall without an install record removes only hook entries', () => {
    const r = install();
    fs.rmSync(recordFileFor(r.file));
    const u = uninstallGuard({ scope: 'user', env });
    assert.equal(u.removedHooks, GUARD_EVENTS.length);
    assert.match(u.warnings.join(), /no install record/);
    const data = JSON.parse(fs.readFileSync(r.file, 'utf8'));
    assert.equal(data.hooks, undefined);
    assert.ok(data.permissions.deny.length > 0);
  });

  it('reports a corrupt settings file with its position and never overwrites it', () => {
    const file = userSettingsOf(home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const corrupt = '{\n  "model": "opus",\n  "hooks": {},\n}\n';
    fs.writeFileSync(file, corrupt);
    assert.throws(() => install(), (e: Error) => e instanceof InstallError && /settings\.json:4:1: not valid JSON/.test(e.message));
    assert.throws(() => uninstallGuard({ scope: 'user', env }), InstallError);
    assert.equal(fs.readFileSync(file, 'utf8'), corrupt);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['settings.json'], 'no backup, temp or record file left');
  });

  it('refuses a file Claude Code already ignores as invalid (bad hook type), leaving it untouched', () => {
    const file = userSettingsOf(home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = JSON.stringify({ hooks: { PreToolUse: [{ hooks: [{ type: 'commnd', command: 'x' }] }] } });
    fs.writeFileSync(file, text);
    assert.throws(() => install(), /already invalid[\s\S]*hooks\.PreToolUse\[0\]\.hooks\[0\]\.type/);
    assert.equal(fs.readFileSync(file, 'utf8'), text);
  });

  it('refuses a file that is a JSON array', () => {
    const file = userSettingsOf(home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '[]');
    assert.throws(() => install(), /must hold a JSON object/);
  });

  it('project scope: creates .claude/ and reports it, writes <dir>/.claude/settings.json', () => {
    const proj = tempDir();
    const r = installGuard({ scope: 'project', env, projectDir: proj, hookScript: HOOK, node: process.execPath });
    assert.equal(r.file, path.join(proj, '.claude', 'settings.json'));
    assert.equal(r.createdClaudeDir, true);
    assert.equal(guardHooksIn(JSON.parse(fs.readFileSync(r.file, 'utf8'))).length, GUARD_EVENTS.length);
    assert.equal(installGuard({ scope: 'project', env, projectDir: proj, hookScript: HOOK, node: process.execPath }).createdClaudeDir, false);
  });

  it('managed scope: writes the given managed file with allowManagedHooksOnly, and removes it again', () => {
    const managed = path.join(home, 'etc', 'claude-code', 'managed-settings.json');
    const r = installGuard({ scope: 'managed', env, managedSettings: managed, hookScript: HOOK, node: process.execPath });
    const data = JSON.parse(fs.readFileSync(managed, 'utf8'));
    assert.equal(r.file, managed);
    assert.equal(data.allowManagedHooksOnly, true);
    assert.equal(guardHooksIn(data).length, GUARD_EVENTS.length);
    uninstallGuard({ scope: 'managed', env, managedSettings: managed });
    assert.ok(!fs.existsSync(managed));
  });

  it('managed scope keeps an admin\'s existing managed settings and their allowManagedHooksOnly', () => {
    const managed = path.join(home, 'managed-settings.json');
    const admin = { allowManagedHooksOnly: true, permissions: { disableBypassPermissionsMode: 'disable' }, env: { HTTPS_PROXY: 'http://proxy:3128' } };
    fs.writeFileSync(managed, JSON.stringify(admin));
    installGuard({ scope: 'managed', env, managedSettings: managed, hookScript: HOOK, node: process.execPath, backstop: false });
    uninstallGuard({ scope: 'managed', env, managedSettings: managed });
    assert.deepEqual(JSON.parse(fs.readFileSync(managed, 'utf8')), admin);
  });

  it('uses node on PATH when there is one, else the running runtime', () => {
    const bin = path.join(home, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const withNode = installGuard({ scope: 'user', env: { ...env, PATH: bin }, hookScript: HOOK, dryRun: true });
    assert.equal(withNode.runtime.source, 'path');
    assert.equal(withNode.runtime.path, path.join(bin, 'node'));
    const without = installGuard({ scope: 'user', env: { ...env, PATH: path.join(home, 'empty') }, hookScript: HOOK, dryRun: true });
    assert.equal(without.runtime.source, 'running');
    assert.equal(without.runtime.path, process.execPath);
    assert.match(without.warnings.join(), /no `node` on PATH/);
  });

  it('quotes paths with spaces and shell characters so the shell passes them through unchanged', () => {
    const odd = path.join(home, 'dir with space $HOME `x` "q"');
    fs.mkdirSync(odd);
    const hook = path.join(odd, 'hook.js');
    fs.copyFileSync(HOOK, hook);
    const r = installGuard({ scope: 'user', env, hookScript: hook, node: process.execPath, dryRun: true, inPlace: true });
    assert.equal(parseGuardCommand(r.command)!.hook, hook);
    assert.deepEqual(shellWords(shellQuote('a "b" $c `d` \\e')), ['a "b" $c `d` \\e']);
  });

  it('--dry-run writes nothing', () => {
    const r = install({ dryRun: true });
    assert.equal(r.changed, true);
    assert.ok(!fs.existsSync(r.file));
  });

  it('fails clearly when the hook script does not exist', () => {
    assert.throws(() => install({ hookScript: path.join(home, 'nope.js') }), /does not exist/);
  });
});

describe('install: the install record', () => {
  it('is not a *.json file (Claude Code reads every *.json in managed-settings.d/), and an older .json record is still honoured', () => {
    const home = tempDir();
    const env = cleanEnv(home);
    const r = installGuard({ scope: 'user', env, hookScript: HOOK, node: process.execPath });
    assert.ok(fs.existsSync(recordFileFor(r.file)));
    assert.ok(!recordFileFor(r.file).endsWith('.json'));
    // An install from before the rename: its record sits at the old name; uninstall still removes exactly what it added.
    fs.renameSync(recordFileFor(r.file), `${r.file}.agent-warden.json`);
    assert.deepEqual(readInstallRecord(r.file)?.addedDenyRules, r.addedDenyRules);
    const u = uninstallGuard({ scope: 'user', env });
    assert.deepEqual(u.removedDenyRules.sort(), [...r.addedDenyRules].sort());
    assert.ok(!fs.existsSync(`${r.file}.agent-warden.json`));
  });
});

describe('install: the hooks run a stable copy of the runner', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let ext: string;
  /** A fake extension folder holding a build of the runner, as VS Code installs it (and deletes it on update). */
  const extensionVersion = (name: string, marker: string): string => {
    const dir = path.join(home, '.vscode', 'extensions', name, 'dist');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of RUNTIME_FILES) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(path.dirname(HOOK), f), 'utf8') + `\n// ${marker}\n`);
    return path.join(dir, 'hook.js');
  };
  beforeEach(() => {
    home = tempDir();
    env = cleanEnv(home);
    ext = extensionVersion('agent-warden-0.1.0', 'v0.1.0');
  });

  it('copies the runner into <state dir>/runtime/<hash>/ and the hooks run the copy, which answers like the original', async () => {
    const r = installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath });
    assert.equal(r.sourceHookScript, ext);
    assert.match(r.hookScript, new RegExp(`^${home}/\\.agent-warden/runtime/[0-9a-f]{16}/hook\\.js$`));
    for (const f of RUNTIME_FILES) assert.ok(fs.readFileSync(path.join(path.dirname(r.hookScript), f)).equals(fs.readFileSync(path.join(path.dirname(ext), f))), f);
    for (const h of guardHooksIn(JSON.parse(fs.readFileSync(r.file, 'utf8')))) assert.equal(parseGuardCommand(h.command)!.hook, r.hookScript);
    fs.rmSync(path.join(home, '.vscode'), { recursive: true });
    const copy = hookJson(await runNode(r.hookScript, [], preToolUse('Bash', { command: 'rm -rf ~' }), { env }));
    assert.equal(copy.hookSpecificOutput.permissionDecision, 'deny', 'the copy still runs after the extension folder is gone');
  });

  it('an update installs a second copy and moves the hooks to it; the first copy stays for hooks elsewhere', () => {
    const first = installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath });
    const again = installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath });
    assert.equal(again.hookScript, first.hookScript, 'same content, same copy');
    assert.equal(again.changed, false);
    const next = extensionVersion('agent-warden-0.2.0', 'v0.2.0');
    const second = installGuard({ scope: 'user', env, hookScript: next, node: process.execPath });
    assert.notEqual(second.hookScript, first.hookScript);
    assert.equal(second.changed, true);
    assert.ok(fs.existsSync(first.hookScript) && fs.existsSync(second.hookScript));
    assert.match(fs.readFileSync(path.join(path.dirname(second.hookScript), 'hook-main.js'), 'utf8'), /v0\.2\.0/);
  });

  it('a half-written copy left by a crash is replaced, never run', () => {
    const dry = installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath, dryRun: true });
    assert.ok(!fs.existsSync(dry.hookScript), 'dry run copies nothing');
    fs.mkdirSync(path.dirname(dry.hookScript), { recursive: true });
    fs.writeFileSync(dry.hookScript, 'truncated');
    const r = installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath });
    assert.equal(r.hookScript, dry.hookScript);
    assert.ok(fs.readFileSync(r.hookScript).equals(fs.readFileSync(ext)));
  });

  it('--in-place and managed scope run the script where it is; a runner without its hook-main.js is refused', () => {
    assert.equal(installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath, inPlace: true, dryRun: true }).hookScript, ext);
    const managed = path.join(home, 'managed-settings.json');
    assert.equal(installGuard({ scope: 'managed', env, managedSettings: managed, hookScript: ext, node: process.execPath, dryRun: true }).hookScript, ext);
    fs.rmSync(path.join(path.dirname(ext), 'hook-main.js'));
    assert.throws(() => installGuard({ scope: 'user', env, hookScript: ext, node: process.execPath }), /cannot copy the hook runner.*hook-main\.js/);
  });
});

describe('install: permission rules and settings validation', () => {
  it('every backstop rule is valid permission-rule syntax', () => {
    const rules = backstopRules({ env: { HOME: '/home/u' }, stateDir: '/home/u/.agent-warden', hookScript: '/opt/aw/dist/hook.js' });
    for (const r of rules) assert.equal(permissionRuleError(r), undefined, r);
    assert.ok(rules.includes('Read(~/.ssh/**)'));
    assert.ok(rules.includes('Read(**/.env)'));
    assert.ok(rules.includes('Edit(~/.claude/settings.json)'));
    assert.ok(rules.includes('Edit(~/.agent-warden/**)'));
    assert.ok(rules.includes('Edit(//opt/aw/dist/**)'));
  });

  it('recognises invalid permission rules', () => {
    for (const bad of ['', 'bash(ls)', 'Bash(', 'Bash()', 'mcp__srv(x)', 'Read(src/:*)', 'Bash(npm:* run)', 'WebFetch(https://x.com)', 'Bash(x) y']) assert.ok(permissionRuleError(bad), bad);
    for (const ok of ['Bash', 'Bash(npm run *)', 'Bash(npm run:*)', 'Read(~/.ssh/**)', 'Edit(//etc/x)', 'mcp__srv__tool', 'mcp__srv__*', 'WebFetch(domain:example.com)']) assert.equal(permissionRuleError(ok), undefined, ok);
  });

  it('flags what makes Claude Code drop a settings file', () => {
    const errors = (s: unknown) => validateSettings(s).filter((i) => i.severity === 'error').map((i) => i.path);
    assert.deepEqual(errors({ hooks: { PreToolUse: [{ hooks: [{ type: 'command', command: 'x', onFailure: 'deny' }] }] } }), ['hooks.PreToolUse[0].hooks[0].onFailure']);
    assert.deepEqual(errors({ hooks: { PreToolUse: [{ hooks: [{ type: 'command', command: 'x', timeout: 0 }] }] } }), ['hooks.PreToolUse[0].hooks[0].timeout']);
    assert.deepEqual(errors({ hooks: { PreToolUse: { matcher: '*' } } }), ['hooks.PreToolUse']);
    assert.deepEqual(errors({ disableAllHooks: 'yes' }), ['disableAllHooks']);
    assert.deepEqual(errors({ permissions: { defaultMode: 'yolo' } }), ['permissions.defaultMode']);
    assert.deepEqual(errors({ hooks: { NotARealEvent: [] }, permissions: { deny: ['bash(ls)'] } }), [], 'unknown events and bad rules are only warnings');
    assert.deepEqual(errors({ hooks: { PreToolUse: [{ hooks: [{ type: 'command', command: 'x', onFailure: 'block', unknownKey: 1 }] }] } }), []);
  });
});

describe('install: CLI', function () {
  this.timeout(30_000);
  before(requireBuilt);

  it('warden install / uninstall --scope project round trip through dist/cli.js', () => {
    const home = tempDir();
    const proj = tempDir();
    const env = cleanEnv(home);
    const i = runCli(['install', '--scope', 'project', '--dir', proj, '--json'], { env });
    assert.equal(i.code, 0, i.stderr);
    const res = JSON.parse(i.stdout);
    assert.equal(res.file, path.join(proj, '.claude', 'settings.json'));
    assert.equal(res.sourceHookScript, HOOK, 'default hook script is dist/hook.js beside dist/cli.js');
    assert.equal(parseGuardCommand(res.command)!.hook, res.hookScript);
    assert.ok(res.hookScript.startsWith(path.join(home, '.agent-warden', 'runtime') + path.sep), res.hookScript);
    const again = runCli(['install', '--scope', 'project', '--dir', proj], { env });
    assert.match(again.stdout, /already installed/);
    const u = runCli(['uninstall', '--scope', 'project', '--dir', proj], { env });
    assert.equal(u.code, 0, u.stderr);
    assert.ok(!fs.existsSync(path.join(proj, '.claude', 'settings.json')));
  });

  it('a corrupt file: exit 1, clear message, file untouched', () => {
    const home = tempDir();
    const file = path.join(home, '.claude', 'settings.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"a": 1,,}');
    const r = runCli(['install', '--scope', 'user'], { env: cleanEnv(home) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /settings\.json:1:9: not valid JSON.*left untouched/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a": 1,,}');
  });

  it('usage errors exit 2', () => {
    const r = runCli(['install', '--scope', 'galaxy'], { env: cleanEnv(tempDir()) });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--scope must be one of user, project, managed/);
    assert.ok(fs.existsSync(CLI));
  });
});
