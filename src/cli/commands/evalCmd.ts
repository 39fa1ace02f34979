import type { HookInput } from '../../core/types';
import { machineContext } from '../../runtime/context';
import { Engine } from '../../runtime/engine';
import { nodeFsProbe } from '../../runtime/fsProbe';
import { loadPolicyRef } from '../../runtime/policySource';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const evalCmd: Command = {
  name: 'eval',
  summary: 'Evaluate JSON Lines of hook inputs against a policy',
  help: `Usage: warden eval --policy <file.yaml|builtin:baseline> [--home <state dir>] < inputs.jsonl

Reads one Claude Code hook input per line on stdin and prints one decision per line:
  {"effect":"deny","verdict":"deny","ruleIds":["secrets.read"],"reason":"…","mode":"enforce",…}
"effect" is what is enforced, "verdict" what the policy decides with every rule enforced
(they differ only in observe mode). A line that is not a JSON object yields a deny decision with
an "error" field; the exit code is then 1.`,
  async run(args, io) {
    const { values } = parseArgs(args, { policy: { type: 'string' }, home: { type: 'string' } }, false);
    if (!values.policy) throw new UsageError('--policy is required');
    const engine = new Engine(loadPolicyRef(values.policy), machineContext({ ...(values.home ? { stateDir: values.home } : {}), env: io.env }), nodeFsProbe(), io.env.CLAUDE_PROJECT_DIR);
    const text = await io.stdin();
    let bad = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let input: HookInput;
      try {
        input = JSON.parse(line) as HookInput;
        if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('not a JSON object');
      } catch (e) {
        bad++;
        io.out(JSON.stringify({ effect: 'deny', verdict: 'deny', ruleIds: [], reason: 'input line is not a hook JSON object', error: (e as Error).message }));
        continue;
      }
      if (input.cwd === undefined) input.cwd = io.cwd;
      const { decision: d } = engine.decide(input);
      io.out(JSON.stringify({ effect: d.effect, verdict: d.verdict, ruleIds: d.ruleIds, reason: d.reason, remediation: d.remediation, mode: d.mode, explicit: d.explicit, unanalyzable: d.unanalyzable.length ? d.unanalyzable : undefined, policy: d.policy }));
    }
    return bad ? 1 : 0;
  },
};
