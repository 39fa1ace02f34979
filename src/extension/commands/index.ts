/**
 * Every command of the extension. Each one is registered once, owned by the extension context, and wrapped
 * so a failure becomes a message with "Show Log" rather than a silent rejection. A command that cannot run
 * says why (and offers the command that fixes it).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { deferred } from '../lazy';
import { errorText } from '../log';
import { canRequestException, KIND_LABELS, type DecisionEntry } from '../model/decisions';
import { testCaseYaml, type DetailsExtras } from '../model/details';
import { buildDraft, compactDuration, durationChoices, durationWords, maxDurationFor, scopeOptions, validateDuration, validateJustification, type Matcher, type RuleExceptionPolicy } from '../model/exceptionForm';
import { statusText, type ExceptionRecord } from '../model/exceptions';
import { clip, clockTime } from '../model/format';
import { doctorMarkdown, simulationMarkdown } from '../model/reports';
import { MENU_LINKS, statusView } from '../model/state';
import type { StatusBar } from '../statusBar';
import type { DecisionNode, DecisionsView, FilterName } from '../views/decisionsView';
import type { PolicyView } from '../views/policyView';
import type { DetailsPanel } from '../webview/detailsPanel';
import type { Warden } from '../warden';
import { detectClaude, runRemove, runSetup, setupRecord, type SetupOptions } from './setup';

export interface App {
  warden: Warden;
  statusBar: StatusBar;
  decisionsView: DecisionsView;
  policyView: PolicyView;
  details: DetailsPanel;
  docs: ReportDocuments;
  diagnostics: vscode.DiagnosticCollection;
}

/** Read-only documents (doctor report, simulation, policy source of a bundle) under `agent-warden:`. */
export class ReportDocuments implements vscode.TextDocumentContentProvider {
  static readonly scheme = 'agent-warden';
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(name: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: ReportDocuments.scheme, path: `/${name}` });
    this.texts.set(uri.path, text);
    this.changed.fire(uri);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.path) ?? '';
  }

  dispose(): void {
    this.changed.dispose();
  }
}

type Handler = (...args: unknown[]) => unknown;

/** A command that cannot run: the reason, and the command that would fix it. */
export class CannotRun extends Error {
  constructor(
    message: string,
    readonly fix?: { title: string; command: string },
  ) {
    super(message);
  }
}

function wrap(app: App, id: string, fn: Handler): Handler {
  return async (...args: unknown[]) => {
    try {
      return await fn(...args);
    } catch (e) {
      if (e instanceof CannotRun) {
        app.warden.log.info(`${id}: ${e.message}`);
        const actions = e.fix ? [e.fix.title] : [];
        void vscode.window.showWarningMessage(`Agent Warden: ${e.message}`, ...actions).then((a) => {
          if (a && e.fix) void vscode.commands.executeCommand(e.fix.command);
        });
        return undefined;
      }
      app.warden.log.error(`${id} failed: ${e instanceof Error && e.stack ? e.stack : errorText(e)}`);
      void vscode.window.showErrorMessage(`Agent Warden: ${errorText(e)}`, 'Show Log').then((a) => {
        if (a) app.warden.log.show();
      });
      return undefined;
    }
  };
}

/** The decision a command was invoked for: an event id, a tree node, or asked for among recent ones. */
async function pickDecision(app: App, arg: unknown, want: (e: DecisionEntry) => boolean, what: string): Promise<DecisionEntry | undefined> {
  const w = app.warden;
  let id: string | undefined;
  if (typeof arg === 'string') id = arg;
  else if (arg && typeof arg === 'object') {
    const o = arg as Partial<DecisionNode> & { eventId?: unknown };
    if (o.type === 'decision' && typeof o.id === 'string') id = o.id;
    else if (typeof o.eventId === 'string') id = o.eventId;
  }
  if (id) {
    const e = w.decisions.get(id);
    if (!e) throw new CannotRun(`decision ${id} is no longer in the view (only the most recent ${w.decisions.maxEntries} are kept)`);
    return e;
  }
  const candidates = w.decisions.all().filter(want).reverse().slice(0, 50);
  if (!candidates.length) throw new CannotRun(`there is no ${what} in this window yet`, { title: 'Show Decisions', command: 'agentWarden.showDecisions' });
  const pick = await vscode.window.showQuickPick(
    candidates.map((e) => ({ label: `$(${e.kind === 'deny' ? 'circle-slash' : 'question'}) ${e.tool}`, description: e.summary, detail: `${clockTime(e.time)} · ${e.ruleIds.join(', ') || 'no rule'} · ${clip(e.reason, 100)}`, e })),
    { title: `Agent Warden: choose a ${what}`, matchOnDescription: true, matchOnDetail: true },
  );
  return pick?.e;
}

/** The rule's exception settings in the policy that is enforced now. */
function ruleException(app: App, ruleId: string | undefined): RuleExceptionPolicy | undefined {
  if (!ruleId) return undefined;
  const r = app.warden.snapshot?.policyDoc?.rules.find((x) => x.id === ruleId);
  return r ? (r.exception ?? { allowed: false }) : undefined;
}

/** Where a rule is defined: a YAML file and line, or a read-only JSON view of the bundle's policy. */
function ruleLocation(app: App, ruleId: string): { uri: vscode.Uri; line: number } | undefined {
  const s = app.warden.snapshot;
  if (!s?.policyDoc) return undefined;
  const idRe = new RegExp(`^\\s*(?:-\\s*)?["']?id["']?\\s*:\\s*["']?${ruleId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*(?:#.*)?,?$`);
  if (s.policyFile && fs.existsSync(s.policyFile)) {
    const lines = fs.readFileSync(s.policyFile, 'utf8').split('\n');
    const i = lines.findIndex((l) => idRe.test(l));
    if (i >= 0) return { uri: vscode.Uri.file(s.policyFile), line: i };
  }
  const text = JSON.stringify(s.policyDoc, null, 2);
  const lines = text.split('\n');
  const i = lines.findIndex((l) => idRe.test(l));
  if (i < 0) return undefined;
  const uri = app.docs.set(`policy/${s.policy.id.replace(/[^A-Za-z0-9._-]+/g, '_')}-${s.policy.version}.json`, text);
  return { uri, line: i };
}

function detailsExtras(app: App, e: DecisionEntry): DetailsExtras {
  const x: DetailsExtras = {};
  const rule = e.ruleIds[0];
  if (rule) {
    const loc = ruleLocation(app, rule);
    if (loc) x.ruleSource = `${loc.uri.scheme === 'file' ? vscode.workspace.asRelativePath(loc.uri) : loc.uri.path.slice(1)}:${loc.line + 1}`;
    const ex = ruleException(app, rule);
    if (ex) x.exception = ex;
  }
  const rec = app.warden.exceptions.forEvent(e.id);
  if (rec) x.exceptionStatus = statusText(rec, Date.now());
  return x;
}

export function showDetails(app: App, e: DecisionEntry, preserveFocus = false): void {
  app.details.show(e, detailsExtras(app, e), preserveFocus);
}

/** Re-render the open details panel (its exception status or the policy changed). */
export function refreshDetails(app: App): void {
  const shown = app.details.shown;
  const e = shown ? app.warden.decisions.get(shown.id) : undefined;
  if (e) app.details.update(e, detailsExtras(app, e));
}

// -----------------------------------------------------------------------------------------------------------
// exception request form

interface ExceptionArgs {
  eventId?: string;
  scope?: Matcher['kind'];
  duration?: string;
  justification?: string;
}

async function requestException(app: App, arg: unknown): Promise<ExceptionRecord | undefined> {
  const w = app.warden;
  if (!w.serverUrl) throw new CannotRun('requesting an exception needs a connection to your organisation\'s Agent Warden server, where exceptions are approved', { title: 'Set Up', command: 'agentWarden.setup' });
  if (!(await w.deviceToken())) throw new CannotRun(`this machine is not enrolled with ${w.serverUrl}`, { title: 'Set Up', command: 'agentWarden.setup' });
  const a: ExceptionArgs = arg && typeof arg === 'object' && !('type' in (arg as object)) ? (arg as ExceptionArgs) : {};
  const e = await pickDecision(app, a.eventId ?? arg, canRequestException, 'blocked call');
  if (!e) return undefined;
  if (!canRequestException(e)) throw new CannotRun(`exceptions are only for calls a rule denied or asked about; this one was ${KIND_LABELS[e.kind].toLowerCase()}${e.ruleIds.length ? '' : ' by no rule'}`);
  const rule = ruleException(app, e.ruleIds[0]);
  const max = maxDurationFor(rule ?? { allowed: true });
  if ('why' in max) throw new CannotRun(`rule ${e.ruleIds[0]}: ${max.why}`);
  if (!rule) w.log.warn(`rule ${e.ruleIds[0]} is not in the policy enforced now (${w.snapshot?.policy.id}); the server decides what it allows`);

  const opts = scopeOptions(e);
  let matcher: Matcher | undefined;
  if (a.scope) {
    matcher = opts.choices.find((c) => c.matcher.kind === a.scope)?.matcher;
    if (!matcher) throw new CannotRun(`scope ${a.scope} is not available for this call: ${opts.unavailable.find((u) => u.kind === a.scope)?.why ?? 'unknown scope'}`);
  } else {
    const items: (vscode.QuickPickItem & { m?: Matcher })[] = opts.choices.map((c) => ({ label: c.label, detail: c.detail, m: c.matcher }));
    if (opts.unavailable.length) {
      items.push({ label: 'Not available for this call', kind: vscode.QuickPickItemKind.Separator });
      for (const u of opts.unavailable) items.push({ label: `$(circle-slash) ${u.kind}`, description: u.why });
    }
    let pick: (typeof items)[number] | undefined;
    do {
      pick = await vscode.window.showQuickPick(items, { title: `Request exception (1/3) for ${e.ruleIds.join(', ')}: what may run`, placeHolder: `${e.tool}: ${e.summary}`, ignoreFocusOut: true });
      if (!pick) return undefined;
    } while (!pick.m);
    matcher = pick.m;
  }

  let duration = a.duration;
  if (!duration) {
    const presets = durationChoices(max.ms);
    const pick = await vscode.window.showQuickPick(
      [...presets.map((p) => ({ label: durationWords(p.ms), description: p.ms === max.ms ? 'the most this rule allows' : undefined, text: p.text })), { label: 'Other…', description: `up to ${durationWords(max.ms)}`, text: '' }],
      { title: 'Request exception (2/3): for how long', ignoreFocusOut: true },
    );
    if (!pick) return undefined;
    duration = pick.text || (await vscode.window.showInputBox({ title: 'Request exception (2/3): for how long', prompt: `A duration such as 30m or 2h, at most ${compactDuration(max.ms)}`, ignoreFocusOut: true, validateInput: (v) => validateDuration(v, max.ms) }));
    if (!duration) return undefined;
  }

  let justification = a.justification;
  if (justification === undefined) {
    justification = await vscode.window.showInputBox({ title: 'Request exception (3/3): why is it needed', prompt: 'Your reviewer reads this. Say what the agent needs to do and why the rule does not fit here.', placeHolder: 'e.g. the release script must read .env.production to build the artifact (OPS-1234)', ignoreFocusOut: true, validateInput: validateJustification });
    if (justification === undefined) return undefined;
  }

  const built = buildDraft({ entry: e, matcher, duration, justification, rule: rule ?? { allowed: true } });
  if ('errors' in built) throw new CannotRun(built.errors.join('; '));
  const rec = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Agent Warden: sending the exception request…' }, () => w.exceptions.submit(built.draft));
  const msg = rec.status === 'pending' ? `Exception requested: pending review (${rec.requestId}). You will be notified when it is decided.` : `Exception request ${rec.requestId}: ${statusText(rec, Date.now())}`;
  void vscode.window.showInformationMessage(msg);
  if (app.details.shown?.id === e.id) app.details.update(e, detailsExtras(app, e));
  return rec;
}

// -----------------------------------------------------------------------------------------------------------
// try it

interface TryItResult {
  decision?: string;
  reason?: string;
  entry?: DecisionEntry;
}

/** Run the installed guard exactly as Claude Code would, on a call every shipped policy denies. */
async function tryIt(app: App): Promise<TryItResult> {
  const w = app.warden;
  await w.refresh();
  const s = w.snapshot;
  if (!s?.install.installed) throw new CannotRun('the hooks are not installed yet, so there is nothing to try', { title: 'Set Up', command: 'agentWarden.setup' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runDoctor } = require('../../runtime/install/doctor') as typeof import('../../runtime/install/doctor');
  const projectDir = w.projectDir ?? os.homedir();
  const rep = runDoctor({ projectDir, env: process.env, probe: false });
  const cmd = rep.layers.filter((l) => l.hooksRun).flatMap((l) => l.commands).find((c) => c.events.includes('PreToolUse'));
  if (!cmd) throw new CannotRun('no running PreToolUse guard was found in the Claude Code settings', { title: 'Open Doctor Report', command: 'agentWarden.doctor' });
  const sessionId = `agent-warden-try-it-${Date.now().toString(36)}`;
  const input = { session_id: sessionId, transcript_path: '', cwd: projectDir, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'cat ~/.ssh/id_rsa', description: 'Agent Warden "Try it": read an SSH private key' }, tool_use_id: 'toolu_agent_warden_try_it' };
  const out = await new Promise<string>((resolve, reject) => {
    const shell = fs.existsSync('/bin/bash') ? '/bin/bash' : true;
    const child = spawn(cmd.command, { shell, cwd: fs.existsSync(projectDir) ? projectDir : undefined, env: { ...process.env, CLAUDE_PROJECT_DIR: projectDir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(t);
      resolve(stdout);
    });
    child.stdin.end(JSON.stringify(input) + '\n');
  });
  const r: TryItResult = {};
  try {
    const hso = (JSON.parse(out.trim()) as { hookSpecificOutput?: { permissionDecision?: string; permissionDecisionReason?: string } }).hookSpecificOutput;
    if (hso?.permissionDecision) r.decision = hso.permissionDecision;
    if (hso?.permissionDecisionReason) r.reason = hso.permissionDecisionReason;
  } catch {
    throw new Error(`the hook gave no JSON answer: ${JSON.stringify(out.slice(0, 200))}`);
  }
  w.readSpoolNow();
  const e = w.decisions.all().reverse().find((x) => x.sessionId === sessionId);
  if (e) {
    r.entry = e;
    await vscode.commands.executeCommand('agentWarden.showDecisions');
    await app.decisionsView.reveal(e);
    showDetails(app, e);
  }
  if (r.decision === 'deny') void vscode.window.showInformationMessage(`Agent Warden blocked the test call (cat ~/.ssh/id_rsa), as it would block Claude Code: ${e?.ruleIds.join(', ') || 'denied'}.`);
  else void vscode.window.showWarningMessage(`The test call was not blocked (${r.decision ?? 'no decision'}). Open the doctor report to see why.`, 'Open Doctor Report').then((a) => a && vscode.commands.executeCommand('agentWarden.doctor'));
  return r;
}

// -----------------------------------------------------------------------------------------------------------
// policy authoring

const SUITE_GLOBS = '{**/*.warden-test.yaml,**/*.warden-test.yml,**/*.tests.yaml}';

async function testPolicy(app: App, arg: unknown): Promise<{ passed: number; failed: number; problems: number }> {
  const tools = deferred().policyTools;
  const texts = (f: string): string | undefined => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && path.resolve(d.uri.fsPath) === path.resolve(f))?.getText();
  let files: string[] = [];
  const given = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : undefined;
  const active = vscode.window.activeTextEditor?.document;
  const target = given ?? (active?.uri.scheme === 'file' ? active.uri.fsPath : undefined);
  const found = (await vscode.workspace.findFiles(SUITE_GLOBS, '**/node_modules/**', 500)).map((u) => u.fsPath);
  if (target) {
    const text = texts(target) ?? (fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '');
    if (tools.looksLikeSuite(text)) files = [target];
    else if (tools.looksLikePolicy(text)) {
      files = tools.suitesFor(target, found, texts);
      if (!files.length) throw new CannotRun(`no test suite in the workspace tests ${path.basename(target)} (a suite is a *.warden-test.yaml file whose "policy:" names it)`);
    }
  }
  if (!files.length) files = found;
  if (!files.length) throw new CannotRun('no policy test suite found: open one (a YAML file with "suite:", "policy:" and "cases:"), or add *.warden-test.yaml files to the workspace');
  app.diagnostics.clear();
  const byFile = new Map<string, vscode.Diagnostic[]>();
  let passed = 0;
  let failed = 0;
  let problems = 0;
  for (const f of files) {
    const r = tools.runSuite(f, texts);
    passed += r.cases.filter((c) => c.pass).length;
    failed += r.cases.filter((c) => !c.pass).length;
    for (const p of r.problems) {
      problems++;
      const line = Math.max(0, p.line - 1);
      const d = new vscode.Diagnostic(new vscode.Range(line, Math.max(0, p.col - 1), line, 1000), p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'Agent Warden';
      d.code = 'policy-test';
      const list = byFile.get(p.file) ?? [];
      list.push(d);
      byFile.set(p.file, list);
    }
    app.warden.log.info(`test policy: ${r.suite} (${f}): ${r.cases.filter((c) => c.pass).length} passed, ${r.cases.filter((c) => !c.pass).length} failed${r.problems.length > r.cases.filter((c) => !c.pass).length ? ', suite could not run' : ''}`);
  }
  for (const [f, ds] of byFile) app.diagnostics.set(vscode.Uri.file(f), ds);
  const summary = `Policy tests: ${passed} passed, ${failed} failed${problems > failed ? `, ${problems - failed} load problem(s)` : ''} (${files.length} suite${files.length === 1 ? '' : 's'})`;
  if (failed || problems) void vscode.window.showErrorMessage(summary, 'Show Problems').then((a) => a && vscode.commands.executeCommand('workbench.actions.view.problems'));
  else void vscode.window.showInformationMessage(summary);
  return { passed, failed, problems };
}

const SIM_TOOLS: { tool: string; key: string; prompt: string }[] = [
  { tool: 'Bash', key: 'command', prompt: 'Shell command' },
  { tool: 'Read', key: 'file_path', prompt: 'File to read (absolute, or relative to the workspace)' },
  { tool: 'Write', key: 'file_path', prompt: 'File to write' },
  { tool: 'Edit', key: 'file_path', prompt: 'File to edit' },
  { tool: 'WebFetch', key: 'url', prompt: 'URL to fetch' },
  { tool: 'Grep', key: 'pattern', prompt: 'Pattern to search for' },
];

async function simulateToolCall(app: App, arg: unknown): Promise<unknown> {
  const tools = deferred().policyTools;
  const w = app.warden;
  const a = arg && typeof arg === 'object' ? (arg as { tool?: string; input?: unknown; policyFile?: string }) : {};
  // The policy: the one in the active editor when it is a policy (unsaved edits included), else the enforced one.
  const doc = vscode.window.activeTextEditor?.document;
  let policy = w.snapshot?.policyDoc;
  let label = w.snapshot ? `enforced policy ${w.snapshot.policy.id}` : 'enforced policy';
  const file = a.policyFile ?? (doc && tools.looksLikePolicy(doc.getText()) ? doc.uri.fsPath : undefined);
  if (file) {
    const text = texts(file) ?? fs.readFileSync(file, 'utf8');
    try {
      policy = tools.parsePolicyText(text, file);
      label = `${path.basename(file)} (editor)`;
    } catch (e) {
      throw new CannotRun(`${path.basename(file)} is not a valid policy yet: ${tools.problemsOf(e, file).slice(0, 3).map((p) => `${p.line}:${p.col} ${p.message}`).join('; ')}`);
    }
  }
  if (!policy) throw new CannotRun('no policy is available to simulate against yet');
  let tool = a.tool;
  let input = a.input;
  if (!tool) {
    const pick = await vscode.window.showQuickPick([...SIM_TOOLS.map((t) => ({ label: t.tool, description: t.prompt, t })), { label: 'Other tool…', description: 'any tool name (e.g. mcp__github__create_issue) and a JSON input', t: undefined }], { title: `Simulate a tool call against ${label}` });
    if (!pick) return undefined;
    if (pick.t) {
      tool = pick.t.tool;
      const v = await vscode.window.showInputBox({ title: `Simulate ${tool}`, prompt: pick.t.prompt, ignoreFocusOut: true, validateInput: (x) => (x.trim() ? undefined : 'Required') });
      if (v === undefined) return undefined;
      let value = v.trim();
      if (pick.t.key === 'file_path' && !path.isAbsolute(value)) value = path.join(w.projectDir ?? os.homedir(), value);
      input = { [pick.t.key]: value };
    } else {
      tool = await vscode.window.showInputBox({ title: 'Simulate: tool name', validateInput: (x) => (/^[A-Za-z_][\w-]*$/.test(x.trim()) ? undefined : 'A tool name such as Bash or mcp__server__tool') });
      if (!tool) return undefined;
      const json = await vscode.window.showInputBox({ title: `Simulate ${tool}: tool input (JSON)`, value: '{}', validateInput: (x) => { try { JSON.parse(x); return undefined; } catch (e) { return errorText(e); } } });
      if (json === undefined) return undefined;
      input = JSON.parse(json) as unknown;
    }
  }
  const sim = tools.simulate(policy, tool.trim(), input ?? {}, { ...(w.projectDir ? { projectDir: w.projectDir } : {}), stateDir: w.stateDir });
  const uri = app.docs.set(`simulation/${tool.trim()}-${Date.now().toString(36)}.md`, simulationMarkdown(tool.trim(), input, sim.decision, sim.facts, label));
  if (!a.tool) {
    const d = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(d, 'markdown');
    await vscode.window.showTextDocument(d, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }
  return sim.decision;

  function texts(f: string): string | undefined {
    return vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && path.resolve(d.uri.fsPath) === path.resolve(f))?.getText();
  }
}

// -----------------------------------------------------------------------------------------------------------

export function registerCommands(app: App): vscode.Disposable[] {
  const w = app.warden;
  const table: Record<string, Handler> = {
    'agentWarden.showVersion': () => {
      const v = String(w.context.extension.packageJSON.version ?? 'dev');
      void vscode.window.showInformationMessage(`Agent Warden ${v}`);
      return v;
    },
    'agentWarden.showDecisions': async () => {
      await vscode.commands.executeCommand('agentWarden.decisions.focus');
    },
    'agentWarden.statusMenu': async () => {
      const s = w.state();
      const v = s ? statusView(s) : undefined;
      const items: (vscode.QuickPickItem & { command?: string })[] = [];
      if (v) items.push({ label: v.title, kind: vscode.QuickPickItemKind.Separator });
      for (const l of MENU_LINKS) items.push({ label: `$(${l.icon}) ${l.label}`, detail: l.hint, command: l.command });
      items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
      items.push({ label: '$(output) Show log', command: 'agentWarden.showLog' }, { label: '$(settings-gear) Settings', command: 'agentWarden.openSettings' });
      if (setupRecord(w)) items.push({ label: '$(trash) Remove what setup installed', command: 'agentWarden.remove' });
      const pick = await vscode.window.showQuickPick(items, { title: v ? `Agent Warden: ${v.title}` : 'Agent Warden', placeHolder: v ? v.text.replace(/\$\([^)]+\)\s*/g, '') : undefined });
      if (pick?.command) await vscode.commands.executeCommand(pick.command);
    },
    'agentWarden.syncNow': async () => {
      if (!w.serverUrl) throw new CannotRun('no policy server is configured: the built-in baseline is enforced offline, so there is nothing to sync', { title: 'Set Up', command: 'agentWarden.setup' });
      const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Agent Warden: syncing the policy' }, () => w.syncNow());
      const ok = run.result === 'updated' || run.result === 'unchanged' || run.result === 'not-modified';
      const text = `Policy sync: ${run.result}${run.message ? ` (${run.message})` : ''}`;
      if (ok) void vscode.window.showInformationMessage(text);
      else void vscode.window.showWarningMessage(text, 'Show Log').then((a) => a && w.log.show());
      return run.result;
    },
    'agentWarden.doctor': async () => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { runDoctor } = require('../../runtime/install/doctor') as typeof import('../../runtime/install/doctor');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const claude = detectClaude();
      const rep = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Agent Warden: checking the hooks…' }, async () =>
        runDoctor({ projectDir: w.projectDir ?? os.homedir(), env: process.env, probe: true, defaultStateDir: w.stateDir, ...(claude.info ? { claude: claude.info } : {}) }),
      );
      const md = doctorMarkdown(rep, { stateDir: w.stateDir, extensionVersion: String(w.context.extension.packageJSON.version), ...(w.serverUrl ? { serverUrl: w.serverUrl } : {}), enrolled: !!w.deviceId });
      const uri = app.docs.set('doctor-report.md', md);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
      await vscode.window.showTextDocument(doc, { preview: true });
      await w.refresh();
      return rep.ok;
    },
    'agentWarden.setup': async (arg?: unknown) => {
      const opts: SetupOptions = arg && typeof arg === 'object' ? (arg as SetupOptions) : { interactive: true };
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Agent Warden setup' }, () => runSetup(w, opts));
      if (!r) return undefined;
      const failed = r.steps.filter((s) => !s.ok && s.step !== 'detect Claude Code');
      const msg = failed.length ? `Agent Warden setup finished with problems: ${failed.map((f) => `${f.step}: ${f.detail}`).join('; ')}` : `Agent Warden is set up: ${r.steps.find((s) => s.step === 'verify')?.detail ?? 'done'}.`;
      if (opts.interactive || arg === undefined) {
        void (failed.length ? vscode.window.showWarningMessage(msg, 'Show Log') : vscode.window.showInformationMessage(msg, 'Try It', 'Show Decisions')).then((a) => {
          if (a === 'Try It') void vscode.commands.executeCommand('agentWarden.tryIt');
          if (a === 'Show Decisions') void vscode.commands.executeCommand('agentWarden.showDecisions');
          if (a === 'Show Log') w.log.show();
        });
      }
      return r;
    },
    'agentWarden.detectClaudeCode': () => {
      const d = detectClaude();
      void (d.found ? vscode.window.showInformationMessage(d.text) : vscode.window.showWarningMessage(d.text));
      return d.found;
    },
    'agentWarden.remove': async (arg?: unknown) => {
      const rec = setupRecord(w);
      if (!rec) throw new CannotRun('setup has not changed anything in this profile, so there is nothing to remove (hooks installed with `warden install` are removed with `warden uninstall`)');
      const confirmed = arg === true || (await vscode.window.showWarningMessage('Remove what Agent Warden setup installed? Claude Code tool calls will no longer be guarded by these hooks.', { modal: true }, 'Remove')) === 'Remove';
      if (!confirmed) return undefined;
      const r = await runRemove(w);
      if (r && arg !== true) void vscode.window.showInformationMessage(`Agent Warden removed: ${r.undone.join('; ') || 'nothing to undo'}. Kept: ${r.kept.join('; ')}.`);
      return r;
    },
    'agentWarden.tryIt': () => tryIt(app),
    'agentWarden.requestException': (arg?: unknown) => requestException(app, arg),
    'agentWarden.cancelException': async (arg?: unknown) => {
      const id = typeof arg === 'string' ? arg : arg && typeof arg === 'object' ? (arg as { requestId?: string }).requestId : undefined;
      if (!id) throw new CannotRun('choose a pending exception in the Policy view');
      await w.exceptions.cancel(id);
    },
    'agentWarden.showDecisionDetails': async (arg?: unknown) => {
      const e = await pickDecision(app, arg, () => true, 'decision');
      if (e) showDetails(app, e);
      return e?.id;
    },
    'agentWarden.copyAsTestCase': async (arg?: unknown) => {
      const e = await pickDecision(app, arg, () => true, 'decision');
      if (!e) return undefined;
      const yaml = testCaseYaml(e, { home: os.homedir(), ...(e.user ? { user: e.user } : {}) });
      await vscode.env.clipboard.writeText(yaml);
      void vscode.window.showInformationMessage('Copied as a policy test case: paste it under "cases:" in a test suite, then run "Agent Warden: Test Policy".');
      return yaml;
    },
    'agentWarden.openRuleSource': async (arg?: unknown) => {
      let ruleId: string | undefined;
      if (typeof arg === 'string') ruleId = w.decisions.get(arg)?.ruleIds[0] ?? arg;
      else if (arg && typeof arg === 'object' && typeof (arg as { ruleId?: unknown }).ruleId === 'string') ruleId = (arg as { ruleId: string }).ruleId;
      if (!ruleId) {
        const rules = w.snapshot?.policyDoc?.rules ?? [];
        const pick = await vscode.window.showQuickPick(rules.map((r) => ({ label: r.id, description: r.effect, detail: r.reason })), { title: 'Open the source of a rule' });
        ruleId = pick?.label;
      }
      if (!ruleId) return undefined;
      const loc = ruleLocation(app, ruleId);
      if (!loc) throw new CannotRun(`rule ${ruleId} is not in the policy enforced now (${w.snapshot?.policy.id ?? 'none'})`);
      const doc = await vscode.workspace.openTextDocument(loc.uri);
      const pos = new vscode.Position(loc.line, 0);
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), preview: true });
      return `${loc.uri.toString()}:${loc.line + 1}`;
    },
    'agentWarden.filterDecisions': async (arg?: unknown) => {
      const names: [FilterName, string, string][] = [
        ['deniedOnly', 'Denied only', 'Only calls that were blocked'],
        ['thisWorkspace', 'This workspace', 'Only calls made in the open folders'],
        ['wouldDenyOnly', 'Observe-mode would-denies', 'Only calls an observe-mode rule would have blocked'],
      ];
      let chosen: Set<FilterName>;
      if (arg && typeof arg === 'object') chosen = new Set(names.filter(([n]) => (arg as Record<string, unknown>)[n] === true).map(([n]) => n));
      else {
        const flags = app.decisionsView.filterFlags;
        const picks = await vscode.window.showQuickPick(names.map(([n, label, detail]) => ({ label, detail, picked: flags[n], n })), { title: 'Filter the decisions', canPickMany: true });
        if (!picks) return undefined;
        chosen = new Set(picks.map((p) => p.n));
      }
      for (const [n] of names) await app.decisionsView.setFilter(n, chosen.has(n));
      return app.decisionsView.filterFlags;
    },
    'agentWarden.clearFilters': async () => {
      for (const n of ['deniedOnly', 'thisWorkspace', 'wouldDenyOnly'] as FilterName[]) await app.decisionsView.setFilter(n, false);
    },
    'agentWarden.clearDecisions': () => w.clearDecisions(),
    'agentWarden.refresh': async () => {
      w.readSpoolNow();
      await w.refresh();
    },
    'agentWarden.testPolicy': (arg?: unknown) => testPolicy(app, arg),
    'agentWarden.simulateToolCall': (arg?: unknown) => simulateToolCall(app, arg),
    'agentWarden.showLog': () => w.log.show(),
    'agentWarden.openSettings': async (arg?: unknown) => {
      // Every setting with its value in effect; the organisation's are shown locked, with where they come from.
      const eff = w.config.settings;
      const items = (Object.keys(eff) as (keyof typeof eff)[]).map((k) => {
        const v = eff[k];
        return {
          label: `${v.locked ? '$(lock) ' : ''}agentWarden.${k}`,
          description: `${JSON.stringify(v.value)} · ${v.locked ? 'set by your organisation' : v.source === 'default' ? 'default' : `${v.source} setting`}`,
          detail: v.locked ? `Locked by ${v.lockedBy ?? 'a managed file'}: your own value is ignored.` : undefined,
          key: k,
          locked: v.locked,
        };
      });
      if (arg === 'list') return items.map((i) => ({ key: i.key, locked: i.locked, description: i.description }));
      const pick = await vscode.window.showQuickPick(items, { title: 'Agent Warden settings in effect', placeHolder: 'Choose a setting to change it (locked ones are managed by your organisation)', matchOnDescription: true });
      if (!pick) return undefined;
      if (pick.locked) throw new CannotRun(`agentWarden.${pick.key} is managed by your organisation (${eff[pick.key].lockedBy ?? 'managed file'}); ask your administrator to change it`);
      return vscode.commands.executeCommand('workbench.action.openSettings', `agentWarden.${pick.key}`);
    },
  };
  return Object.entries(table).map(([id, fn]) => vscode.commands.registerCommand(id, wrap(app, id, fn)));
}
