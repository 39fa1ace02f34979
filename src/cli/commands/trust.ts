import * as fs from 'node:fs';
import * as path from 'node:path';
import { addSignatures, encodeEnvelope, parseEnvelope, PAYLOAD_TYPES, ROLES, sha256Hex, signEnvelope, type Role, type Signer } from '../../core/bundle/envelope';
import { BundleError } from '../../core/bundle/errors';
import { buildTrustDoc, encodeDocument, isoTime, timeArg, trustKeyEntry } from '../../core/bundle/issue';
import { parseTrustPayload, TrustDocSchema, zodMessage, type TrustDoc } from '../../core/bundle/schema';
import { openAnchor, openChain, openRotation, trustExpired, type Trust } from '../../core/bundle/trust';
import { readPrivateKey, readPublicKey } from '../../runtime/bundleKeys';
import { writeFileAtomic } from '../../runtime/bundleStore';
import { pinTrust } from '../../runtime/trustAccept';
import { defaultStateDir } from '../../runtime/context';
import { parseArgs, pickSubcommand } from '../args';
import { UsageError, type Command, type Io } from '../types';

const HELP = `Usage: warden trust <init|rotate|sign|verify|pin> [options]

Trust roots say which keys may sign what (roles root, policy, exception, receipt), how many
signatures each role needs, and for how long. Clients pin one root out of band (warden trust pin,
or a managed /etc/agent-warden/trust.json) and follow rotations from the server only when each new
version is signed by a threshold of the previous root keys AND of its own.

  warden trust init --tenant <t> --key <file.pub>... --sign <root.key>... --out <trust.json>
      Create version 1. Each --key adds a public key with the role from its .pub file.
      [--threshold <role>=<n>]...  signatures needed per role (default 1; use root=2 with 3 root keys)
      [--epoch <n>] (1)  [--expires <365d|ISO time>]  [--offline-grace <7d>]  [--stale-after <2d>]
      [--fail-open]  when no valid bundle applies, the hook runs the built-in baseline in observe mode
                     (records what it would block, blocks nothing; policy state "fail-open") instead of
                     enforcing it (default: fail closed)

  warden trust rotate <current.json> --sign <root.key>... --out <next.json>
      Create version N+1 from version N: same keys unless changed.
      [--add <file.pub>]... [--remove <keyid|file.pub>]... [--revoke <keyid|file.pub>]...
      [--threshold <role>=<n>]... [--expires <365d|ISO>] [--bump-epoch] [--offline-grace <d>]
      [--stale-after <d>] [--fail-open | --no-fail-open]
      Sign with the old root keys AND the new ones (each side needs its threshold).

  warden trust sign <envelope.json> --sign <key>... [--out <file>] [--previous <trust.json>]
      Add signatures to an envelope (co-signing by other key holders). Writes in place unless --out.
      With --previous, reports whether the rotation from it is now complete.

  warden trust verify <trust.json>... [--json]
      Verify a chain: the first file is the anchor, each next must be its rotation.

  warden trust pin <trust.json> [--home <state dir>] [--reset]
      Make this root the machine's anchor (<state dir>/trust/root.json). A different pinned root
      is only replaced with --reset (stored rotations and the trust floor are dropped).

Options for init, rotate and sign:
  --partial   write the file even when a threshold is not met yet (for multi-person signing)
  --force     overwrite --out`;

function parseThresholds(items: string[] | undefined): Partial<Record<Role, number>> {
  const out: Partial<Record<Role, number>> = {};
  for (const item of items ?? []) {
    const m = /^([a-z]+)=([1-9][0-9]*)$/.exec(item);
    if (!m || !(ROLES as readonly string[]).includes(m[1]!)) throw new UsageError(`--threshold expects <role>=<n> with role ${ROLES.join('|')}, got ${JSON.stringify(item)}`);
    out[m[1] as Role] = Number(m[2]);
  }
  return out;
}

/** A path argument, relative to the command's working directory; `env:NAME` key references pass through. */
export function resolveArg(io: Io, p: string): string {
  return p.startsWith('env:') ? p : path.resolve(io.cwd, p);
}

function readSigners(refs: string[] | undefined, io: Io): Signer[] {
  if (!refs?.length) throw new UsageError('give at least one --sign <key file>');
  return refs.map((r) => readPrivateKey(resolveArg(io, r), io.env).signer);
}

function keyRef(ref: string, io: Io): string {
  if (/^[0-9a-f]{64}$/.test(ref)) return ref;
  return readPublicKey(resolveArg(io, ref)).keyid;
}

function validated(doc: TrustDoc): TrustDoc {
  const r = TrustDocSchema.safeParse(doc);
  if (!r.success) throw new Error(`the trust document would be invalid: ${zodMessage(r.error)}`);
  return r.data;
}

function writeOut(io: Io, file: string, bytes: Buffer, force: boolean | undefined): void {
  const abs = path.resolve(io.cwd, file);
  if (!force && fs.existsSync(abs)) throw new Error(`${file} already exists (use --force to overwrite)`);
  writeFileAtomic(abs, bytes);
}

export function describeTrust(t: Trust): string[] {
  const lines = [`trust ${t.tenant} v${t.version} (epoch ${t.epoch}), issued ${t.doc.issuedAt}, expires ${t.doc.expiresAt}, sha256 ${t.sha256}`];
  const revoked = new Set(t.doc.revoked ?? []);
  for (const role of ROLES) {
    const ids = Object.entries(t.doc.keys).filter(([, k]) => k.roles.includes(role));
    lines.push(`  ${role.padEnd(9)} threshold ${t.thresholds[role]}: ${ids.length ? ids.map(([id, k]) => `${id.slice(0, 16)}…${k.label ? ` (${k.label})` : ''}${revoked.has(id) ? ' REVOKED' : ''}`).join(', ') : 'no keys'}`);
  }
  const b = t.doc.bundles ?? {};
  lines.push(`  bundles: offline grace ${b.offlineGrace ?? '7d'}, stale after ${b.staleAfter ?? '2d'}, ${b.failOpen ? 'FAIL OPEN allowed' : 'fail closed'}`);
  return lines;
}

/** Sign, check the thresholds, write. */
function finish(doc: TrustDoc, signers: Signer[], check: (bytes: Buffer) => Trust, out: string, opts: { partial?: boolean | undefined; force?: boolean | undefined }, io: Io): number {
  const bytes = encodeEnvelope(signEnvelope(PAYLOAD_TYPES.trust, encodeDocument(doc), signers));
  let trust: Trust | undefined;
  try {
    trust = check(bytes);
  } catch (e) {
    if (!(e instanceof BundleError) || !opts.partial) throw e;
    writeOut(io, out, bytes, opts.force);
    io.out(`${out}: trust ${doc.tenant} v${doc.version} written INCOMPLETE (${e.code}: ${e.message})`);
    io.out(`  add signatures with: warden trust sign ${out} --sign <key>`);
    return 0;
  }
  writeOut(io, out, bytes, opts.force);
  io.out(`${out}: written`);
  for (const l of describeTrust(trust)) io.out(l);
  return 0;
}

async function init(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    tenant: { type: 'string' },
    key: { type: 'string', multiple: true },
    sign: { type: 'string', multiple: true },
    out: { type: 'string' },
    threshold: { type: 'string', multiple: true },
    epoch: { type: 'string' },
    expires: { type: 'string' },
    'offline-grace': { type: 'string' },
    'stale-after': { type: 'string' },
    'fail-open': { type: 'boolean' },
    partial: { type: 'boolean' },
    force: { type: 'boolean' },
  }, false);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (!values.tenant) throw new UsageError('--tenant is required');
  if (!values.out) throw new UsageError('--out is required');
  if (!values.key?.length) throw new UsageError('give the public keys with --key <file.pub> (at least the root keys)');
  const now = Date.now();
  const keys = values.key.map((f) => {
    const k = readPublicKey(resolveArg(io, f));
    return { raw: k.raw, role: k.role, ...(k.label ? { label: k.label } : {}) };
  });
  const bundles: NonNullable<TrustDoc['bundles']> = {};
  if (values['offline-grace']) bundles.offlineGrace = values['offline-grace'];
  if (values['stale-after']) bundles.staleAfter = values['stale-after'];
  if (values['fail-open']) bundles.failOpen = true;
  const doc = validated(buildTrustDoc({
    tenant: values.tenant,
    version: 1,
    epoch: values.epoch ? Number(values.epoch) : 1,
    issuedAt: now,
    expiresAt: timeArg(values.expires ?? '365d', now),
    keys,
    thresholds: parseThresholds(values.threshold),
    bundles,
  }));
  const signers = readSigners(values.sign, io);
  return finish(doc, signers, (bytes) => openAnchor(bytes, sha256Hex(bytes), parseTrustPayload, now), values.out, values, io);
}

async function rotate(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    sign: { type: 'string', multiple: true },
    out: { type: 'string' },
    add: { type: 'string', multiple: true },
    remove: { type: 'string', multiple: true },
    revoke: { type: 'string', multiple: true },
    threshold: { type: 'string', multiple: true },
    expires: { type: 'string' },
    'bump-epoch': { type: 'boolean' },
    'offline-grace': { type: 'string' },
    'stale-after': { type: 'string' },
    'fail-open': { type: 'boolean' },
    'no-fail-open': { type: 'boolean' },
    partial: { type: 'boolean' },
    force: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('give the current trust file');
  if (!values.out) throw new UsageError('--out is required');
  if (values['fail-open'] && values['no-fail-open']) throw new UsageError('--fail-open and --no-fail-open exclude each other');
  const now = Date.now();
  const prevBytes = fs.readFileSync(resolveArg(io, positionals[0]!));
  const prev = openAnchor(prevBytes, sha256Hex(prevBytes), parseTrustPayload, null);
  const keys = { ...prev.doc.keys };
  for (const f of values.add ?? []) {
    const k = readPublicKey(resolveArg(io, f));
    const [id, entry] = trustKeyEntry({ raw: k.raw, role: k.role, ...(k.label ? { label: k.label } : {}) });
    if (keys[id]) throw new Error(`${f}: key ${id} is already in the trust root`);
    keys[id] = entry;
  }
  for (const r of values.remove ?? []) {
    const id = keyRef(r, io);
    if (!keys[id]) throw new Error(`--remove ${r}: key ${id} is not in the trust root`);
    delete keys[id];
  }
  const revoked = new Set(prev.doc.revoked ?? []);
  for (const r of values.revoke ?? []) revoked.add(keyRef(r, io));
  const roles = { ...prev.doc.roles };
  for (const [role, n] of Object.entries(parseThresholds(values.threshold))) roles[role as Role] = { threshold: n };
  const bundles = { ...prev.doc.bundles };
  if (values['offline-grace']) bundles.offlineGrace = values['offline-grace'];
  if (values['stale-after']) bundles.staleAfter = values['stale-after'];
  if (values['fail-open']) bundles.failOpen = true;
  if (values['no-fail-open']) delete bundles.failOpen;
  const doc: TrustDoc = {
    schema: 1,
    type: 'trust',
    tenant: prev.tenant,
    version: prev.version + 1,
    epoch: prev.epoch + (values['bump-epoch'] ? 1 : 0),
    issuedAt: isoTime(now),
    expiresAt: isoTime(timeArg(values.expires ?? '365d', now)),
    keys,
    roles,
  };
  if (revoked.size) doc.revoked = [...revoked].sort();
  if (Object.keys(bundles).length) doc.bundles = bundles;
  const signers = readSigners(values.sign, io);
  return finish(validated(doc), signers, (bytes) => openRotation(bytes, sha256Hex(bytes), prev, parseTrustPayload, now), values.out, values, io);
}

async function sign(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, { sign: { type: 'string', multiple: true }, out: { type: 'string' }, previous: { type: 'string' }, force: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('give the envelope file to add signatures to');
  const file = positionals[0]!;
  const env = parseEnvelope(fs.readFileSync(resolveArg(io, file)));
  const signers = readSigners(values.sign, io);
  const bytes = encodeEnvelope(addSignatures(env, signers));
  const out = values.out ?? file;
  if (values.out) writeOut(io, out, bytes, values.force);
  else writeFileAtomic(resolveArg(io, out), bytes);
  io.out(`${out}: ${parseEnvelope(bytes).signatures.length} signature(s): ${parseEnvelope(bytes).signatures.map((s) => s.keyid.slice(0, 16) + '…').join(', ')}`);
  if (values.previous) {
    if (env.payloadType !== PAYLOAD_TYPES.trust) throw new UsageError('--previous applies to trust envelopes');
    const prevBytes = fs.readFileSync(resolveArg(io, values.previous));
    const prev = openAnchor(prevBytes, sha256Hex(prevBytes), parseTrustPayload, null);
    try {
      const t = openRotation(bytes, sha256Hex(bytes), prev, parseTrustPayload, Date.now());
      io.out(`rotation v${prev.version} → v${t.version} is complete`);
    } catch (e) {
      if (!(e instanceof BundleError)) throw e;
      io.out(`rotation v${prev.version} → next is not complete yet: ${e.code}: ${e.message}`);
      return 1;
    }
  }
  return 0;
}

async function verify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, { json: { type: 'boolean' } });
  if (!positionals.length) throw new UsageError('give the trust file(s): the anchor first, then each rotation');
  const now = Date.now();
  let chain: Trust[];
  try {
    chain = openChain(positionals.map((f) => fs.readFileSync(resolveArg(io, f))), parseTrustPayload);
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    if (values.json) io.out(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    else io.err(`${e.code}: ${e.message}`);
    return 1;
  }
  const last = chain[chain.length - 1]!;
  const expired = trustExpired(last, now);
  if (values.json) {
    io.out(JSON.stringify({ ok: !expired, ...(expired ? { code: 'trust-expired' } : {}), chain: chain.map((t) => ({ tenant: t.tenant, version: t.version, epoch: t.epoch, sha256: t.sha256, issuedAt: t.doc.issuedAt, expiresAt: t.doc.expiresAt, signers: t.signers })) }, null, 2));
  } else {
    chain.forEach((t, i) => {
      io.out(`${positionals[i]}: ok (${i === 0 ? 'anchor' : `rotation from v${chain[i - 1]!.version}`}, signed by ${t.signers.length} root key(s))`);
    });
    for (const l of describeTrust(last)) io.out(l);
    if (expired) io.err(`trust-expired: v${last.version} expired at ${last.doc.expiresAt}`);
  }
  return expired ? 1 : 0;
}

async function pin(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, { home: { type: 'string' }, reset: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('give the trust file to pin');
  const stateDir = path.resolve(io.cwd, values.home ?? defaultStateDir(io.env));
  const r = await pinTrust(stateDir, fs.readFileSync(path.resolve(io.cwd, positionals[0]!)), { reset: !!values.reset });
  io.out(`${r.file}: ${r.changed ? 'pinned' : 'already pinned'}`);
  for (const l of describeTrust(r.trust)) io.out(l);
  if (r.managedAnchor) io.err(`note: the managed trust root ${r.managedAnchor} takes precedence over the pinned one`);
  return 0;
}

/** A verb's run(): a refused document becomes `warden <verb>: <code>: <message>` and exit code 1. */
export function reportingBundleErrors(verb: string, dispatch: Command['run']): Command['run'] {
  return async (args, io) => {
    try {
      return await dispatch(args, io);
    } catch (e) {
      if (!(e instanceof BundleError)) throw e;
      io.err(`warden ${verb}: ${e.code}: ${e.message}`);
      return 1;
    }
  };
}

export const trust: Command = {
  name: 'trust',
  summary: 'Create, rotate, co-sign, verify and pin trust roots (signing keys and thresholds)',
  help: HELP,
  run: reportingBundleErrors('trust', dispatch),
};

async function dispatch(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  return pickSubcommand(sub, { init, rotate, sign, verify, pin })(rest, io);
}

