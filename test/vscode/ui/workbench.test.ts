/**
 * UI tests in the real VS Code workbench (code-server) driven in headless Debian chromium by playwright-core,
 * with the project's own central server: a user sets Agent Warden up from a clean profile through the
 * welcome view, sees a blocked call appear live, opens "Why was this blocked?", requests an exception from
 * the panel, an approver approves it on the server, and the same call is allowed. Screenshots of each
 * screen go to test-artifacts/vscode/. Nothing is reached but 127.0.0.1.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchBrowser, type Browser } from '../harness/browser';
import { ARTIFACTS, ROOT, startCodeServer, workbenchUrl, type CodeServer } from '../harness/codeServer';
import { clearNotifications, notification, openContainer, pane, pick, runCommand, screenshot, statusItem, statusText, T, type, waitForWorkbench, webview } from '../harness/workbench';
import { startLocalServer, type LocalServer } from '../support/server';

interface HookAnswer {
  decision?: string;
  raw: string;
}

describe('UI: Agent Warden in the VS Code workbench', function () {
  this.timeout(180_000);
  let tmp: string;
  let home: string;
  let project: string;
  let cs: CodeServer;
  let b: Browser;
  let server: LocalServer;
  const metrics: Record<string, unknown> = {};

  const settingsFile = (): string => path.join(home, '.claude', 'settings.json');

  /** The installed PreToolUse command, run through bash with a hook payload, as Claude Code runs it. */
  function runHook(tool: string, toolInput: unknown): Promise<HookAnswer> {
    const s = JSON.parse(fs.readFileSync(settingsFile(), 'utf8')) as { hooks: Record<string, { hooks: { command: string }[] }[]> };
    const command = s.hooks.PreToolUse!.flatMap((g) => g.hooks).find((h) => h.command.includes('--agent-warden'))!.command;
    const payload = { session_id: 'ui-session-0001', transcript_path: '', cwd: project, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: tool, tool_input: toolInput, tool_use_id: `toolu_ui_${Date.now()}` };
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/bash', ['-c', command], { cwd: project, env: { ...process.env, HOME: home, CLAUDE_PROJECT_DIR: project }, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => {
        try {
          const j = JSON.parse(out.trim()) as { hookSpecificOutput?: { permissionDecision?: string } };
          resolve({ raw: out, ...(j.hookSpecificOutput?.permissionDecision ? { decision: j.hookSpecificOutput.permissionDecision } : {}) });
        } catch {
          reject(new Error(`no JSON from the hook: ${out}`));
        }
      });
      child.stdin.end(JSON.stringify(payload) + '\n');
    });
  }

  before(async function () {
    this.timeout(240_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-ui-'));
    home = path.join(tmp, 'home');
    project = path.join(tmp, 'project');
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, 'README.md'), '# demo project\n');
    fs.writeFileSync(path.join(project, '.env.production'), 'API_KEY=not-a-real-key\n');
    server = await startLocalServer(ROOT, path.join(tmp, 'server'));
    cs = await startCodeServer({
      stateDir: path.join(tmp, 'cs'),
      env: { HOME: home, AGENT_WARDEN_MANAGED_SETTINGS: path.join(tmp, 'managed', 'managed-settings.json'), AGENT_WARDEN_MANAGED_CONFIG: path.join(tmp, 'managed', 'extension.json') },
    });
    b = await launchBrowser();
    await b.page.goto(workbenchUrl(cs, { folder: project, devPath: ROOT }), { waitUntil: 'domcontentloaded' });
    await waitForWorkbench(b.page);
  });

  after(async () => {
    if (this.ctx.currentTest?.state === 'failed' && b) await screenshot(b.page, 'failure').catch(() => undefined);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    await b?.close();
    await cs?.stop();
    await server?.stop();
    if (process.env.AW_KEEP_STATE !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && b) await screenshot(b.page, `failure-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
  });

  it('a clean profile: the status bar says "not installed" and the view offers setup', async () => {
    await statusItem(b.page, 'Warden: not installed').waitFor({ state: 'visible', timeout: T.long });
    await openContainer(b.page, 'Agent Warden');
    const decisions = pane(b.page, /Decisions/i);
    await decisions.locator('.welcome-view-content', { hasText: 'not guarding Claude Code' }).waitFor({ timeout: T.short });
    await decisions.locator('.welcome-view-content a.monaco-button', { hasText: 'Set Up Agent Warden' }).waitFor({ timeout: T.short });
    await screenshot(b.page, '01-not-installed');
    assert.equal(fs.existsSync(settingsFile()), false);
  });

  it('one-click setup from the welcome view installs the hooks, enrolls and syncs the signed policy', async () => {
    await pane(b.page, /Decisions/i).locator('.welcome-view-content a.monaco-button', { hasText: 'Set Up Agent Warden' }).click();
    await pick(b.page, /where to install the hooks/, 'User settings');
    await type(b.page, /policy server/, server.url);
    await pick(b.page, /trust root/, 'Enter the trust root fingerprint');
    await type(b.page, /trust root fingerprint/, server.trustSha256);
    await type(b.page, /enrollment token/, server.enrollmentToken('alice@acme.test'));
    await notification(b.page, 'Agent Warden is set up').waitFor({ timeout: T.long });
    const settings = fs.readFileSync(settingsFile(), 'utf8');
    assert.match(settings, /--agent-warden/);
    assert.ok(fs.existsSync(path.join(home, '.agent-warden', 'enrollment.json')));
    await statusItem(b.page, /Warden v1/).waitFor({ timeout: T.long });
    await screenshot(b.page, '02-set-up');
  });

  it('a denied hook call appears in the tree within moments, and the status bar count changes', async () => {
    await clearNotifications(b.page);
    const ans = await runHook('Bash', { command: 'cat .env.production' });
    assert.equal(ans.decision, 'deny', ans.raw);
    await statusItem(b.page, /Warden v1 · 1 denied/).waitFor({ timeout: T.short });
    const decisions = pane(b.page, /Decisions/i);
    const row = decisions.locator('.monaco-list-row', { hasText: 'cat .env.production' }).first();
    await row.waitFor({ state: 'visible', timeout: T.short });
    assert.equal(await row.locator('.codicon-circle-slash').count(), 1, 'the deny icon');
    await decisions.locator('.monaco-list-row', { hasText: /Session ui-sessi/ }).first().waitFor({ timeout: T.short });
    await notification(b.page, /Agent Warden blocked Bash/).waitFor({ timeout: T.short });
    assert.match(await statusText(b.page), /Warden v1 · 1 denied/);
    await screenshot(b.page, '03-decision-in-tree');
  });

  it('selecting the decision opens "Why was this blocked?" with the rule', async () => {
    await pane(b.page, /Decisions/i).locator('.monaco-list-row', { hasText: 'cat .env.production' }).first().click();
    const wv = webview(b.page);
    await wv.locator('#rule').waitFor({ timeout: T.short });
    assert.equal(await wv.locator('#rule').innerText(), 'secrets.read');
    assert.match(await wv.locator('#reason').innerText(), /secret file/);
    assert.match(await wv.locator('#remediation').innerText(), /\.env\.example/);
    assert.match(await wv.locator('#facts').innerText(), /read .*\/\.env\.production/);
    assert.match(await wv.locator('#policy').innerText(), /bundle acme\/default/);
    await b.page.locator('.tabs-container .tab', { hasText: 'Why was Bash blocked?' }).waitFor({ timeout: T.short });
    await clearNotifications(b.page);
    await screenshot(b.page, '04-why-blocked');
  });

  it('an exception requested from the panel reaches the server, is approved there, and the same call is then allowed', async () => {
    await webview(b.page).locator('#request-exception').click();
    await pick(b.page, /Request exception \(1\/3\)/, 'This exact call');
    await pick(b.page, /Request exception \(2\/3\)/, '15 minutes');
    await type(b.page, /Request exception \(3\/3\)/, 'the hotfix build reads the production env file (OPS-1234)');
    await notification(b.page, /Exception requested: pending review/).waitFor({ timeout: T.short });
    await statusItem(b.page, /1 denied \$?\(?/).waitFor({ timeout: T.short });
    const pending = (await server.requests()).filter((r) => r.status === 'pending');
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.userId, 'alice@acme.test');
    assert.deepEqual(pending[0]!.ruleIds, ['secrets.read']);
    await b.page.locator('.part.statusbar .statusbar-item .codicon-clock').first().waitFor({ timeout: T.short });
    await screenshot(b.page, '05-exception-pending');

    await server.approve(pending[0]!.id);
    await notification(b.page, /Exception approved by bob@acme\.test/).waitFor({ timeout: T.long });
    await screenshot(b.page, '06-exception-approved');
    const again = await runHook('Bash', { command: 'cat .env.production' });
    assert.notEqual(again.decision, 'deny', again.raw);
  });

  it('the policy view shows the bundle, its rules and the exception in force', async () => {
    const policy = pane(b.page, /^Policy/i);
    const header = b.page.locator('.part.sidebar .pane-header', { hasText: /^Policy/i }).first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    await policy.locator('.monaco-list-row', { hasText: 'acme/default' }).first().waitFor({ timeout: T.short });
    const exceptions = policy.locator('.monaco-list-row', { hasText: /1 in force/ }).first();
    await exceptions.waitFor({ timeout: T.short });
    if ((await exceptions.getAttribute('aria-expanded')) === 'false') await exceptions.click();
    await policy.locator('.monaco-list-row', { hasText: /approved until \d\d:\d\d:\d\d/ }).first().waitFor({ timeout: T.short });
    await screenshot(b.page, '07-policy-view');
  });

  it('activation time as VS Code measures it (Running Extensions), recorded for the report', async () => {
    await runCommand(b.page, 'Developer: Show Running Extensions');
    const row = b.page.locator('.monaco-list[aria-label="Runtime Extensions"] .monaco-list-row', { hasText: 'agent-warden.agent-warden' }).first();
    await row.waitFor({ timeout: T.short });
    const time = row.locator('.activation-time');
    const text = (await time.innerText()).trim();
    metrics.runningExtensions = text;
    const m = /Activation: (\d+)\s*ms/.exec(text);
    assert.ok(m, `the activation time is shown: ${text}`);
    metrics.activationMs = Number(m[1]);
    metrics.offHostOrigins = [...b.offHost];
    await screenshot(b.page, '08-running-extensions');
    assert.deepEqual([...b.offHost], [], 'the browser reached only 127.0.0.1');
  });
});
