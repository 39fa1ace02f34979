/**
 * `warden`: the Agent Warden command line (dist/cli.js). Admin and CI tool: evaluate, validate and test
 * policies, explain decisions, and run as the Claude Code hook.
 */
import { COMMANDS } from './commands';
import { UsageError, type Io } from './types';

declare const __AW_VERSION__: string;
const VERSION = typeof __AW_VERSION__ === 'string' ? __AW_VERSION__ : 'dev';

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `Agent Warden ${VERSION} — policy guard for AI coding agents`,
    '',
    'Usage: warden <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `warden <command> --help` for a command\'s options.',
  ].join('\n');
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
    stdin: () =>
      new Promise((resolve, reject) => {
        if (process.stdin.isTTY) return resolve('');
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
      }),
    cwd: process.cwd(),
    env: process.env,
  };
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    io.out(globalHelp());
    return verb ? 0 : 2;
  }
  if (verb === '--version' || verb === '-V') {
    io.out(VERSION);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === verb);
  if (!cmd) {
    io.err(`warden: unknown command "${verb}". Run \`warden --help\` for the list of commands.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`warden ${verb}: ${e.message}\n\n${cmd.help.split('\n')[0]}`);
      return 2;
    }
    io.err(`warden ${verb}: ${(e as Error).message}`);
    return 1;
  }
}
