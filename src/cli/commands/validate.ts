import * as fs from 'node:fs';
import { checkGlobs } from '../../core/evaluate/compile';
import { formatDiagnostic, parsePolicy, PolicyError } from '../../core/policy/load';
import { compileEnv, machineContext } from '../../runtime/context';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const validate: Command = {
  name: 'validate',
  summary: 'Check policy files; errors as file:line:col',
  help: `Usage: warden validate <policy.yaml>...

Checks each policy against the schema and its semantic rules (unique rule ids, known lists,
exception durations, valid globs). Prints every problem as file:line:col: message.
Exit code 0 when all files are valid, 1 otherwise.`,
  async run(args, io) {
    const { positionals } = parseArgs(args, {});
    if (!positionals.length) throw new UsageError('give at least one policy file');
    let failed = false;
    for (const file of positionals) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        io.err(`${file}:1:1: cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        failed = true;
        continue;
      }
      try {
        const policy = parsePolicy(text, file);
        const globErrors = checkGlobs(policy, compileEnv(machineContext({ env: io.env }), io.cwd));
        if (globErrors.length) {
          for (const g of globErrors) io.err(`${file}:1:1: ${g}`);
          failed = true;
          continue;
        }
        io.out(`${file}: ok (${policy.metadata.id} ${policy.metadata.version}, ${policy.rules.length} rules, ${policy.mode} mode)`);
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        for (const d of e.diagnostics) io.err(formatDiagnostic(d));
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};
