/**
 * Building blocks of signed bundles: DSSE's pre-authentication encoding, strict base64, key ids, version
 * ordering, and the rule that the hook's code path never loads zod or yaml.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { decodeBase64, keyidOf, pae, parseEnvelope, parseJsonBytes, PAYLOAD_TYPES, signEnvelope, verifyEnvelope, type VerifierKey } from '../../src/core/bundle/envelope';
import { BundleError } from '../../src/core/bundle/errors';
import { compareEpochVersion, compareSemver } from '../../src/core/bundle/order';
import { readSyncStatus } from '../../src/runtime/syncStatus';
import { testKey } from '../cases/bundles/harness';

const ROOT = path.resolve(__dirname, '../../..');

describe('bundle envelope primitives', () => {
  it('PAE matches the DSSE specification example', () => {
    assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    assert.equal(pae('t', Buffer.alloc(0)).toString(), 'DSSEv1 1 t 0 ');
    // Lengths are byte lengths, not character counts.
    assert.equal(pae('é', Buffer.from('ü')).toString(), 'DSSEv1 2 é 2 ü');
  });

  it('accepts only canonical standard base64', () => {
    assert.deepEqual(decodeBase64('aGk='), Buffer.from('hi'));
    for (const bad of ['aGk', 'aGl=', 'aG k=', 'a-_=', 'aGk==', '!!!!']) assert.equal(decodeBase64(bad), undefined, bad);
  });

  it('reads JSON bytes only as strict UTF-8 without a byte-order mark', () => {
    assert.deepEqual(parseJsonBytes(Buffer.from('{"a":"é"}')), { a: 'é' });
    assert.throws(() => parseJsonBytes(Buffer.from([0x22, 0xc3, 0x28, 0x22])), /UTF-8/);
    assert.throws(() => parseJsonBytes(Buffer.from('\ufeff{}')), /byte-order mark/);
  });

  it('key ids are the SHA-256 of the raw public key', () => {
    const k = testKey('policy');
    assert.equal(keyidOf(k.raw), k.keyid);
    assert.equal(k.keyid.length, 64);
  });

  it('a signed envelope verifies, and only with the expected type, role and key', () => {
    const k = testKey('policy');
    const env = signEnvelope(PAYLOAD_TYPES.bundle, Buffer.from('{"x":1}'), [{ keyid: k.keyid, privateKey: k.privateKey }]);
    const keys = new Map<string, VerifierKey>([[k.keyid, { keyid: k.keyid, raw: k.raw, roles: ['policy'], revoked: false }]]);
    const ok = verifyEnvelope(parseEnvelope(Buffer.from(JSON.stringify(env))), { payloadType: PAYLOAD_TYPES.bundle, role: 'policy', keys, threshold: 1, now: 0 });
    assert.equal(ok.payload.toString(), '{"x":1}');
    assert.deepEqual(ok.signers, [k.keyid]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as BundleError).code;
      }
      return 'none';
    };
    assert.equal(code(() => verifyEnvelope(env, { payloadType: PAYLOAD_TYPES.trust, role: 'policy', keys, threshold: 1, now: 0 })), 'payload-type');
    assert.equal(code(() => verifyEnvelope(env, { payloadType: PAYLOAD_TYPES.bundle, role: 'root', keys, threshold: 1, now: 0 })), 'key-wrong-role');
    assert.equal(code(() => verifyEnvelope(env, { payloadType: PAYLOAD_TYPES.bundle, role: 'policy', keys, threshold: 2, now: 0 })), 'threshold-not-met');
    assert.equal(code(() => verifyEnvelope(env, { payloadType: PAYLOAD_TYPES.bundle, role: 'policy', keys: new Map(), threshold: 1, now: 0 })), 'key-unknown');
  });

  it('orders (epoch, version) lexicographically and semantic versions numerically', () => {
    assert.ok(compareEpochVersion({ epoch: 2, version: 1 }, { epoch: 1, version: 9 }) > 0);
    assert.ok(compareEpochVersion({ epoch: 1, version: 2 }, { epoch: 1, version: 10 }) < 0);
    assert.equal(compareEpochVersion({ epoch: 3, version: 3 }, { epoch: 3, version: 3 }), 0);
    assert.ok(compareSemver('1.10.0', '1.9.9') > 0);
    assert.ok(compareSemver('1.4.0-rc.1', '1.4.0') < 0);
    assert.ok(compareSemver('1.4.0-rc.2', '1.4.0-rc.10') < 0);
    assert.equal(compareSemver('0.1.0', '0.1.0'), 0);
    assert.throws(() => compareSemver('dev', '1.0.0'), /not a version/);
  });
});

describe('the hook path of signed bundles', () => {
  it('loads neither zod nor yaml nor the policy loader', async () => {
    const r = await esbuild.build({
      entryPoints: [path.join(ROOT, 'src/runtime/bundleActive.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    assert.ok(inputs.some((i) => i.endsWith('src/core/bundle/envelope.ts')), 'sanity: the bundle has the verifier');
    const heavy = inputs.filter((i) => /node_modules\/(zod|yaml)\/|core\/policy\/load|core\/bundle\/schema/.test(i));
    assert.deepEqual(heavy, []);
  });
});

describe('sync status of a machine that never synced', () => {
  it('has no attempts and says why the baseline applies', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-status-'));
    try {
      const s = readSyncStatus(dir, Date.now(), { managedDir: null });
      assert.equal(s.consecutiveFailures, 0);
      assert.equal(s.lastAttempt, undefined);
      assert.deepEqual(s.current.source === 'baseline' && s.current.reason, 'not-configured');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
