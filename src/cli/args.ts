/** Thin wrapper over node:util parseArgs that turns its errors into usage errors. */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './types';

export function parseArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = true) {
  try {
    return nodeParseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

/**
 * The handler a verb's subcommand names, or a usage error that lists the subcommands there are. One
 * spelling of "missing" and "unknown" for every verb that has subcommands.
 */
export function pickSubcommand<H>(sub: string | undefined, handlers: Record<string, H>): H {
  const names = Object.keys(handlers);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? '');
  if (!sub) throw new UsageError(`give a subcommand: ${list}`);
  if (!Object.hasOwn(handlers, sub)) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}; expected ${list}`);
  return handlers[sub]!;
}
