/** Evaluator semantics: combining, defaults, observe mode, unanalysable calls, unless, explanations. */
import * as assert from 'node:assert/strict';
import { compilePolicy } from '../../src/core/evaluate/compile';
import { evaluate, UNANALYZABLE_RULE } from '../../src/core/evaluate/evaluate';
import { extractFacts } from '../../src/core/facts/extract';
import { parsePolicy } from '../../src/core/policy/load';
import type { Decision, HookInput } from '../../src/core/types';

const ENV = { home: '/home/dev', workspace: '/home/dev/project', stateDir: '/home/dev/.agent-warden', claudeDir: '/home/dev/.claude', tmpDir: '/tmp', caseInsensitive: false };

function policy(rules: string, head = 'defaultEffect: allow'): string {
  return `apiVersion: agentwarden.dev/v1\nkind: Policy\nmetadata: { id: t/p, version: "7" }\n${head}\nrules:\n${rules}`;
}

function decide(text: string, input: HookInput): Decision {
  const compiled = compilePolicy(parsePolicy(text), ENV);
  const facts = extractFacts({ hook_event_name: 'PreToolUse', cwd: ENV.workspace, ...input }, { home: ENV.home, user: 'dev', platform: 'linux', workspace: ENV.workspace, vars: { HOME: ENV.home } });
  return evaluate(compiled, facts);
}

const bash = (command: string): HookInput => ({ tool_name: 'Bash', tool_input: { command } });

const THREE = policy(`
  - { id: a.allow, effect: allow, reason: fine, match: { command: { program: echo } } }
  - { id: b.ask, effect: ask, reason: sure?, match: { command: { program: touch } } }
  - { id: c.deny, effect: deny, reason: never, remediation: do not, match: { command: { program: rm } } }
`, 'defaultEffect: ask');

describe('evaluator', () => {
  it('deny beats ask beats allow', () => {
    assert.equal(decide(THREE, bash('echo hi; touch x; rm x')).effect, 'deny');
    assert.equal(decide(THREE, bash('echo hi; touch x')).effect, 'ask');
    assert.equal(decide(THREE, bash('echo hi')).effect, 'allow');
  });

  it('reports the deciding rules, reason, remediation and policy identity', () => {
    const d = decide(THREE, bash('echo hi && rm -f x'));
    assert.deepEqual(d.ruleIds, ['c.deny']);
    assert.equal(d.reason, 'never');
    assert.equal(d.remediation, 'do not');
    assert.deepEqual(d.policy, { id: 't/p', version: '7' });
    assert.equal(d.explicit, true);
    const m = d.matches.find((x) => x.ruleId === 'c.deny');
    assert.ok(m?.facts.some((f) => f.kind === 'command' && f.text.includes('rm -f x')));
    assert.deepEqual(d.matches.map((x) => x.ruleId).sort(), ['a.allow', 'c.deny']);
  });

  it('falls back to the default effect, marked as not explicit', () => {
    const d = decide(THREE, bash('ls'));
    assert.equal(d.effect, 'ask');
    assert.equal(d.explicit, false);
    assert.deepEqual(d.ruleIds, []);
    assert.match(d.reason, /default effect is ask/);
  });

  it('gives unknown tools the default effect, never an implicit allow', () => {
    const d = decide(THREE, { tool_name: 'SomeNewTool', tool_input: { x: 1 } });
    assert.equal(d.effect, 'ask');
  });

  it('matches tools by glob, MCP wildcards included', () => {
    const p = policy(`  - { id: m, effect: deny, reason: no, match: { tool: "mcp__github__*" } }`);
    assert.equal(decide(p, { tool_name: 'mcp__github__create_issue', tool_input: {} }).effect, 'deny');
    assert.equal(decide(p, { tool_name: 'mcp__gitlab__create_issue', tool_input: {} }).effect, 'allow');
  });

  it('denies an unanalysable call by default, with its reason', () => {
    const d = decide(THREE, bash("echo 'unterminated"));
    assert.equal(d.effect, 'deny');
    assert.deepEqual(d.ruleIds, [UNANALYZABLE_RULE]);
    assert.match(d.reason, /could not analyse/);
    assert.ok(d.unanalyzable.length > 0);
  });

  it('lets the policy map unanalysable calls to ask', () => {
    const d = decide(policy('  []', 'defaultEffect: allow\nunanalyzable: ask'), bash("echo 'unterminated"));
    assert.equal(d.effect, 'ask');
  });

  it('treats a missing or malformed tool_input as unanalysable, never allow', () => {
    const p = policy('  []');
    assert.equal(decide(p, { tool_name: 'Bash', tool_input: {} }).effect, 'deny');
    assert.equal(decide(p, { tool_name: 'Read', tool_input: { file_path: 42 } }).effect, 'deny');
    assert.equal(decide(p, { tool_name: 'Read', tool_input: 'x' as unknown as object }).effect, 'deny');
    assert.equal(decide(p, { tool_input: {} }).effect, 'deny');
  });

  it('observe mode records the verdict but enforces nothing', () => {
    const d = decide(THREE.replace('defaultEffect: ask', 'defaultEffect: ask\nmode: observe'), bash('rm -rf x'));
    assert.equal(d.verdict, 'deny');
    assert.equal(d.effect, 'allow');
    assert.equal(d.explicit, false);
    assert.equal(d.mode, 'observe');
    assert.deepEqual(d.ruleIds, ['c.deny']);
  });

  it('a rule in observe mode does not change what an enforcing policy applies', () => {
    const p = policy(`
  - { id: new.rule, effect: deny, mode: observe, reason: trial, match: { command: { program: curl } } }
  - { id: old.rule, effect: ask, reason: sure, match: { command: { program: curl } } }
`);
    const d = decide(p, bash('curl https://example.com'));
    assert.equal(d.effect, 'ask');
    assert.equal(d.verdict, 'deny');
    assert.deepEqual(d.ruleIds, ['new.rule']);
  });

  it('unless exempts a call from a rule', () => {
    const p = policy(`
  - id: net.only-docs
    effect: deny
    reason: only docs
    match: { tool: WebFetch }
    unless: { url: { host: "**.python.org" } }
`);
    assert.equal(decide(p, { tool_name: 'WebFetch', tool_input: { url: 'https://docs.python.org/3/', prompt: 'x' } }).effect, 'allow');
    assert.equal(decide(p, { tool_name: 'WebFetch', tool_input: { url: 'https://python.org/', prompt: 'x' } }).effect, 'allow');
    assert.equal(decide(p, { tool_name: 'WebFetch', tool_input: { url: 'https://evil.example/', prompt: 'x' } }).effect, 'deny');
  });

  it('a list of match blocks means any of them', () => {
    const p = policy(`
  - id: r
    effect: deny
    reason: no
    match:
      - { command: { program: rm } }
      - { path: { access: write, glob: "/etc/**" } }
`);
    assert.equal(decide(p, bash('echo x > /etc/hosts')).effect, 'deny');
    assert.equal(decide(p, bash('rm a')).effect, 'deny');
    assert.equal(decide(p, bash('ls')).effect, 'allow');
  });

  it('conditions inside one block must all hold', () => {
    const p = policy(`
  - id: r
    effect: deny
    reason: no
    match: { tool: Bash, command: { program: git, subcommand: push, flags: { any: [--force] } } }
`);
    assert.equal(decide(p, bash('git push -f origin x')).effect, 'deny');
    assert.equal(decide(p, bash('git push origin x')).effect, 'allow');
    assert.equal(decide(p, bash('git fetch -f')).effect, 'allow');
  });

  it('flags match in any spelling', () => {
    const p = policy(`  - { id: r, effect: deny, reason: no, match: { command: { program: rm, flags: { all: [--recursive, --force] } } } }`);
    for (const c of ['rm -rf x', 'rm -fr x', 'rm -r -f x', 'rm -Rf x', 'rm --recursive --force x', 'rm --recur --forc x', 'rm -f x -r']) {
      assert.equal(decide(p, bash(c)).effect, 'deny', c);
    }
    assert.equal(decide(p, bash('rm -f x')).effect, 'allow');
  });

  it('context conditions: permission mode and subagents', () => {
    const p = policy(`
  - { id: bypass, effect: ask, reason: bypass mode, match: { context: { permissionMode: bypassPermissions } } }
  - { id: sub, effect: deny, reason: subagents may not write, match: { tool: Write, context: { subagent: true } } }
`);
    assert.equal(decide(p, { ...bash('ls'), permission_mode: 'bypassPermissions' }).effect, 'ask');
    assert.equal(decide(p, { ...bash('ls'), permission_mode: 'default' }).effect, 'allow');
    const write = { tool_name: 'Write', tool_input: { file_path: '/home/dev/project/a.txt', content: 'x' } };
    assert.equal(decide(p, { ...write, agent_id: 'a1', agent_type: 'Explore' }).effect, 'deny');
    assert.equal(decide(p, write).effect, 'allow');
  });

  it('workspace-relative and home globs', () => {
    const p = policy(`
  - { id: ws, effect: deny, reason: infra is protected, match: { path: { access: write, glob: "infra/**" } } }
  - { id: home, effect: deny, reason: no, match: { path: { glob: "~/secret.txt" } } }
`);
    assert.equal(decide(p, { tool_name: 'Write', tool_input: { file_path: '/home/dev/project/infra/main.tf', content: '' } }).effect, 'deny');
    assert.equal(decide(p, { tool_name: 'Write', tool_input: { file_path: '/home/dev/project/src/main.ts', content: '' } }).effect, 'allow');
    assert.equal(decide(p, bash('cat $HOME/secret.txt')).effect, 'deny');
  });

  it('env conditions with value globs', () => {
    const p = policy(`  - { id: r, effect: ask, reason: preload, match: { env: { name: NODE_OPTIONS, value: ["*--require*"] } } }`);
    assert.equal(decide(p, bash('NODE_OPTIONS="--require ./x.js" node app.js')).effect, 'ask');
    assert.equal(decide(p, bash('NODE_OPTIONS=--max-old-space-size=4096 node app.js')).effect, 'allow');
  });

  it('url conditions: hosts, subdomains, notHost and sends', () => {
    const p = policy(`
  - { id: up, effect: deny, reason: upload, match: { url: { sends: file, notHost: [localhost] } } }
  - { id: sub, effect: ask, reason: sub, match: { url: { host: "*.corp.example" } } }
`);
    assert.equal(decide(p, bash('curl -T a.zip https://x.example/')).effect, 'deny');
    assert.equal(decide(p, bash('curl -T a.zip http://localhost:3000/')).effect, 'allow');
    assert.equal(decide(p, bash('curl https://a.b.corp.example/')).effect, 'ask');
    assert.equal(decide(p, bash('curl https://corp.example/')).effect, 'allow');
  });
});
