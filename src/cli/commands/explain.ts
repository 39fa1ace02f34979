import type { Facts, HookInput } from '../../core/types';
import { machineContext } from '../../runtime/context';
import { Engine } from '../../runtime/engine';
import { nodeFsProbe } from '../../runtime/fsProbe';
import { loadPolicyRef } from '../../runtime/policySource';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const explain: Command = {
  name: 'explain',
  summary: 'Show the full evaluation trace for one tool call',
  help: `Usage: warden explain [--policy <ref>] [--json] [--command <bash command> | --tool <name> --input <json>] [< input.json]

Evaluates one tool call and shows everything the guard saw: the paths it touches (read, write,
delete, exec), the programs it runs and through which wrappers, network destinations, environment
variables, risks, and every rule that matched with the facts that made it match.

Input: --command "<bash>" (a Bash call), --tool and --input (any tool), or a hook JSON object on stdin.

Options:
  --policy <ref>   policy file or builtin:baseline (default)
  --cwd <dir>      session cwd for the call (default: the current directory)
  --json           machine-readable output`,
  async run(args, io) {
    const { values } = parseArgs(args, {
      policy: { type: 'string' },
      home: { type: 'string' },
      command: { type: 'string', short: 'c' },
      tool: { type: 'string' },
      input: { type: 'string' },
      cwd: { type: 'string' },
      json: { type: 'boolean' },
    }, false);
    let input: HookInput;
    if (values.command !== undefined) input = { hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: values.command } };
    else if (values.tool) {
      let ti: unknown;
      try {
        ti = JSON.parse(values.input ?? '{}');
      } catch (e) {
        throw new UsageError(`--input is not JSON: ${(e as Error).message}`);
      }
      input = { hook_event_name: 'PreToolUse', tool_name: values.tool, tool_input: ti };
    } else {
      const raw = await io.stdin();
      try {
        input = JSON.parse(raw) as HookInput;
      } catch (e) {
        throw new UsageError(`stdin is not a hook JSON object: ${(e as Error).message}`);
      }
    }
    input.cwd ??= values.cwd ?? io.cwd;
    const engine = new Engine(loadPolicyRef(values.policy ?? 'builtin:baseline'), machineContext({ ...(values.home ? { stateDir: values.home } : {}), env: io.env }), nodeFsProbe(), io.env.CLAUDE_PROJECT_DIR);
    const { decision, facts } = engine.decide(input);
    if (values.json) {
      io.out(JSON.stringify({ decision, facts }, null, 2));
      return 0;
    }
    io.out(`Tool: ${facts.tool}   cwd: ${facts.context.cwd}   workspace: ${facts.context.workspace}`);
    io.out(describeFacts(facts));
    io.out('Rules matched:');
    if (!decision.matches.length) io.out('  (none)');
    for (const m of decision.matches) {
      io.out(`  ${m.ruleId}  → ${m.effect}${m.mode === 'observe' ? ' (observe)' : ''}`);
      io.out(`    ${m.reason}`);
      for (const f of m.facts) io.out(`    matched: ${f.text}  [${f.matched}]`);
    }
    io.out(`Decision: ${decision.effect.toUpperCase()}${decision.verdict !== decision.effect ? ` (verdict ${decision.verdict}, observe mode)` : ''}${decision.explicit ? ' (explicit)' : ''}`);
    io.out(`  ${decision.reason}`);
    if (decision.remediation) io.out(`  Remediation: ${decision.remediation}`);
    io.out(`  Policy: ${decision.policy.id} ${decision.policy.version}`);
    return 0;
  },
};

export function describeFacts(f: Facts): string {
  const lines: string[] = [];
  const section = (title: string, items: string[]): void => {
    if (!items.length) return;
    lines.push(`${title}:`);
    for (const i of items) lines.push(`  ${i}`);
  };
  section('Programs', f.commands.map((c) => `${[c.program, ...c.args].join(' ')}${c.subcommand.length ? `  [subcommand ${c.subcommand.join(' ')}]` : ''}${c.via.length ? `  (via ${c.via.join(' → ')})` : ''}`));
  section('Paths', f.paths.map((p) => `${p.access.padEnd(6)} ${p.path}${p.recursive ? ' (recursive)' : ''}${p.pattern ? ' (pattern)' : ''}${p.linkFrom ? ` (symlink ${p.linkFrom})` : ''}  ← ${p.via}`));
  section('Network', f.urls.map((u) => `${u.url}${u.sends ? `  sends ${u.sends}` : ''}  ← ${u.via}`));
  section('Environment', f.env.map((e) => `${e.name} (${e.via})`));
  section('Risks', f.risks.map((r) => `${r.kind}: ${r.detail}`));
  section('Unanalysable', f.unanalyzable);
  return lines.join('\n') || '(no facts)';
}
