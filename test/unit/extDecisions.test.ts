/**
 * The Decisions view's model in plain Node: real decision events (real engine, baseline policy, the audit
 * module's builder) → entries → a bounded store grouped by session → filters → tree item descriptions.
 */
import * as assert from 'node:assert/strict';
import { buildHookEvent } from '../../src/core/audit/event';
import { canRequestException, decisionItem, DecisionStore, entryFromEvent, insideFolder, matchesFilter, NO_FILTER, sessionItem, type DecisionEntry } from '../../src/extension/model/decisions';
import { summarizeInput } from '../../src/extension/model/summary';
import { decisionEvent, hookInput, PROJECT } from '../vscode/support/events';

function entry(tool: string, input: unknown, o: Parameters<typeof decisionEvent>[2] = {}): DecisionEntry {
  const e = entryFromEvent(decisionEvent(tool, input, o));
  assert.ok(e, 'a decision event gives an entry');
  return e;
}

describe('extension: decision entries from audit events', () => {
  it('a denied secret read carries the rule, reason, remediation, matched facts and a redacted summary', () => {
    const e = entry('Bash', { command: 'cat .env' });
    assert.equal(e.kind, 'deny');
    assert.equal(e.effect, 'deny');
    assert.deepEqual(e.ruleIds, ['secrets.read']);
    assert.match(e.reason, /secret/i);
    assert.ok(e.remediation && /\.env\.example/.test(e.remediation));
    assert.ok(e.matched.some((m) => m.ruleId === 'secrets.read' && m.facts.some((f) => f.includes(`${PROJECT}/.env`))));
    assert.equal(e.tool, 'Bash');
    assert.equal(e.summary, 'cat .env');
    assert.equal(e.sessionId, 'session-aaaa1111');
    assert.equal(e.policy.id, 'builtin:baseline');
    assert.ok(e.inputComplete);
    assert.ok(canRequestException(e));
  });

  it('an ordinary call is an allow with no rule; secrets in commands never reach the summary', () => {
    const ok = entry('Bash', { command: 'npm test' });
    assert.equal(ok.kind, 'allow');
    assert.equal(canRequestException(ok), false);
    const secret = entry('Bash', { command: 'curl -H "Authorization: Bearer ghp_0123456789abcdefghijklmnopqrstuvwxyzAB" https://api.github.com/user' });
    assert.ok(!secret.summary.includes('ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'), secret.summary);
    assert.equal(secret.inputComplete, false, 'a scrubbed input is not the call as made');
  });

  it('file contents written by the agent are never in the entry (hash and size only)', () => {
    const e = entry('Write', { file_path: `${PROJECT}/notes.txt`, content: 'TOP SECRET CONTENT' });
    assert.ok(!JSON.stringify(e).includes('TOP SECRET CONTENT'));
    assert.equal(e.summary, `${PROJECT}/notes.txt`);
  });

  it('observe mode: allowed but would be denied', () => {
    const policy = { ...(require('../../src/runtime/builtin') as typeof import('../../src/runtime/builtin')).builtinPolicy('builtin:baseline'), mode: 'observe' as const };
    const e = entry('Read', { file_path: `${PROJECT}/.env` }, { policy });
    assert.equal(e.effect, 'allow');
    assert.equal(e.verdict, 'deny');
    assert.equal(e.kind, 'wouldDeny');
    assert.equal(decisionItem(e).icon.id, 'eye');
  });

  it('other events and malformed lines are not decisions', () => {
    const hook = buildHookEvent(hookInput('Bash', { command: 'ls' }, { hook: { hook_event_name: 'PostToolUse', tool_response: { stdout: 'x' } } }), { actor: { user: 'u', deviceId: 'd', host: 'h' }, client: { version: '1', os: 'linux-x64' } });
    assert.equal(entryFromEvent({ ...hook, seq: 1, prev: 'x' } as never), null);
    assert.equal(entryFromEvent(null), null);
    assert.equal(entryFromEvent({ type: 'dev.agentwarden.decision.v1', id: 'x', data: { decision: { effect: 'maybe' } } } as never), null);
  });

  it('a huge input is not kept in memory', () => {
    const e = entryFromEvent(decisionEvent('Bash', { command: `echo ${'a'.repeat(3000)}` }), 1024);
    assert.ok(e);
    assert.equal(e.input, null);
    assert.equal(e.inputTruncated, true);
  });
});

describe('extension: summaries', () => {
  it('picks the telling field per tool and clips it', () => {
    assert.equal(summarizeInput('Read', { file_path: '/a/b' }), '/a/b');
    assert.equal(summarizeInput('WebFetch', { url: 'https://x.test/', prompt: 'p' }), 'https://x.test/');
    assert.equal(summarizeInput('Grep', { pattern: 'TODO', path: 'src' }), '/TODO/ · path: src');
    assert.equal(summarizeInput('mcp__github__create_issue', { title: 'Bug', body: 'b' }), 'title: Bug');
    assert.equal(summarizeInput('Write', { file_path: '/f', content: { erased: true, sha256: 'x', bytes: 3 } }), '/f');
    const long = summarizeInput('Bash', { command: 'x'.repeat(500) }, 40);
    assert.equal(long.length, 40);
    assert.ok(long.endsWith('…'));
    assert.equal(summarizeInput('Bash', { command: 'a\n  b' }), 'a b');
  });
});

describe('extension: the decision store', () => {
  it('groups by session, most recently active session first, newest call first', () => {
    const s = new DecisionStore({}, 0);
    const t = 1_700_000_000_000;
    s.add(entry('Bash', { command: 'ls' }, { session: 'old', time: t }));
    s.add(entry('Bash', { command: 'cat .env' }, { session: 'new', time: t + 10 }));
    s.add(entry('Bash', { command: 'pwd' }, { session: 'old', time: t + 20 }));
    assert.deepEqual(s.sessionsFor().map((g) => g.sessionId), ['old', 'new']);
    assert.deepEqual(s.entriesFor('old').map((e) => e.summary), ['pwd', 'ls']);
    assert.equal(s.deniesThisSession, 1);
  });

  it('ignores an event seen twice (re-reading the spool is harmless)', () => {
    const s = new DecisionStore({}, 0);
    const ev = decisionEvent('Bash', { command: 'cat .env' });
    assert.equal(s.add(entryFromEvent(ev)!), true);
    assert.equal(s.add(entryFromEvent(ev)!), false);
    assert.equal(s.size, 1);
    assert.equal(s.deniesThisSession, 1);
  });

  it('stays bounded: the oldest decisions go, empty sessions disappear, the deny counter keeps counting', () => {
    const s = new DecisionStore({ maxEntries: 100 }, 0);
    for (let i = 0; i < 1000; i++) s.add(entry('Bash', { command: i % 10 === 0 ? 'cat .env' : `echo ${i}` }, { session: `s${Math.floor(i / 50)}`, time: 1_700_000_000_000 + i }));
    assert.equal(s.size, 100);
    assert.equal(s.all().length, 100);
    assert.equal(s.all()[0]!.time, 1_700_000_000_000 + 900);
    assert.deepEqual(s.sessionsFor().map((g) => g.sessionId), ['s19', 's18']);
    assert.equal(s.deniesThisSession, 100);
  });

  it('counts only denies recorded since the window opened', () => {
    const opened = 1_700_000_000_000;
    const s = new DecisionStore({}, opened);
    s.add(entry('Bash', { command: 'cat .env' }, { time: opened - 1 }));
    s.add(entry('Bash', { command: 'cat .env' }, { time: opened + 1 }));
    assert.equal(s.deniesThisSession, 1);
    s.clear();
    assert.equal(s.size, 0);
    assert.equal(s.deniesThisSession, 1);
  });

  it('filters: denied only, this workspace, observe-mode would-denies', () => {
    const s = new DecisionStore({}, 0);
    const deny = entry('Bash', { command: 'cat .env' }, { session: 'a' });
    const allow = entry('Bash', { command: 'ls' }, { session: 'a' });
    const elsewhere = entry('Bash', { command: 'cat .env' }, { session: 'b', cwd: '/srv/other' });
    for (const e of [deny, allow, elsewhere]) s.add(e);
    assert.deepEqual(s.entriesFor('a', { ...NO_FILTER, deniedOnly: true }).map((e) => e.id), [deny.id]);
    assert.deepEqual(s.sessionsFor({ ...NO_FILTER, workspaceFolders: [PROJECT] }).map((g) => g.sessionId), ['a']);
    assert.equal(s.sessionsFor({ ...NO_FILTER, wouldDenyOnly: true }).length, 0);
    assert.ok(matchesFilter(deny, { deniedOnly: true, wouldDenyOnly: true, workspaceFolders: [] }));
    assert.ok(insideFolder('/w/p/src', '/w/p'));
    assert.ok(!insideFolder('/w/p2', '/w/p'));
    assert.ok(insideFolder('C:\\w\\p\\x', 'C:/w/p'));
  });
});

describe('extension: decisions → tree items', () => {
  it('an icon and context per effect, the tool as label and the summary as description', () => {
    const d = decisionItem(entry('Bash', { command: 'cat .env' }));
    assert.deepEqual(d.icon, { id: 'circle-slash', color: 'errorForeground' });
    assert.equal(d.label, 'Bash');
    assert.equal(d.description, 'cat .env');
    assert.equal(d.contextValue, 'decision.deny.exceptable');
    assert.match(d.tooltip, /secrets\\\.read/);
    const a = decisionItem(entry('Bash', { command: 'ls' }));
    assert.deepEqual(a.icon, { id: 'pass', color: 'testing.iconPassed' });
    assert.equal(a.contextValue, 'decision.allow');
    const ask = decisionItem(entry('Bash', { command: 'npm publish' }));
    assert.equal(ask.icon.id, 'question');
    assert.equal(ask.contextValue, 'decision.ask.exceptable');
  });

  it('untrusted text cannot become markup or links in tooltips', () => {
    const d = decisionItem(entry('Read', { file_path: `${PROJECT}/[x](command:workbench.action.quit)/\`.env` }));
    // Outside code spans nothing may form a link; inside a code span Markdown renders text only.
    const outsideCode = d.tooltip.replace(/`[^`]*`/g, '');
    assert.ok(!/\]\(command:/.test(outsideCode), d.tooltip);
    assert.match(d.tooltip, /`[^`]*\[x\]\(command:workbench\.action\.quit\)[^`]*`/);
  });

  it('a session item tells the folder, the call count and the denies, and expands only the newest', () => {
    const s = new DecisionStore({}, 0);
    s.add(entry('Bash', { command: 'cat .env' }, { session: 'abcdef123456' }));
    s.add(entry('Bash', { command: 'ls' }, { session: 'abcdef123456' }));
    const g = s.sessionsFor()[0]!;
    const item = sessionItem(g, s.entriesFor(g.sessionId), true);
    assert.equal(item.label, 'Session abcdef12');
    assert.match(item.description ?? '', /^project · \d\d:\d\d:\d\d · 2 calls · 1 denied$/);
    assert.equal(item.collapsible, 'expanded');
    assert.equal(sessionItem(g, s.entriesFor(g.sessionId), false).collapsible, 'collapsed');
  });
});
