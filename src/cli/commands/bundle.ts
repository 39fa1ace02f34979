import * as fs from 'node:fs';
import * as path from 'node:path';
import { acceptBundle, type Accepted } from '../../core/bundle/accept';
import { encodeEnvelope, PAYLOAD_TYPES, signEnvelope } from '../../core/bundle/envelope';
import { BundleError } from '../../core/bundle/errors';
import { buildBundleDoc, encodeDocument, timeArg } from '../../core/bundle/issue';
import { parseBundlePayload, parseTrustPayload } from '../../core/bundle/schema';
import { openChain, type Trust } from '../../core/bundle/trust';
import { checkGlobs } from '../../core/evaluate/compile';
import { formatDiagnostic, parsePolicy, parseTestSuite, PolicyError, testCaseLines } from '../../core/policy/load';
import type { PolicyDoc } from '../../core/policy/schema';
import { SuiteRunner } from '../../core/policy/testing';
import { clientVersion } from '../../runtime/bundleActive';
import { readPrivateKey } from '../../runtime/bundleKeys';
import { publishBundle, claimedIdentity } from '../../runtime/bundlePublish';
import { readClientConfig, readStore, resolveManagedDir, writeFileAtomic } from '../../runtime/bundleStore';
import { compileEnv, defaultStateDir, machineContext } from '../../runtime/context';
import { checkTrustFloor } from '../../runtime/trustStore';
import { loadValidatedChain } from '../../runtime/trustAccept';
import { parseArgs, pickSubcommand } from '../args';
import { reportingBundleErrors, resolveArg } from './trust';
import { UsageError, type Command, type Io } from '../types';

const HELP = `Usage: warden bundle <sign|verify|publish> [options]

  warden bundle sign <policy.yaml> --key <policy.key>... --trust <trust.json>... --bundle-id <id>
                     --version <n> --out <bundle.json>
      Validate the policy (errors as file:line:col), run the test suites given with --tests against
      it (a failing case blocks signing), then write a signed envelope. The tenant and epoch come
      from the trust root (--trust: the anchor first, then its rotations, as in trust verify); the
      result is verified against it before it is written.
      [--tests <suite.yaml>]...   policy test suites; their cases run against the policy being signed
      [--expires <7d|ISO>] (7d)   [--not-before <ISO|duration>]   [--revision <text>]
      [--epoch <n>] (the trust's) [--min-trust-version <n>]   [--min-client-version <x.y.z>]
      [--force]                   overwrite --out
      --version must grow with every issuance (re-signing unchanged content included); CI can use
      the time, e.g. --version $(date +%s).
      --key also accepts env:<NAME>, a variable holding the key file's JSON.

  warden bundle verify <bundle.json> (--trust <trust.json>... | --home <state dir>) [--bundle-id <id>] [--json]
      Verify signatures, schema, identity and validity. With --home, against this machine's pinned
      trust and anti-rollback floor: says whether a sync would accept it (nothing is written).

  warden bundle publish <bundle.json> --server <url> [--token-file <file>] [--trust <trust.json>...]
      PUT the signed envelope to <server>/v1/admin/bundles/<bundleId>. The admin token comes from
      --token-file or the WARDEN_ADMIN_TOKEN environment variable. With --trust, verify first.
      Plain http is only allowed to 127.0.0.1, localhost or ::1.`;

function readChain(files: string[] | undefined, io: Io): Trust {
  if (!files?.length) throw new UsageError('give the trust root with --trust <trust.json> (anchor first, then rotations)');
  const chain = openChain(files.map((f) => fs.readFileSync(path.resolve(io.cwd, f))), parseTrustPayload);
  return chain[chain.length - 1]!;
}

function summary(a: Accepted, rules: number): Record<string, unknown> {
  const d = a.doc;
  return { tenant: d.tenant, bundleId: d.bundleId, epoch: d.epoch, version: d.version, sha256: a.sha256, revision: d.revision, issuedAt: d.issuedAt, notBefore: d.notBefore, expiresAt: d.expiresAt, policy: { id: d.policy.metadata.id, version: d.policy.metadata.version, rules }, signers: a.signers };
}

/** Client version used when the CLI checks a bundle on the signer's side: minClientVersion is the clients' business. */
const ANY_CLIENT = '999999.0.0';

function loadPolicy(file: string, io: Io): PolicyDoc | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (e) {
    io.err(`${file}:1:1: cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
  try {
    const policy = parsePolicy(text, file);
    const globErrors = checkGlobs(policy, compileEnv(machineContext({ env: io.env }), io.cwd));
    if (globErrors.length) {
      for (const g of globErrors) io.err(`${file}:1:1: ${g}`);
      return undefined;
    }
    return policy;
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    for (const d of e.diagnostics) io.err(formatDiagnostic(d));
    return undefined;
  }
}

/** Run every case of every suite against `policy`; print failures; true when all pass. */
function runTests(files: string[], policy: PolicyDoc, io: Io): { ok: boolean; passed: number } {
  let ok = true;
  let passed = 0;
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
    } catch (e) {
      io.err(`${file}:1:1: cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      ok = false;
      continue;
    }
    try {
      const suite = parseTestSuite(text, file);
      const lines = testCaseLines(text);
      const runner = new SuiteRunner(suite, policy);
      suite.cases.forEach((c, i) => {
        const r = runner.runCase(c, lines[i]);
        if (r.pass) passed++;
        else {
          ok = false;
          io.err(`${file}:${lines[i] ?? 1}:1: test failed: ${c.name}`);
          for (const f of r.failures) io.err(`    ${f}`);
        }
      });
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      for (const d of e.diagnostics) io.err(formatDiagnostic(d));
      ok = false;
    }
  }
  return { ok, passed };
}

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`${name} must be a positive integer up to 2^53-1`);
  return Number(v);
}

async function sign(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, {
    key: { type: 'string', multiple: true },
    trust: { type: 'string', multiple: true },
    'bundle-id': { type: 'string' },
    version: { type: 'string' },
    out: { type: 'string' },
    tests: { type: 'string', multiple: true },
    expires: { type: 'string' },
    'not-before': { type: 'string' },
    revision: { type: 'string' },
    epoch: { type: 'string' },
    'min-trust-version': { type: 'string' },
    'min-client-version': { type: 'string' },
    force: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one policy file');
  if (!values.key?.length) throw new UsageError('give the signing key with --key <policy.key>');
  if (!values['bundle-id']) throw new UsageError('--bundle-id is required (e.g. acme/default)');
  const version = positiveInt(values.version, '--version');
  if (version === undefined) throw new UsageError('--version is required');
  if (!values.out) throw new UsageError('--out is required');
  const out = path.resolve(io.cwd, values.out);
  if (!values.force && fs.existsSync(out)) throw new Error(`${values.out} already exists (use --force to overwrite)`);
  const trust = readChain(values.trust, io);
  const signers = values.key.map((k) => readPrivateKey(resolveArg(io, k), io.env).signer);

  const file = positionals[0]!;
  const policy = loadPolicy(file, io);
  if (!policy) {
    io.err('signing blocked: the policy does not validate');
    return 1;
  }
  const tests = values.tests ?? [];
  const t = runTests(tests, policy, io);
  if (!t.ok) {
    io.err('signing blocked: policy tests fail');
    return 1;
  }

  const now = Date.now();
  const notBefore = values['not-before'] ? timeArg(values['not-before'], now) : undefined;
  const start = Math.max(now, notBefore ?? now);
  const minTrustVersion = positiveInt(values['min-trust-version'], '--min-trust-version');
  const doc = buildBundleDoc({
    tenant: trust.tenant,
    bundleId: values['bundle-id'],
    epoch: positiveInt(values.epoch, '--epoch') ?? trust.epoch,
    version,
    issuedAt: now,
    expiresAt: timeArg(values.expires ?? '7d', start),
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(values.revision ? { revision: values.revision } : {}),
    ...(minTrustVersion !== undefined ? { minTrustVersion } : {}),
    ...(values['min-client-version'] ? { minClientVersion: values['min-client-version'] } : {}),
    policy,
  });
  const payload = encodeDocument(doc);
  parseBundlePayload(payload); // the same strict checks every client applies
  const bytes = encodeEnvelope(signEnvelope(PAYLOAD_TYPES.bundle, payload, signers));
  let accepted: Accepted;
  try {
    accepted = acceptBundle(bytes, { trust, bundleId: doc.bundleId, now: start, clientVersion: ANY_CLIENT });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    io.err(`signing blocked: clients would reject this bundle: ${e.code}: ${e.message}`);
    return 1;
  }
  writeFileAtomic(out, bytes);
  io.out(`${values.out}: ${doc.bundleId} epoch ${doc.epoch} v${doc.version} signed (${policy.rules.length} rules, ${bytes.length} bytes, sha256 ${accepted.sha256})`);
  io.out(`  tenant ${doc.tenant}, trust v${trust.version}, expires ${doc.expiresAt}, signed by ${accepted.signers.map((s) => s.slice(0, 16) + '…').join(', ')}`);
  if (tests.length) io.out(`  ${t.passed} test case(s) passed in ${tests.length} suite(s)`);
  return 0;
}

async function verify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, { trust: { type: 'string', multiple: true }, home: { type: 'string' }, 'bundle-id': { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('give exactly one bundle file');
  if (values.trust?.length && values.home) throw new UsageError('--trust and --home exclude each other');
  const bytes = fs.readFileSync(path.resolve(io.cwd, positionals[0]!));
  const report: Record<string, unknown> = { file: positionals[0] };
  let code = 0;
  try {
    let trust: Trust;
    let bundleId = values['bundle-id'];
    let floor;
    let now = Date.now();
    if (values.trust?.length) {
      trust = readChain(values.trust, io);
    } else {
      const stateDir = path.resolve(io.cwd, values.home ?? defaultStateDir(io.env));
      const chain = loadValidatedChain(stateDir, resolveManagedDir(undefined));
      const store = readStore(stateDir).state;
      checkTrustFloor(chain, store.trust);
      trust = chain.current;
      bundleId ??= readClientConfig(stateDir, resolveManagedDir(undefined)).bundleId;
      if (bundleId) floor = store.bundles[bundleId];
      now = Math.max(now, store.maxSeenTime);
      report.home = stateDir;
    }
    if (!bundleId) {
      bundleId = claimedIdentity(bytes).bundleId;
      report.note = 'bundle id taken from the bundle itself (pass --bundle-id to check it)';
    }
    const a = acceptBundle(bytes, { trust, bundleId, ...(floor ? { floor } : {}), now, clientVersion: clientVersion() });
    Object.assign(report, { ok: true, outcome: floor ? (a.outcome === 'unchanged' ? 'unchanged (this is the active bundle)' : 'would be accepted') : 'valid', bundle: summary(a, a.doc.policy.rules.length), trust: { tenant: trust.tenant, version: trust.version } });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    Object.assign(report, { ok: false, code: e.code, message: e.message });
    code = 1;
  }
  if (values.json) io.out(JSON.stringify(report, null, 2));
  else if (report.ok) {
    const b = report.bundle as Record<string, unknown>;
    io.out(`${positionals[0]}: ${report.outcome}: ${b.bundleId} epoch ${b.epoch} v${b.version} (tenant ${b.tenant}, ${(b.policy as { rules: number }).rules} rules, expires ${b.expiresAt}, sha256 ${b.sha256})`);
    if (report.note) io.out(`  note: ${report.note}`);
  } else io.err(`${positionals[0]}: rejected: ${report.code}: ${report.message}`);
  return code;
}

async function publish(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs(args, { server: { type: 'string' }, 'token-file': { type: 'string' }, trust: { type: 'string', multiple: true } });
  if (positionals.length !== 1) throw new UsageError('give exactly one bundle file');
  if (!values.server) throw new UsageError('--server is required');
  let token = io.env.WARDEN_ADMIN_TOKEN;
  if (values['token-file']) token = fs.readFileSync(path.resolve(io.cwd, values['token-file']), 'utf8').trim();
  if (!token) throw new UsageError('give the admin token with --token-file or WARDEN_ADMIN_TOKEN');
  const bytes = fs.readFileSync(path.resolve(io.cwd, positionals[0]!));
  if (values.trust?.length) {
    const trust = readChain(values.trust, io);
    const id = claimedIdentity(bytes);
    try {
      acceptBundle(bytes, { trust, bundleId: id.bundleId, now: Date.now(), clientVersion: ANY_CLIENT });
    } catch (e) {
      if (!(e instanceof BundleError)) throw e;
      io.err(`not published: ${e.code}: ${e.message}`);
      return 1;
    }
  }
  const r = await publishBundle(values.server, bytes, { token });
  io.out(`published ${r.bundleId} epoch ${r.epoch} v${r.version} (sha256 ${r.sha256}) to ${r.url}: HTTP ${r.status}`);
  return 0;
}

export const bundle: Command = {
  name: 'bundle',
  summary: 'Sign, verify and publish policy bundles',
  help: HELP,
  run: reportingBundleErrors('bundle', dispatch),
};

async function dispatch(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  return pickSubcommand(sub, { sign, verify, publish })(rest, io);
}

