import * as fs from 'node:fs';
import * as path from 'node:path';
import { readClientConfig, resolveManagedDir, writeClientConfig } from '../../runtime/bundleStore';
import { defaultStateDir } from '../../runtime/context';
import { readEnrollment } from '../../runtime/enrollment';
import { syncGrants } from '../../runtime/grants';
import { syncOnce } from '../../runtime/sync';
import { checkTransport } from '../../runtime/syncHttp';
import { readSyncStatus } from '../../runtime/syncStatus';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const sync: Command = {
  name: 'sync',
  summary: 'Fetch, verify and activate the policy bundle once (headless machines); prints status JSON',
  help: `Usage: warden sync [--home <state dir>] [--server <url>] [--bundle-id <id>] [--save]

One sync run: follow trust rotations from the server (each verified against the pinned trust
root), fetch the bundle with a conditional GET, verify it and activate it. A failed fetch or a
rejected bundle keeps the last good one. Prints one JSON object: the result, the audit events
of the run and the status the extension shows (active bundle, last attempt, next attempt, last
rejection, and what the hook enforces right now). On an enrolled device it also fetches the
signed exception grant list (so approvals, revocations and renewals reach the hook). Run it from
cron or a systemd timer on machines without VS Code (every few minutes).

Exit code 0 when the run succeeded (updated, unchanged or not modified), 1 otherwise.

Options:
  --home <dir>          state directory (default: ~/.agent-warden)
  --server <url>        policy server base URL (default: from sync.json); https, or http to loopback
  --bundle-id <id>      bundle to enforce, e.g. acme/default (default: from sync.json)
  --save                store --server and --bundle-id in <state dir>/sync.json
  --token-file <file>   device bearer token (default: WARDEN_DEVICE_TOKEN, else the enrolment's)
  --managed-dir <dir>   directory of managed trust.json/sync.json (default: the platform's,
                        e.g. /etc/agent-warden); "none" to ignore it`,
  async run(args, io) {
    const { values, positionals } = parseArgs(args, {
      home: { type: 'string' },
      server: { type: 'string' },
      'bundle-id': { type: 'string' },
      save: { type: 'boolean' },
      'token-file': { type: 'string' },
      'managed-dir': { type: 'string' },
    }, false);
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const stateDir = path.resolve(io.cwd, values.home ?? defaultStateDir(io.env));
    const managedDir = values['managed-dir'] === 'none' ? null : values['managed-dir'] ? path.resolve(io.cwd, values['managed-dir']) : resolveManagedDir(undefined);
    if (values.server) checkTransport(values.server);
    if (values.save) {
      if (!values.server && !values['bundle-id']) throw new UsageError('--save needs --server and/or --bundle-id');
      const cfg = readClientConfig(stateDir, null);
      if (values.server) cfg.server = values.server;
      if (values['bundle-id']) cfg.bundleId = values['bundle-id'];
      writeClientConfig(stateDir, cfg);
    }
    const enrollment = readEnrollment(stateDir);
    let token = io.env.WARDEN_DEVICE_TOKEN ?? enrollment?.deviceToken;
    if (values['token-file']) token = fs.readFileSync(path.resolve(io.cwd, values['token-file']), 'utf8').trim();
    const run = await syncOnce({
      stateDir,
      managedDir,
      ...(values.server ? { server: values.server } : {}),
      ...(values['bundle-id'] ? { bundleId: values['bundle-id'] } : {}),
      ...(token ? { token } : {}),
    });
    // Exception grants: only an enrolled device has any; a failure here never hides the bundle result.
    let grants: { held: number; rejected: number } | { error: string } | undefined;
    if (enrollment) {
      try {
        const g = await syncGrants(stateDir, { managedDir });
        grants = { held: g.grants.length, rejected: g.rejected.length };
      } catch (e) {
        grants = { error: (e as Error).message };
      }
    }
    const status = readSyncStatus(stateDir, Date.now(), { managedDir });
    io.out(JSON.stringify({ result: run.result, code: run.code, message: run.message, trust: run.trust, nextAttemptAt: run.status.nextAttemptAt, events: run.events, ...(grants ? { grants } : {}), status }, null, 2));
    const ok = (run.result === 'updated' || run.result === 'unchanged' || run.result === 'not-modified') && run.trust.result !== 'rejected';
    return ok ? 0 : 1;
  },
};
