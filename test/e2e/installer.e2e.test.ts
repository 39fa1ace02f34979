/**
 * The installer and doctor on the machine's real default paths, without touching them: in a private mount
 * namespace (`unshare -rnm`) with an overlay on /etc, `warden install --scope managed` writes
 * /etc/claude-code/managed-settings.json (the default Linux path, no override), `warden doctor` finds it
 * there and probes it, and `warden uninstall` takes it out again. The real /etc is never written.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, ROOT, tempDir } from '../hook/support';
import { namespaces } from './support/harness';

describe('installer on the default managed path (overlay on /etc)', function () {
  this.timeout(60_000);

  it('install → doctor → uninstall round trip on /etc/claude-code/managed-settings.json, keeping an admin\'s settings', function () {
    if (process.platform !== 'linux' || !namespaces().overlay) this.skip();
    const root = tempDir('aw-e2e-managed-');
    const up = path.join(root, 'up');
    const work = path.join(root, 'work');
    const home = path.join(root, 'home');
    for (const d of [path.join(up, 'claude-code'), work, home]) fs.mkdirSync(d, { recursive: true });
    const admin = { permissions: { disableBypassPermissionsMode: 'disable' }, env: { HTTPS_PROXY: 'http://proxy.internal:3128' } };
    fs.writeFileSync(path.join(up, 'claude-code', 'managed-settings.json'), JSON.stringify(admin, null, 2));
    const node = process.execPath;
    const script = [
      'set -e',
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${up},workdir=${work} /etc`,
      `"${node}" "${CLI}" install --scope managed --json > "${root}/install.json"`,
      `cp /etc/claude-code/managed-settings.json "${root}/installed.json"`,
      `"${node}" "${CLI}" doctor --json --dir "${root}" > "${root}/doctor.json" || true`,
      `"${node}" "${CLI}" uninstall --scope managed > "${root}/uninstall.txt"`,
      `cp /etc/claude-code/managed-settings.json "${root}/after.json"`,
    ].join('\n');
    const r = spawnSync('unshare', ['-rnm', 'sh', '-c', script], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home }, cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);

    const inst = JSON.parse(fs.readFileSync(path.join(root, 'install.json'), 'utf8'));
    assert.equal(inst.file, '/etc/claude-code/managed-settings.json');
    const installed = JSON.parse(fs.readFileSync(path.join(root, 'installed.json'), 'utf8'));
    assert.equal(installed.allowManagedHooksOnly, true);
    assert.equal(installed.permissions.disableBypassPermissionsMode, 'disable');
    assert.deepEqual(installed.env, admin.env);

    const doc = JSON.parse(fs.readFileSync(path.join(root, 'doctor.json'), 'utf8'));
    assert.equal(doc.ok, true, JSON.stringify(doc.issues, null, 2));
    const managed = doc.layers.find((l: any) => l.scope === 'managed');
    assert.equal(managed.file, '/etc/claude-code/managed-settings.json');
    assert.equal(managed.allowManagedHooksOnly, true);
    assert.equal(managed.commands[0].probe.denied, true);
    assert.equal(doc.bypassPermissionsMode, 'disabled');

    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, 'after.json'), 'utf8')), admin, 'uninstall restores the admin\'s file');
    assert.ok(!fs.existsSync('/etc/claude-code/managed-settings.json') || !fs.readFileSync('/etc/claude-code/managed-settings.json', 'utf8').includes('--agent-warden'), 'the real /etc was written');
    fs.rmSync(root, { recursive: true, force: true });
  });
});
