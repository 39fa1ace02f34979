/**
 * Runs the in-host integration suite (test/vscode/suite) through @vscode/test-electron's `runTests`, with
 * test/vscode/bin/code-test-shim as the "VS Code executable": code-server's real extension host, driven by
 * headless chromium, fully offline. The sandbox is a throwaway HOME (Claude Code settings, Agent Warden state),
 * a workspace folder and managed-file locations that point into it, so nothing on this machine is touched.
 *
 *   node out/test/vscode/runInHost.js          (npm run test:vscode builds and runs it)
 */
import { runTests } from '@vscode/test-electron';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './harness/codeServer';

async function main(): Promise<number> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-ih-'));
  const home = path.join(tmp, 'home');
  const ws = path.join(tmp, 'project');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'README.md'), '# sandbox project\n');
  fs.writeFileSync(path.join(ws, '.env'), 'API_KEY=not-a-real-key\n');
  try {
    await runTests({
      vscodeExecutablePath: path.join(ROOT, 'test', 'vscode', 'bin', 'code-test-shim'),
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'out', 'test', 'vscode', 'suite', 'index'),
      launchArgs: [ws],
      reuseMachineInstall: true,
      extensionTestsEnv: {
        HOME: home,
        AW_TEST_REPO: ROOT,
        AW_TEST_TMP: tmp,
        AW_TEST_WORKSPACE: ws,
        // Managed files (normally /etc/…) live in the sandbox: an empty Claude Code managed settings path and
        // Agent Warden's machine config, which the settings test writes.
        AGENT_WARDEN_MANAGED_SETTINGS: path.join(tmp, 'managed', 'managed-settings.json'),
        AGENT_WARDEN_MANAGED_CONFIG: path.join(tmp, 'managed', 'extension.json'),
        CLAUDE_CONFIG_DIR: '',
      },
    });
    return 0;
  } catch (e) {
    console.error(`in-host tests failed: ${(e as Error).message}`);
    return 1;
  } finally {
    if (process.env.AW_KEEP_STATE !== '1') fs.rmSync(tmp, { recursive: true, force: true });
    else console.error(`sandbox kept in ${tmp}`);
  }
}

void main().then((code) => process.exit(code));
