import { main as hookMain } from '../../hook/main';
import type { Command } from '../types';

export const hook: Command = {
  name: 'hook',
  summary: 'Run as a Claude Code hook (same as dist/hook.js)',
  help: `Usage: warden hook [--policy <file.yaml|builtin:baseline>] [--home <state dir>]

Reads one Claude Code hook JSON object on stdin and writes one hook JSON object on stdout,
always with exit code 0. Every failure ends in an explicit deny.

Options:
  --policy <ref>   evaluate this policy instead of the synced bundle (a YAML file or builtin:baseline)
  --home <dir>     state directory (default: ~/.agent-warden)`,
  run(args) {
    hookMain(args);
    return new Promise<number>(() => undefined);
  },
};
