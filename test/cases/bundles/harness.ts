/**
 * The signed-bundle attack harness: builds trust roots and bundles from small specs (deterministic test
 * keys, times relative to T0), runs a case's steps against a real state directory (and, for transport
 * cases, a real node:http server on 127.0.0.1) and checks every outcome. Case files: test/cases/bundles/*.yaml,
 * driven by test/unit/bundleAttacks.test.ts (one named test per case).
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { z } from 'zod';
import { pae, PAYLOAD_TYPES, ROLES, sha256Hex } from '../../../src/core/bundle/envelope';
import { REJECT_CODES } from '../../../src/core/bundle/errors';
import { buildBundleDoc, buildTrustDoc, isoTime, type TrustKeySpec } from '../../../src/core/bundle/issue';
import type { BundleDoc, TrustDoc } from '../../../src/core/bundle/schema';
import { validatePolicyValue } from '../../../src/core/policy/load';
import type { PolicyDoc } from '../../../src/core/policy/schema';
import { acceptBundleBytes, type AcceptBundleResult } from '../../../src/runtime/bundleAccept';
import { activePolicy, type ActivePolicy } from '../../../src/runtime/bundleActive';
import { bundleFile, readStore, storePaths, trustVersionFile, writeClientConfig } from '../../../src/runtime/bundleStore';
import { syncOnce, type SyncRun } from '../../../src/runtime/sync';
import { acceptTrustBytes, pinTrust } from '../../../src/runtime/trustAccept';

export const T0 = Date.parse('2026-07-01T00:00:00Z');
export const TENANT = 'acme';
export const BUNDLE_ID = 'acme/default';

/** "+1h", "-7d", "+90m", "0", an ISO time, or ms. Relative times are from T0. */
export function at(spec: string | number | undefined, fallback = '+1h'): number {
  const s = spec ?? fallback;
  if (typeof s === 'number') return s;
  const m = /^([+-]?)(\d+)(ms|s|m|h|d)?$/.exec(s);
  if (m) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[3] ?? 'ms']!;
    return T0 + (m[1] === '-' ? -1 : 1) * Number(m[2]) * unit;
  }
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new Error(`bad time ${JSON.stringify(s)}`);
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic keys

export interface TestKey {
  name: string;
  keyid: string;
  raw: Buffer;
  privateKey: crypto.KeyObject;
}

const keys = new Map<string, TestKey>();
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 key derived from its name (stable across runs, so failures are reproducible). */
export function testKey(name: string): TestKey {
  let k = keys.get(name);
  if (!k) {
    const seed = crypto.createHash('sha256').update(`agent-warden test key: ${name}`).digest();
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const raw = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12));
    k = { name, keyid: sha256Hex(raw), raw, privateKey };
    keys.set(name, k);
  }
  return k;
}

// ---------------------------------------------------------------------------------------------------------
// Specs

const Time = z.union([z.string(), z.number()]);
const Rel = z.enum(ROLES);

const SignerSpec = z.union([
  z.string(),
  z
    .object({
      key: z.string(),
      keyidOf: z.string().optional().describe('Put this other key\'s id in the keyid hint.'),
      mutate: z.enum(['malleate', 'truncate', 'extend', 'invalid-base64', 'flip']).optional(),
    })
    .strict(),
]);
type SignerSpec = z.infer<typeof SignerSpec>;

const KeySpec = z
  .object({
    key: z.string(),
    role: Rel,
    notBefore: Time.optional(),
    notAfter: Time.optional(),
    idOf: z.string().optional().describe('List the key under this other key\'s id (keyid ≠ sha256(pub)).'),
  })
  .strict();
type KeySpec = z.infer<typeof KeySpec>;

export const TrustSpec = z
  .object({
    version: z.number().optional(),
    epoch: z.number().optional(),
    tenant: z.string().optional(),
    issuedAt: Time.optional(),
    expiresAt: Time.optional(),
    keys: z.array(KeySpec).optional().describe('Replaces the default key list.'),
    addKeys: z.array(KeySpec).optional(),
    revoked: z.array(z.string()).optional(),
    thresholds: z.partialRecord(Rel, z.number()).optional(),
    bundles: z.object({ offlineGrace: z.string().optional(), staleAfter: z.string().optional(), failOpen: z.boolean().optional() }).strict().optional(),
    signers: z.array(SignerSpec).optional().describe('Default: root1, root2.'),
  })
  .strict();
export type TrustSpec = z.infer<typeof TrustSpec>;

const EnvelopeMutation = z
  .object({
    set: z.record(z.string(), z.unknown()).optional(),
    delete: z.array(z.string()).optional(),
    payloadType: z.string().optional().describe('Replace payloadType after signing (bundle, trust, grant, or a literal).'),
    flipPayloadBit: z.number().int().optional(),
    reencode: z.literal('pretty').optional().describe('Re-serialise the payload JSON with indentation, keeping the signatures.'),
    raw: z.string().optional().describe('Serve this text instead of the envelope.'),
  })
  .strict();

export const BundleSpec = z
  .object({
    version: z.number().optional(),
    epoch: z.number().optional(),
    tenant: z.string().optional(),
    bundleId: z.string().optional(),
    revision: z.string().optional(),
    issuedAt: Time.optional(),
    notBefore: Time.optional(),
    expiresAt: Time.optional(),
    minTrustVersion: z.number().optional(),
    minClientVersion: z.string().optional(),
    rules: z.number().int().optional().describe('Number of generated rules (default 2).'),
    extra: z.record(z.string(), z.unknown()).optional().describe('Extra top-level payload fields.'),
    policyExtra: z.record(z.string(), z.unknown()).optional().describe('Extra fields in the policy.'),
    drop: z.array(z.string()).optional().describe('Top-level payload fields to delete.'),
    dropPolicy: z.array(z.string()).optional().describe('Policy fields to delete.'),
    literal: z.record(z.string(), z.string()).optional().describe('Payload fields written verbatim as JSON text.'),
    rawPayload: z.string().optional(),
    encoding: z.enum(['compact', 'pretty']).optional(),
    signAs: z.enum(['bundle', 'trust', 'grant']).optional().describe('payloadType used in the signature (PAE).'),
    signers: z.array(SignerSpec).optional().describe('Default: policy.'),
    envelope: EnvelopeMutation.optional(),
  })
  .strict();
export type BundleSpec = z.infer<typeof BundleSpec>;

const DEFAULT_TRUST_KEYS: KeySpec[] = [
  { key: 'root1', role: 'root' },
  { key: 'root2', role: 'root' },
  { key: 'root3', role: 'root' },
  { key: 'policy', role: 'policy' },
  { key: 'exception', role: 'exception' },
  { key: 'receipt', role: 'receipt' },
];

function keySpecs(spec: TrustSpec): KeySpec[] {
  return [...(spec.keys ?? DEFAULT_TRUST_KEYS), ...(spec.addKeys ?? [])];
}

function signatureFor(type: string, payload: Buffer, s: SignerSpec): { keyid: string; sig: string } {
  const spec = typeof s === 'string' ? { key: s } : s;
  const key = testKey(spec.key);
  let sig = crypto.sign(null, pae(type, payload), key.privateKey);
  let sigText: string | undefined;
  switch (spec.mutate) {
    case 'malleate': {
      // S' = S + L: the same signature to a lax verifier, non-canonical to a strict one.
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const S = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex')) + L;
      const le = Buffer.from(S.toString(16).padStart(64, '0'), 'hex').reverse();
      sig = Buffer.concat([sig.subarray(0, 32), le]);
      break;
    }
    case 'truncate':
      sig = sig.subarray(0, 63);
      break;
    case 'extend':
      sig = Buffer.concat([sig, Buffer.from([0])]);
      break;
    case 'flip':
      sig = Buffer.from(sig);
      sig[0]! ^= 0x01;
      break;
    case 'invalid-base64':
      sigText = sig.toString('base64').replace(/.$/, '!').replace(/^./, '*');
      break;
    default:
      break;
  }
  return { keyid: spec.keyidOf ? testKey(spec.keyidOf).keyid : key.keyid, sig: sigText ?? sig.toString('base64') };
}

function envelopeBytes(env: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(env, null, 2) + '\n');
}

export function trustDoc(spec: TrustSpec = {}): TrustDoc {
  const ks = keySpecs(spec);
  const trustKeys: TrustKeySpec[] = ks.map((k) => ({
    raw: testKey(k.key).raw,
    role: k.role,
    ...(k.notBefore !== undefined ? { notBefore: isoTime(at(k.notBefore)) } : {}),
    ...(k.notAfter !== undefined ? { notAfter: isoTime(at(k.notAfter)) } : {}),
  }));
  const doc = buildTrustDoc({
    tenant: spec.tenant ?? TENANT,
    version: spec.version ?? 1,
    epoch: spec.epoch ?? 1,
    issuedAt: at(spec.issuedAt, '-30d'),
    expiresAt: at(spec.expiresAt, '+365d'),
    keys: trustKeys,
    thresholds: { root: 2, ...spec.thresholds },
    revoked: (spec.revoked ?? []).map((n) => testKey(n).keyid),
    ...(spec.bundles ? { bundles: spec.bundles } : {}),
  });
  for (const k of ks) {
    if (!k.idOf) continue;
    const real = testKey(k.key).keyid;
    const entry = doc.keys[real]!;
    delete doc.keys[real];
    doc.keys[testKey(k.idOf).keyid] = entry;
  }
  return doc;
}

export function buildTrust(spec: TrustSpec = {}): Buffer {
  const payload = Buffer.from(JSON.stringify(trustDoc(spec)));
  const signers = spec.signers ?? ['root1', 'root2'];
  return envelopeBytes({ payloadType: PAYLOAD_TYPES.trust, payload: payload.toString('base64'), signatures: signers.map((s) => signatureFor(PAYLOAD_TYPES.trust, payload, s)) });
}

let basePolicy: PolicyDoc | undefined;

/** A small valid policy in normal form, with `n` rules. */
export function testPolicy(n = 2): PolicyDoc {
  basePolicy ??= validatePolicyValue({
    apiVersion: 'agentwarden.dev/v1',
    kind: 'Policy',
    metadata: { id: 'acme/default', version: 'test' },
    defaultEffect: 'allow',
    rules: [],
  });
  const rules = Array.from({ length: n }, (_, i) => ({
    id: `rule.${i}`,
    effect: 'deny' as const,
    reason: `rule ${i} blocks this`,
    match: { command: { program: `forbidden-tool-${i}` } },
  }));
  return validatePolicyValue({ ...basePolicy, rules });
}

export function bundleDoc(spec: BundleSpec = {}): BundleDoc {
  const doc = buildBundleDoc({
    tenant: spec.tenant ?? TENANT,
    bundleId: spec.bundleId ?? BUNDLE_ID,
    epoch: spec.epoch ?? 1,
    version: spec.version ?? 1,
    issuedAt: at(spec.issuedAt, '0'),
    expiresAt: at(spec.expiresAt, '+7d'),
    ...(spec.notBefore !== undefined ? { notBefore: at(spec.notBefore) } : {}),
    ...(spec.revision ? { revision: spec.revision } : {}),
    ...(spec.minTrustVersion !== undefined ? { minTrustVersion: spec.minTrustVersion } : {}),
    ...(spec.minClientVersion ? { minClientVersion: spec.minClientVersion } : {}),
    policy: testPolicy(spec.rules),
  });
  return doc;
}

export function buildBundle(spec: BundleSpec = {}): Buffer {
  const doc = bundleDoc(spec) as unknown as Record<string, unknown>;
  if (spec.extra) Object.assign(doc, spec.extra);
  if (spec.policyExtra || spec.dropPolicy) {
    const policy: Record<string, unknown> = { ...(doc.policy as Record<string, unknown>), ...spec.policyExtra };
    for (const f of spec.dropPolicy ?? []) delete policy[f];
    doc.policy = policy;
  }
  for (const f of spec.drop ?? []) delete doc[f];
  for (const k of Object.keys(spec.literal ?? {})) doc[k] = `__LITERAL_${k}__`;
  let text = spec.rawPayload ?? JSON.stringify(doc, null, spec.encoding === 'pretty' ? 2 : undefined);
  for (const [k, v] of Object.entries(spec.literal ?? {})) text = text.replace(`"__LITERAL_${k}__"`, v);
  const payload = Buffer.from(text);
  const signType = PAYLOAD_TYPES[spec.signAs ?? 'bundle'];
  const env: Record<string, unknown> = {
    payloadType: signType,
    payload: payload.toString('base64'),
    signatures: (spec.signers ?? ['policy']).map((s) => signatureFor(signType, payload, s)),
  };
  const m = spec.envelope;
  if (m) {
    if (m.payloadType) env.payloadType = m.payloadType in PAYLOAD_TYPES ? PAYLOAD_TYPES[m.payloadType as keyof typeof PAYLOAD_TYPES] : m.payloadType;
    if (m.flipPayloadBit !== undefined) {
      const p = Buffer.from(payload);
      p[m.flipPayloadBit >> 3]! ^= 1 << (m.flipPayloadBit & 7);
      env.payload = p.toString('base64');
    }
    if (m.reencode) env.payload = Buffer.from(JSON.stringify(JSON.parse(text), null, 2)).toString('base64');
    Object.assign(env, m.set);
    for (const f of m.delete ?? []) delete env[f];
    if (m.raw !== undefined) return Buffer.from(m.raw);
  }
  return envelopeBytes(env);
}

export const etagOf = (bytes: Buffer) => `"sha256:${sha256Hex(bytes)}"`;

// ---------------------------------------------------------------------------------------------------------
// Cases

const ActiveExpect = z
  .object({
    version: z.number().optional(),
    epoch: z.number().optional(),
    state: z.enum(['fresh', 'stale', 'grace']).optional(),
    baseline: z.string().optional().describe('The built-in baseline applies for this reason.'),
    event: z.string().optional().describe('An event of this type is returned.'),
    failOpen: z.boolean().optional().describe('Default: false whenever the baseline applies.'),
  })
  .strict();
type ActiveExpect = z.infer<typeof ActiveExpect>;

const Serve = z
  .object({
    bundle: BundleSpec.optional(),
    replay: z.string().optional(),
    status: z.number().int().optional(),
    etag: z.string().optional().describe('"active" = the ETag stored for the active bundle; otherwise literal.'),
    date: Time.optional(),
    flipBodyByte: z.number().int().optional(),
    pad: z.number().int().optional().describe('Pad the body with spaces to this many bytes.'),
    gzip: z.boolean().optional(),
    bomb: z.number().int().optional().describe('Serve gzip of this many zero bytes.'),
    slowMs: z.number().int().optional().describe('Send one byte every slowMs ms.'),
    retryAfter: z.string().optional(),
  })
  .strict();
type Serve = z.infer<typeof Serve>;

const Code = z.string().refine((c) => c in REJECT_CODES || ['accepted', 'unchanged', 'updated'].includes(c), 'an outcome or a known reject code');

export const Step = z.union([
  z.object({ bundle: BundleSpec, label: z.string().optional(), at: Time.optional(), expect: Code }).strict(),
  z.object({ replay: z.string(), at: Time.optional(), expect: Code }).strict(),
  z.object({ trust: z.union([TrustSpec, z.array(TrustSpec)]), at: Time.optional(), expect: Code, version: z.number().optional().describe('Trust version afterwards.') }).strict(),
  z
    .object({
      http: z.object({ serve: Serve.optional(), url: z.string().optional(), limits: z.record(z.string(), z.number()).optional() }).strict(),
      at: Time.optional(),
      expect: z.object({ result: z.enum(['updated', 'unchanged', 'not-modified', 'rejected', 'error']), code: Code.optional(), trust: z.string().optional() }).strict(),
    })
    .strict(),
  z
    .object({
      tamper: z
        .object({
          target: z.string().describe('active | previous | state | mirror | anchor | managed-anchor | managed-sync | trust:<N>'),
          op: z.union([
            z.enum(['flip', 'delete', 'copy-previous', 'snapshot', 'restore', 'point-previous']),
            z.object({ patch: z.record(z.string(), z.unknown()) }).strict(),
            z.object({ write: TrustSpec }).strict(),
            z.object({ text: z.string() }).strict().describe('write this text to the file'),
          ]),
        })
        .strict(),
    })
    .strict(),
  z.object({ hook: ActiveExpect, at: Time.optional() }).strict(),
]);
type Step = z.infer<typeof Step>;

export const AttackCase = z
  .object({
    name: z.string().min(1),
    ref: z.string().optional().describe('Item of the attack list (research/bundles-audit-server.md §1.6).'),
    setup: z
      .object({
        trust: TrustSpec.optional(),
        bundle: z.union([BundleSpec, z.null()]).optional(),
        acceptedAt: Time.optional(),
      })
      .strict()
      .optional(),
    steps: z.array(Step).min(1),
    final: ActiveExpect.extend({ at: Time.optional() }).strict(),
  })
  .strict();
export type AttackCase = z.infer<typeof AttackCase>;

export const CaseFile = z.object({ cases: z.array(AttackCase).min(1) }).strict();

/** A state directory with a pinned trust root and (by default) an accepted bundle v1. */
export class World {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-bundle-'));
  readonly stateDir = path.join(this.root, 'state');
  readonly managedDir = path.join(this.root, 'managed');
  readonly labels = new Map<string, Buffer>();
  private snapshots = new Map<string, Buffer>();
  lastAt = at('+1h');

  async init(setup: AttackCase['setup'] = {}): Promise<void> {
    fs.mkdirSync(this.managedDir, { recursive: true });
    await pinTrust(this.stateDir, buildTrust(setup.trust), { now: T0, managedDir: this.managedDir });
    writeClientConfig(this.stateDir, { bundleId: BUNDLE_ID });
    if (setup.bundle !== null) {
      const bytes = buildBundle(setup.bundle);
      const r = await this.offer(bytes, at(setup.acceptedAt, '+1h'), etagOf(bytes));
      assert.equal(r.outcome, 'accepted', `setup bundle not accepted: ${r.code}: ${r.message}`);
      this.labels.set('setup', bytes);
    }
  }

  offer(bytes: Buffer, now: number, etag?: string): Promise<AcceptBundleResult> {
    return acceptBundleBytes(this.stateDir, bytes, { now, managedDir: this.managedDir, ...(etag ? { etag } : {}) }).then((r) => {
      if (r.outcome === 'accepted') this.labels.set('active', bytes);
      return r;
    });
  }

  hook(now: number): ActivePolicy {
    return activePolicy(this.stateDir, now, { managedDir: this.managedDir });
  }

  activeRecord() {
    return readStore(this.stateDir).state.bundles[BUNDLE_ID];
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private targetFile(target: string): string {
    const p = storePaths(this.stateDir);
    const rec = this.activeRecord();
    switch (target) {
      case 'active':
        return bundleFile(this.stateDir, BUNDLE_ID, rec!.sha256);
      case 'previous':
        return bundleFile(this.stateDir, BUNDLE_ID, rec!.previousSha256!);
      case 'state':
        return p.state;
      case 'mirror':
        return p.mirror;
      case 'anchor':
        return p.anchor;
      case 'managed-anchor':
        return path.join(this.managedDir, 'trust.json');
      case 'managed-sync':
        return path.join(this.managedDir, 'sync.json');
      default: {
        const m = /^trust:(\d+)$/.exec(target);
        if (m) return trustVersionFile(this.stateDir, Number(m[1]));
        throw new Error(`unknown tamper target ${target}`);
      }
    }
  }

  tamper(target: string, op: Extract<Step, { tamper: unknown }>['tamper']['op']): void {
    const file = this.targetFile(target);
    if (typeof op === 'object' && 'text' in op) {
      fs.writeFileSync(file, op.text);
      return;
    }
    if (op === 'flip') {
      const b = fs.readFileSync(file);
      b[Math.floor(b.length / 2)]! ^= 0x04;
      fs.writeFileSync(file, b);
    } else if (op === 'delete') fs.rmSync(file);
    else if (op === 'copy-previous') fs.copyFileSync(this.targetFile('previous'), file);
    else if (op === 'snapshot') this.snapshots.set(target, fs.readFileSync(file));
    else if (op === 'restore') fs.writeFileSync(file, this.snapshots.get(target)!);
    else if (op === 'point-previous') {
      // Make a state copy name the previous bundle's bytes for the current version.
      const st = JSON.parse(fs.readFileSync(file, 'utf8')) as { bundles: Record<string, { sha256: string; previousSha256?: string }> };
      const e = st.bundles[BUNDLE_ID]!;
      e.sha256 = this.activeRecord()!.previousSha256!;
      fs.writeFileSync(file, JSON.stringify(st));
    }
    else if ('patch' in op) {
      // Change the signed payload and keep the signatures (a forged edit).
      const env = JSON.parse(fs.readFileSync(file, 'utf8')) as { payload: string };
      const doc = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as Record<string, unknown>;
      for (const [k, v] of Object.entries(op.patch)) doc[k] = typeof v === 'string' && /^[+-]\d+[smhd]$/.test(v) ? isoTime(at(v)) : v;
      env.payload = Buffer.from(JSON.stringify(doc)).toString('base64');
      fs.writeFileSync(file, JSON.stringify(env, null, 2) + '\n');
    } else fs.writeFileSync(file, buildTrust(op.write));
  }

  async runStep(step: Step, where: string): Promise<void> {
    if ('tamper' in step) {
      this.tamper(step.tamper.target, step.tamper.op);
      return;
    }
    if (step.at !== undefined) this.lastAt = at(step.at);
    const t = this.lastAt;
    if ('hook' in step) return checkActive(this.hook(t), step.hook, `${where} (hook at ${new Date(t).toISOString()})`);
    if ('bundle' in step || 'replay' in step) {
      const bytes = 'bundle' in step ? buildBundle(step.bundle) : this.label(step.replay);
      if ('bundle' in step && step.label) this.labels.set(step.label, bytes);
      const r = await this.offer(bytes, t, etagOf(bytes));
      checkOutcome(r.outcome, r.code, step.expect, `${where}: ${r.message ?? ''}`);
      if (r.outcome === 'rejected') assert.ok(r.events.some((e) => e.reason === r.code), `${where}: a rejection event with reason ${r.code}`);
      if (r.outcome === 'accepted') assert.ok(r.events.some((e) => e.type === 'policy.activated'), `${where}: an activation event`);
      return;
    }
    if ('trust' in step) {
      const specs = Array.isArray(step.trust) ? step.trust : [step.trust];
      const r = await acceptTrustBytes(this.stateDir, specs.map((s) => buildTrust(s)), { now: t, managedDir: this.managedDir, source: 'cli' });
      const outcome = r.rejected ? 'rejected' : r.accepted.length ? 'updated' : 'unchanged';
      checkOutcome(outcome, r.rejected?.code, step.expect, `${where}: ${r.rejected?.message ?? ''}`);
      if (r.rejected) assert.ok(r.events.some((e) => e.type === 'trust.update_rejected' && e.reason === r.rejected!.code), `${where}: a trust.update_rejected event`);
      if (step.version !== undefined) assert.equal(r.trust.version, step.version, `${where}: trust version afterwards`);
      return;
    }
    const run = await this.httpStep(step.http, t);
    const e = step.expect;
    assert.equal(run.result, e.result, `${where}: sync result (${run.code}: ${run.message})`);
    if (e.code) assert.equal(run.code, e.code, `${where}: sync code (${run.message})`);
    if (e.trust) assert.equal(run.trust.result, e.trust, `${where}: trust result`);
    if (e.result === 'rejected') {
      assert.equal(run.status.lastRejection?.code, e.code, `${where}: status lastRejection`);
      assert.ok(run.events.some((ev) => ev.reason === e.code), `${where}: a rejection event`);
    }
  }

  label(name: string): Buffer {
    const b = this.labels.get(name);
    if (!b) throw new Error(`no bundle labelled ${name}`);
    return b;
  }

  private async httpStep(spec: Extract<Step, { http: unknown }>['http'], now: number): Promise<SyncRun> {
    let server: TestServer | undefined;
    let url = spec.url;
    if (!url) {
      server = await startServer((req, res) => this.respond(spec.serve ?? {}, req, res));
      url = server.url;
    }
    try {
      return await syncOnce({ stateDir: this.stateDir, managedDir: this.managedDir, server: url, bundleId: BUNDLE_ID, clock: () => now, limits: spec.limits ?? {} });
    } finally {
      await server?.close();
    }
  }

  private respond(serve: Serve, req: http.IncomingMessage, res: http.ServerResponse): void {
    res.sendDate = false; // the tests' clock is not the machine's: only an explicit `date` is sent
    if (req.url?.startsWith('/v1/trust/')) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = {};
    if (serve.date !== undefined) headers.date = new Date(at(serve.date)).toUTCString();
    if (serve.retryAfter) headers['retry-after'] = serve.retryAfter;
    if (serve.etag) headers.etag = serve.etag === 'active' ? this.activeRecord()!.etag! : serve.etag;
    const status = serve.status ?? 200;
    if (status !== 200) {
      res.writeHead(status, headers).end();
      return;
    }
    let body = serve.bundle ? buildBundle(serve.bundle) : serve.replay ? this.label(serve.replay) : Buffer.alloc(0);
    if (serve.flipBodyByte !== undefined) {
      const p = JSON.parse(body.toString('utf8')) as { payload: string };
      const payload = Buffer.from(p.payload, 'base64');
      payload[serve.flipBodyByte]! ^= 0x01;
      p.payload = payload.toString('base64');
      body = Buffer.from(JSON.stringify(p));
    }
    if (serve.pad) body = Buffer.concat([body, Buffer.alloc(Math.max(0, serve.pad - body.length), 0x20)]);
    if (serve.bomb) {
      body = zlib.gzipSync(Buffer.alloc(serve.bomb), { level: 9 });
      headers['content-encoding'] = 'gzip';
    } else if (serve.gzip) {
      body = zlib.gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    if (serve.slowMs) {
      res.writeHead(200, headers);
      let i = 0;
      const timer = setInterval(() => {
        if (i >= body.length || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(body.subarray(i, i + 1));
        i++;
      }, serve.slowMs);
      res.on('close', () => clearInterval(timer));
      return;
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers).end(body);
  }
}

function checkOutcome(outcome: string, code: string | undefined, expect: string, where: string): void {
  if (expect === 'accepted' || expect === 'unchanged' || expect === 'updated') {
    assert.equal(outcome, expect, `${where} → got ${outcome}${code ? ` (${code})` : ''}`);
  } else {
    assert.equal(outcome, 'rejected', `${where} → expected rejection ${expect}, got ${outcome}`);
    assert.equal(code, expect, where);
  }
}

export function checkActive(a: ActivePolicy, e: ActiveExpect, where: string): void {
  if (e.baseline) {
    assert.equal(a.source, 'baseline', `${where}: expected the baseline (${e.baseline}), got bundle ${a.source === 'bundle' ? `v${a.bundle.version} ${a.state}` : ''}`);
    assert.equal(a.reason, e.baseline, `${where}: ${a.source === 'baseline' ? a.message : ''}`);
    assert.equal(a.failOpen, e.failOpen ?? false, `${where}: fail open only when the signed trust root says so`);
  } else {
    assert.equal(a.source, 'bundle', `${where}: expected a bundle, got the baseline (${a.source === 'baseline' ? `${a.reason}: ${a.message}` : ''})`);
    if (a.source !== 'bundle') return;
    if (e.version !== undefined) assert.equal(a.bundle.version, e.version, `${where}: active version`);
    if (e.epoch !== undefined) assert.equal(a.bundle.epoch, e.epoch, `${where}: active epoch`);
    if (e.state !== undefined) assert.equal(a.state, e.state, `${where}: freshness`);
    assert.ok(Array.isArray(a.policy.rules), `${where}: a policy`);
  }
  if (e.event) assert.ok(a.events.some((ev) => ev.type === e.event), `${where}: event ${e.event} in ${JSON.stringify(a.events.map((x) => x.type))}`);
}

// ---------------------------------------------------------------------------------------------------------
// Local HTTP server

export interface TestServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export function startServer(handler: http.RequestListener, port = 0): Promise<TestServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const p = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${p}`,
        port: p,
        server,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

export function loadCaseFiles(dir: string): { file: string; cases: AttackCase[] }[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { parse } = require('yaml') as typeof import('yaml');
      const parsed = CaseFile.safeParse(parse(fs.readFileSync(path.join(dir, f), 'utf8')));
      if (!parsed.success) throw new Error(`${f}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return { file: f, cases: parsed.data.cases };
    });
}
