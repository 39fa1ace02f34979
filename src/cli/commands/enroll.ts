import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultStateDir } from '../../runtime/context';
import { enroll as enrollDevice } from '../../runtime/enroll';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const enroll: Command = {
  name: 'enroll',
  summary: 'Enrol this device with the central server (device token, pinned trust root)',
  help: `Usage: warden enroll --server <url> --token <enrolment token> (--trust-root <file> | --trust-root-sha256 <hex>)
                     [--home <state dir>] [--name <device name>] [--managed-dir <dir>] [--reset-trust]

Spends a one-time enrolment token (from \`warden server enrollment-token\`) and writes the device's
identity and token to <state dir>/enrollment.json (mode 0600), and {server, bundleId} to
<state dir>/sync.json. The server's trust root is pinned only if it chains to a root given out
of band: --trust-root <file>, its sha256 fingerprint (--trust-root-sha256), or a managed
<managed dir>/trust.json (which then stays the anchor). Rotations the server publishes after that
root are verified one by one (threshold of the previous root keys and of their own) and stored.
The token is spent only after the trust checks pass.

  --server <url>             https://…, or http:// to loopback
  --token <token>            the enrolment token (or --token-file <file>, or WARDEN_ENROLLMENT_TOKEN)
  --trust-root <file>        the trust root envelope, delivered out of band
  --trust-root-sha256 <hex>  or its sha256 (hex of the envelope bytes)
  --home <dir>               state directory (default: ~/.agent-warden)
  --name <text>              device name shown to administrators (default: host name)
  --managed-dir <dir>        directory of a managed trust.json (default: the platform's); "none"
  --reset-trust              replace a different trust root pinned before`,
  async run(args, io) {
    const { values, positionals } = parseArgs(args, {
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'trust-root': { type: 'string' },
      'trust-root-sha256': { type: 'string' },
      home: { type: 'string' },
      name: { type: 'string' },
      'managed-dir': { type: 'string' },
      'reset-trust': { type: 'boolean' },
    }, false);
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (!values.server) throw new UsageError('--server is required');
    const token = values.token ?? (values['token-file'] ? fs.readFileSync(path.resolve(io.cwd, values['token-file']), 'utf8').trim() : io.env.WARDEN_ENROLLMENT_TOKEN);
    if (!token) throw new UsageError('--token (or --token-file, or WARDEN_ENROLLMENT_TOKEN) is required');
    const stateDir = path.resolve(io.cwd, values.home ?? defaultStateDir(io.env));
    const managedDir = values['managed-dir'] === 'none' ? null : values['managed-dir'] ? path.resolve(io.cwd, values['managed-dir']) : undefined;
    const r = await enrollDevice({
      stateDir,
      server: values.server,
      token,
      ...(values.name ? { deviceName: values.name } : {}),
      ...(values['trust-root'] ? { trustRoot: fs.readFileSync(path.resolve(io.cwd, values['trust-root'])) } : {}),
      ...(values['trust-root-sha256'] ? { trustRootSha256: values['trust-root-sha256'] } : {}),
      ...(managedDir !== undefined ? { managedDir } : {}),
      resetTrust: !!values['reset-trust'],
    });
    const { deviceToken: _t, ...shown } = r.enrollment;
    void _t;
    io.out(JSON.stringify({ enrolled: shown, trust: r.trust, stateDir }, null, 2));
    return 0;
  },
};
