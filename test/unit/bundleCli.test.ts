/**
 * The signing CLI as an administrator uses it: keygen, trust init/sign/rotate/verify/pin, bundle
 * sign/verify/publish and sync, through `main()` with captured output, in a temporary directory.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Hex } from '../../src/core/bundle/envelope';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/types';
import { activePolicy } from '../../src/runtime/bundleActive';
import { startServer } from '../cases/bundles/harness';

interface Result {
  code: number;
  out: string;
  err: string;
}

describe('warden keygen / trust / bundle / sync', () => {
  let dir: string;
  const run = async (...argv: string[]): Promise<Result> => {
    let out = '';
    let err = '';
    const io: Io = { out: (t) => void (out += t + '\n'), err: (t) => void (err += t + '\n'), stdin: async () => '', cwd: dir, env: { HOME: dir } };
    const code = await main(argv, io);
    return { code, out, err };
  };
  const ok = async (...argv: string[]): Promise<Result> => {
    const r = await run(...argv);
    assert.equal(r.code, 0, `warden ${argv.join(' ')}\n${r.out}${r.err}`);
    return r;
  };
  const file = (name: string) => path.join(dir, name);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-cli-'));
    fs.writeFileSync(
      file('policy.yaml'),
      [
        'apiVersion: agentwarden.dev/v1',
        'kind: Policy',
        'metadata: { id: acme/default, version: "1" }',
        'defaultEffect: allow',
        'rules:',
        '  - id: no-curl',
        '    effect: deny',
        '    reason: curl is not allowed here',
        '    match: { command: { program: curl } }',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(file('bad.yaml'), fs.readFileSync(file('policy.yaml'), 'utf8').replace('    effect: deny', '    effect: deny\n    severity: high'));
    const suite = (effect: string) =>
      ['suite: acme', 'policy: policy.yaml', 'cases:', '  - name: curl is denied', '    tool: Bash', '    input: { command: curl https://example.com }', `    expect: { effect: ${effect} }`, ''].join('\n');
    fs.writeFileSync(file('pass.tests.yaml'), suite('deny'));
    fs.writeFileSync(file('fail.tests.yaml'), suite('allow'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keygen writes a 0600 private key and a public key whose id is sha256(pub)', async () => {
    for (const [name, role] of [['root1', 'root'], ['root2', 'root'], ['root3', 'root'], ['policy', 'policy'], ['new-root', 'root']]) {
      const r = await ok('keygen', '--role', role!, '--out', name!, '--label', `${name} key`);
      const pub = JSON.parse(fs.readFileSync(file(`${name}.pub`), 'utf8')) as { keyid: string; pub: string; role: string };
      assert.equal(pub.keyid, sha256Hex(Buffer.from(pub.pub, 'base64url')));
      assert.equal(pub.role, role);
      assert.match(r.out, new RegExp(pub.keyid));
      if (process.platform !== 'win32') assert.equal(fs.statSync(file(`${name}.key`)).mode & 0o777, 0o600);
    }
  });

  it('keygen creates the directory it writes into', async () => {
    await ok('keygen', '--role', 'receipt', '--out', 'new/dir/receipt');
    assert.ok(fs.existsSync(file('new/dir/receipt.key')) && fs.existsSync(file('new/dir/receipt.pub')));
  });

  it('keygen refuses to overwrite and rejects unknown roles', async () => {
    const again = await run('keygen', '--role', 'root', '--out', 'root1');
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists/);
    assert.equal((await run('keygen', '--role', 'admin', '--out', 'x')).code, 2);
  });

  it('a private key readable by others is refused', async () => {
    if (process.platform === 'win32') return;
    fs.copyFileSync(file('root1.key'), file('loose.key'));
    fs.chmodSync(file('loose.key'), 0o644);
    const r = await run('trust', 'init', '--tenant', 'acme', '--key', 'root1.pub', '--sign', 'loose.key', '--out', 'loose.json');
    assert.equal(r.code, 1);
    assert.match(r.err, /chmod 600/);
  });

  it('trust init below the root threshold fails, --partial writes it, trust sign completes it', async () => {
    const args = ['trust', 'init', '--tenant', 'acme', '--key', 'root1.pub', '--key', 'root2.pub', '--key', 'root3.pub', '--key', 'policy.pub', '--threshold', 'root=2', '--out', 'trust1.json'];
    const short = await run(...args, '--sign', 'root1.key');
    assert.equal(short.code, 1);
    assert.match(short.err, /trust-signature/);
    assert.equal(fs.existsSync(file('trust1.json')), false);
    const partial = await ok(...args, '--sign', 'root1.key', '--partial');
    assert.match(partial.out, /INCOMPLETE/);
    assert.equal((await run('trust', 'verify', 'trust1.json')).code, 1);
    await ok('trust', 'sign', 'trust1.json', '--sign', 'root2.key');
    const v = await ok('trust', 'verify', 'trust1.json', '--json');
    const report = JSON.parse(v.out) as { ok: boolean; chain: { version: number; signers: string[] }[] };
    assert.equal(report.ok, true);
    assert.equal(report.chain[0]!.signers.length, 2);
  });

  it('trust rotate needs the old and the new root thresholds', async () => {
    const base = ['trust', 'rotate', 'trust1.json', '--add', 'new-root.pub', '--remove', 'root3.pub', '--out', 'trust2.json'];
    const newOnly = await run(...base, '--sign', 'new-root.key', '--sign', 'root1.key');
    assert.equal(newOnly.code, 1);
    assert.match(newOnly.err, /trust-old-roots-threshold/);
    await ok(...base, '--sign', 'root1.key', '--sign', 'root2.key', '--sign', 'new-root.key');
    const v = await ok('trust', 'verify', 'trust1.json', 'trust2.json');
    assert.match(v.out, /rotation from v1/);
    const skipped = await run('trust', 'verify', 'trust1.json', 'trust1.json');
    assert.equal(skipped.code, 1);
    assert.match(skipped.err, /trust-rollback/);
    await ok('trust', 'rotate', 'trust2.json', '--bump-epoch', '--sign', 'root1.key', '--sign', 'new-root.key', '--out', 'trust3.json');
    const v3 = JSON.parse((await ok('trust', 'verify', 'trust1.json', 'trust2.json', 'trust3.json', '--json')).out) as { chain: { version: number; epoch: number }[] };
    assert.deepEqual(v3.chain.map((t) => [t.version, t.epoch]), [[1, 1], [2, 1], [3, 2]]);
  });

  it('bundle sign reports policy errors as file:line:col and signs nothing', async () => {
    const r = await run('bundle', 'sign', 'bad.yaml', '--key', 'policy.key', '--trust', 'trust1.json', '--bundle-id', 'acme/default', '--version', '1', '--out', 'b.json');
    assert.equal(r.code, 1);
    assert.match(r.err, /^bad\.yaml:8:5: unknown field "severity"/m);
    assert.match(r.err, /signing blocked/);
    assert.equal(fs.existsSync(file('b.json')), false);
  });

  it('a failing policy test blocks signing', async () => {
    const r = await run('bundle', 'sign', 'policy.yaml', '--key', 'policy.key', '--trust', 'trust1.json', '--bundle-id', 'acme/default', '--version', '1', '--out', 'b.json', '--tests', 'pass.tests.yaml', '--tests', 'fail.tests.yaml');
    assert.equal(r.code, 1);
    assert.match(r.err, /fail\.tests\.yaml:4:1: test failed: curl is denied/);
    assert.match(r.err, /signing blocked: policy tests fail/);
    assert.equal(fs.existsSync(file('b.json')), false);
  });

  it('a key the trust root does not list for bundles blocks signing', async () => {
    const r = await run('bundle', 'sign', 'policy.yaml', '--key', 'root1.key', '--trust', 'trust1.json', '--bundle-id', 'acme/default', '--version', '1', '--out', 'b.json');
    assert.equal(r.code, 1);
    assert.match(r.err, /clients would reject this bundle: key-wrong-role/);
  });

  it('bundle sign with passing tests, then bundle verify', async () => {
    const s = await ok('bundle', 'sign', 'policy.yaml', '--key', 'policy.key', '--trust', 'trust1.json', '--bundle-id', 'acme/default', '--version', '1', '--out', 'b1.json', '--tests', 'pass.tests.yaml', '--revision', 'git:abc123');
    assert.match(s.out, /acme\/default epoch 1 v1 signed \(1 rules/);
    assert.match(s.out, /1 test case\(s\) passed/);
    const v = await ok('bundle', 'verify', 'b1.json', '--trust', 'trust1.json', '--trust', 'trust2.json', '--bundle-id', 'acme/default', '--json');
    const report = JSON.parse(v.out) as { ok: boolean; bundle: { version: number; revision: string; sha256: string }; trust: { version: number } };
    assert.equal(report.ok, true);
    assert.equal(report.bundle.revision, 'git:abc123');
    assert.equal(report.bundle.sha256, sha256Hex(fs.readFileSync(file('b1.json'))));
    assert.equal(report.trust.version, 2);
    const wrongId = await run('bundle', 'verify', 'b1.json', '--trust', 'trust1.json', '--bundle-id', 'acme/other');
    assert.equal(wrongId.code, 1);
    assert.match(wrongId.err, /bundle-id-mismatch/);
    // Any edit breaks it.
    const env = JSON.parse(fs.readFileSync(file('b1.json'), 'utf8')) as { payload: string };
    const payload = Buffer.from(env.payload, 'base64').toString('utf8').replace('curl is not allowed here', 'curl is allowed here');
    fs.writeFileSync(file('edited.json'), JSON.stringify({ ...env, payload: Buffer.from(payload).toString('base64') }));
    const edited = await run('bundle', 'verify', 'edited.json', '--trust', 'trust1.json');
    assert.equal(edited.code, 1);
    assert.match(edited.err, /signature-invalid/);
  });

  it('bundle publish PUTs the exact bytes with the admin token', async () => {
    const seen: { method?: string; url?: string; auth?: string | undefined; type?: string | undefined; body?: Buffer }[] = [];
    const server = await startServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: Buffer.concat(chunks) });
        res.writeHead(req.headers.authorization === 'Bearer s3cret' ? 201 : 403).end('{}');
      });
    });
    try {
      fs.writeFileSync(file('token'), 's3cret\n');
      const r = await ok('bundle', 'publish', 'b1.json', '--server', server.url, '--token-file', 'token', '--trust', 'trust1.json');
      assert.match(r.out, /published acme\/default epoch 1 v1/);
      assert.equal(seen[0]!.method, 'PUT');
      assert.equal(seen[0]!.url, '/v1/admin/bundles/acme%2Fdefault');
      assert.equal(seen[0]!.auth, 'Bearer s3cret');
      assert.equal(seen[0]!.type, 'application/vnd.agentwarden.bundle+json');
      assert.ok(seen[0]!.body!.equals(fs.readFileSync(file('b1.json'))));
      fs.writeFileSync(file('token'), 'wrong');
      const denied = await run('bundle', 'publish', 'b1.json', '--server', server.url, '--token-file', 'token');
      assert.equal(denied.code, 1);
      assert.match(denied.err, /HTTP 403/);
      const plain = await run('bundle', 'publish', 'b1.json', '--server', 'http://192.0.2.1:9', '--token-file', 'token');
      assert.equal(plain.code, 1);
      assert.match(plain.err, /refusing plain HTTP/);
    } finally {
      await server.close();
    }
  });

  it('trust pin and sync: a headless machine fetches, verifies and activates', async () => {
    const home = file('home');
    await ok('trust', 'pin', 'trust1.json', '--home', home);
    const again = await ok('trust', 'pin', 'trust1.json', '--home', home);
    assert.match(again.out, /already pinned/);
    const other = await run('trust', 'pin', 'trust2.json', '--home', home);
    assert.equal(other.code, 1);
    assert.match(other.err, /--reset/);
    const bytes = fs.readFileSync(file('b1.json'));
    const server = await startServer((req, res) => {
      if (req.url === '/v1/trust/2.json') return void res.writeHead(200).end(fs.readFileSync(file('trust2.json')));
      if (req.url === '/v1/bundles/acme%2Fdefault') return void res.writeHead(200, { etag: '"b1"' }).end(bytes);
      res.writeHead(404).end();
    });
    try {
      const r = await ok('sync', '--home', home, '--server', server.url, '--bundle-id', 'acme/default', '--save', '--managed-dir', 'none');
      const report = JSON.parse(r.out) as { result: string; trust: { result: string; version: number }; events: { type: string }[]; status: { current: { source: string; version: number } } };
      assert.equal(report.result, 'updated');
      assert.equal(report.trust.result, 'updated');
      assert.equal(report.trust.version, 2);
      assert.ok(report.events.some((e) => e.type === 'policy.activated'));
      assert.equal(report.status.current.source, 'bundle');
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(home, 'sync.json'), 'utf8')), { server: server.url, bundleId: 'acme/default' });
      const second = await ok('sync', '--home', home, '--managed-dir', 'none');
      assert.equal((JSON.parse(second.out) as { result: string }).result, 'unchanged');
      const a = activePolicy(home, Date.now(), { managedDir: null });
      assert.equal(a.source, 'bundle');
      assert.equal(a.source === 'bundle' && a.policy.rules[0]!.id, 'no-curl');
      const predicted = await ok('bundle', 'verify', 'b1.json', '--home', home);
      assert.match(predicted.out, /unchanged \(this is the active bundle\)/);
    } finally {
      await server.close();
    }
    const offline = await run('sync', '--home', home, '--managed-dir', 'none');
    assert.equal(offline.code, 1);
    assert.equal((JSON.parse(offline.out) as { result: string; code: string }).code, 'network');
  });

  it('every verb documents itself', async () => {
    for (const verb of ['keygen', 'trust', 'bundle', 'sync']) {
      const r = await ok(verb, '--help');
      assert.match(r.out, new RegExp(`^Usage: warden ${verb}`));
    }
    const root = await ok('--help');
    for (const verb of ['keygen', 'trust', 'bundle', 'sync']) assert.match(root.out, new RegExp(`\\n  ${verb} `));
  });
});
