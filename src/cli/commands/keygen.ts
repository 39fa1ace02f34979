import * as path from 'node:path';
import { ROLES, type Role } from '../../core/bundle/envelope';
import { writeKeyPair } from '../../runtime/bundleKeys';
import { parseArgs } from '../args';
import { UsageError, type Command } from '../types';

export const keygen: Command = {
  name: 'keygen',
  summary: 'Create an Ed25519 signing key pair (trust roots, policy bundles)',
  help: `Usage: warden keygen --role <root|policy|exception|receipt> --out <path/name> [--label <text>] [--force]

Writes <name>.key (private key, mode 0600) and <name>.pub (public key) and prints the key id
(hex SHA-256 of the raw public key). The role says what the key is for: "root" keys sign trust
roots (keep them offline; 2-of-3 is a good threshold), "policy" keys sign bundles (CI or an HSM),
"exception" and "receipt" keys are the server's online keys. A trust root decides what each key
may sign; one key per role.

Options:
  --role <role>   root, policy, exception or receipt (required)
  --out <prefix>  where to write <prefix>.key and <prefix>.pub (required)
  --label <text>  a human label kept in the key files and the trust root
  --force         overwrite existing files`,
  async run(args, io) {
    const { values, positionals } = parseArgs(args, { role: { type: 'string' }, out: { type: 'string' }, label: { type: 'string' }, force: { type: 'boolean' } }, false);
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (!values.role || !(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    if (!values.out) throw new UsageError('--out is required');
    const r = writeKeyPair(path.resolve(io.cwd, values.out), values.role as Role, { ...(values.label ? { label: values.label } : {}), force: !!values.force });
    io.out(`${values.role} key ${r.keyid}`);
    io.out(`  private: ${values.out}.key (mode 0600; keep it secret)`);
    io.out(`  public:  ${values.out}.pub`);
    return 0;
  },
};
