import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultStateDir } from '../../runtime/context';
import { Forwarder, type ForwardReport } from '../../runtime/forward';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const forward: Command = {
  name: 'forward',
  summary: 'Send the local audit spool to the central server (headless machines)',
  help: `Usage: warden forward [--once | --follow] [--home <state dir>] [--server <url>] [--token-file <file>]

Ships the audit events after the acknowledged cursor to the server (POST /v1/audit/events, gzip
NDJSON, at most 500 events / 1 MiB per batch, one request at a time) and moves the cursor only
after the server acknowledged. Failed requests are retried with exponential backoff and the
server's Retry-After; nothing is dropped because time passed. An event the server refuses is
isolated by bisection, kept in <state dir>/audit/deadletter/ and reported.

  --once               send what is pending and exit (default): exit 0 when caught up, 1 otherwise
  --follow             keep running: send new events within a second, heartbeat every 5 minutes;
                       stops on SIGINT/SIGTERM
  --max-attempts <n>   with --once: give up after n consecutive failed attempts (default 8)
  --home <dir>         state directory (default: ~/.agent-warden)
  --server <url>       server URL (default: from enrollment.json)
  --token-file <file>  device token (default: from enrollment.json)
  --verbose            one JSON line per batch, retry, dead letter on standard error`,
  async run(args, io) {
    const { values, positionals } = parseArgs(args, {
      once: { type: 'boolean' },
      follow: { type: 'boolean' },
      'max-attempts': { type: 'string' },
      home: { type: 'string' },
      server: { type: 'string' },
      'token-file': { type: 'string' },
      verbose: { type: 'boolean' },
    }, false);
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.once && values.follow) throw new UsageError('--once and --follow exclude each other');
    const stateDir = path.resolve(io.cwd, values.home ?? defaultStateDir(io.env));
    const maxAttempts = values['max-attempts'] !== undefined ? Number(values['max-attempts']) : values.follow ? undefined : 8;
    if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) throw new UsageError('--max-attempts must be a positive integer');
    const token = values['token-file'] ? fs.readFileSync(path.resolve(io.cwd, values['token-file']), 'utf8').trim() : undefined;
    const onReport = values.verbose ? (r: ForwardReport) => io.err(JSON.stringify(r)) : undefined;
    const f = new Forwarder({
      stateDir,
      ...(values.server ? { server: values.server } : {}),
      ...(token ? { token } : {}),
      ...(maxAttempts !== undefined && !values.follow ? { maxAttempts } : {}),
      ...(onReport ? { onReport } : {}),
    });
    if (values.follow) {
      const stop = () => f.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await f.follow();
      return 0;
    }
    const r = await f.drain();
    io.out(JSON.stringify(r, null, 2));
    return r.state === 'caught-up' ? 0 : 1;
  },
};
