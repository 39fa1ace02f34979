/**
 * dist/hook.js is a loader that runs dist/hook-main.js from a V8 code cache. The cache must only ever be an
 * optimisation: written on first use, never used for another bundle, harmless when corrupt, and a runner
 * that cannot be loaded still ends in a deny.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanEnv, HOOK, hookJson, preToolUse, requireBuilt, runNode, tempDir } from '../hook/support';

describe('hook loader (dist/hook.js) and its code cache', function () {
  this.timeout(30_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(requireBuilt);
  beforeEach(() => {
    dir = tempDir('aw-loader-');
    for (const f of ['hook.js', 'hook-main.js', 'policy-loader.js']) fs.copyFileSync(path.join(path.dirname(HOOK), f), path.join(dir, f));
    env = cleanEnv(tempDir());
  });
  const caches = () => fs.readdirSync(dir).filter((f) => f.endsWith('.cache'));
  const run = (input = preToolUse('Bash', { command: 'rm -rf ~' })) => runNode(path.join(dir, 'hook.js'), [], input, { env });

  it('the runner bundle carries neither zod nor yaml: they load only from dist/policy-loader.js for --policy <file>', () => {
    // V8 compiles every byte the hook loads on every tool call; the schema libraries are most of a megabyte.
    const main = fs.readFileSync(path.join(path.dirname(HOOK), 'hook-main.js'), 'utf8');
    const loader = fs.readFileSync(path.join(path.dirname(HOOK), 'policy-loader.js'), 'utf8');
    for (const marker of ['ZodError', 'YAMLParseError']) {
      assert.ok(loader.includes(marker), `sanity: the marker ${marker} identifies the library in a bundle`);
      assert.ok(!main.includes(marker), `dist/hook-main.js contains ${marker}: something on the hook path imports the schema or YAML library`);
    }
  });

  it('writes a code cache on first run, uses it afterwards, and answers the same', async () => {
    const first = hookJson(await run());
    assert.equal(first.hookSpecificOutput.permissionDecision, 'deny');
    const c = caches();
    assert.equal(c.length, 1);
    assert.match(c[0]!, /^hook-main\.js\.[0-9a-f]{20}\.v\d+\.\d+\.\d+-\w+\.cache$/);
    const mtime = fs.statSync(path.join(dir, c[0]!)).mtimeMs;
    const second = hookJson(await run());
    assert.equal(second.hookSpecificOutput.permissionDecision, 'deny');
    assert.equal(fs.statSync(path.join(dir, c[0]!)).mtimeMs, mtime, 'a valid cache is not rewritten');
  });

  it('a corrupt cache is rejected and replaced, and the answer is unaffected', async () => {
    await run();
    const c = path.join(dir, caches()[0]!);
    fs.writeFileSync(c, Buffer.alloc(fs.statSync(c).size, 7));
    const out = hookJson(await run());
    assert.equal(out.hookSpecificOutput.permissionDecision, 'deny');
    assert.notDeepEqual(fs.readFileSync(c), Buffer.alloc(fs.statSync(c).size, 7), 'the corrupt cache was replaced');
  });

  it('a cache made for another bundle of the same length is never offered to it (the name carries a source hash)', async () => {
    await run();
    const before = caches();
    const main = path.join(dir, 'hook-main.js');
    const src = fs.readFileSync(main, 'utf8');
    // Same length, different content: flip the hook's own "blocked this call" wording.
    const changed = src.split('blocked this call').join('BLOCKED this call');
    assert.equal(changed.length, src.length);
    assert.notEqual(changed, src);
    fs.writeFileSync(main, changed);
    const out = hookJson(await run());
    assert.match(out.hookSpecificOutput.permissionDecisionReason, /^Agent Warden BLOCKED this call/);
    const after = caches();
    assert.equal(after.length, 1, 'the old build\'s cache was removed');
    assert.notEqual(after[0], before[0]);
  });

  it('works when the directory is not writable (no cache, same answer)', async function () {
    if (process.getuid?.() !== 0) {
      fs.chmodSync(dir, 0o555);
      try {
        assert.equal(hookJson(await run()).hookSpecificOutput.permissionDecision, 'deny');
      } finally {
        fs.chmodSync(dir, 0o755);
      }
    } else {
      // Root writes through file modes: make the directory a read-only mount in a private mount namespace.
      if (spawnSync('unshare', ['-rm', 'true']).status !== 0) this.skip();
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" "$1/hook.js"', 'sh', dir, process.execPath], { input: preToolUse('Bash', { command: 'rm -rf ~' }), env, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(hookJson({ code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: 0 }).hookSpecificOutput.permissionDecision, 'deny');
    }
    assert.deepEqual(caches(), []);
  });

  it('a missing or broken runner still ends in a deny with exit code 0', async () => {
    fs.rmSync(path.join(dir, 'hook-main.js'));
    const missing = await run();
    assert.equal(missing.code, 0);
    assert.match(hookJson(missing).hookSpecificOutput.permissionDecisionReason, /hook runner could not be loaded/);
    fs.writeFileSync(path.join(dir, 'hook-main.js'), 'this is not javascript (');
    const broken = await run();
    assert.equal(broken.code, 0);
    assert.equal(hookJson(broken).hookSpecificOutput.permissionDecision, 'deny');
  });
});
