/**
 * The CLI reference (docs/cli.md), generated from every verb's `--help` text so the two never disagree.
 * `npm run schemas` writes it; a test fails when it drifts.
 */
import { COMMANDS } from './commands';

export const CLI_REFERENCE_FILE = 'docs/cli.md';

export function cliReferenceText(): string {
  const out = [
    '# CLI reference',
    '',
    'Generated from `warden <command> --help` by `npm run schemas`; do not edit by hand.',
    '',
    '`warden` is `node dist/cli.js` in a checkout, the `warden` command of the npm package, and',
    '`dist/cli.js` inside the installed VS Code extension. Every command exits 0 on success, 1 on a failure',
    'it reports, and 2 on a usage error.',
    '',
    '| command | what it does |',
    '|---|---|',
    ...COMMANDS.map((c) => `| [\`${c.name}\`](#warden-${c.name}) | ${c.summary.replace(/\|/g, '\\|')} |`),
    '',
  ];
  for (const c of COMMANDS) out.push(`## warden ${c.name}`, '', c.summary, '', '```text', c.help.trimEnd(), '```', '');
  return out.join('\n').trimEnd() + '\n';
}
