/**
 * The real VS Code workbench for tests, offline (research/vscode-testing.md): code-server from npm
 * (installed by scripts/install-vscode-deps.sh into .cache/vscode/), started on 127.0.0.1 with a fresh user
 * data directory, no marketplace, no telemetry, proxies pointing at a dead local port, and its own process
 * group so stopping it also ends the extension host it forked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../..');
export const CODE_SERVER_VERSION = process.env.CODE_SERVER_VERSION ?? '4.100.3';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'vscode');

export function codeServerBin(): string {
  const bin = process.env.CODE_SERVER_BIN ?? path.join(process.env.AGENT_WARDEN_VSCODE_CACHE ?? path.join(ROOT, '.cache', 'vscode'), `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
  if (!fs.existsSync(bin)) throw new Error(`code-server ${CODE_SERVER_VERSION} is not installed (${bin}): run \`bash scripts/install-vscode-deps.sh\``);
  return bin;
}

export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(p)) throw new Error(`chromium not found at ${p}: run \`bash scripts/install-vscode-deps.sh\` (Debian's chromium)`);
  return p;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** User settings that keep the workbench quiet and offline. */
export const OFFLINE_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'npm.fetchOnlinePackageInfo': false,
  'json.schemaDownload.enable': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'chat.commandCenter.enabled': false,
  'git.autofetch': false,
  'git.enabled': false,
  'window.commandCenter': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.layoutControl.enabled': false,
};

/** Environment for code-server and everything it forks: no gallery, stray HTTP goes to a dead local port. */
export function offlineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dead = 'http://127.0.0.1:9';
  return {
    ...process.env,
    EXTENSIONS_GALLERY: '{}',
    http_proxy: dead,
    https_proxy: dead,
    HTTP_PROXY: dead,
    HTTPS_PROXY: dead,
    no_proxy: '127.0.0.1,localhost',
    NO_PROXY: '127.0.0.1,localhost',
    CS_DISABLE_FILE_DOWNLOADS: '1',
    ...extra,
  };
}

export interface CodeServer {
  url: string;
  port: number;
  userDataDir: string;
  log: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Directory for code-server's config, user data, extensions and log. Keep it short (IPC socket path < 108). */
  stateDir: string;
  /** Environment of code-server and the extension host (HOME, AGENT_WARDEN_*…). */
  env?: NodeJS.ProcessEnv;
  userSettings?: Record<string, unknown>;
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

export async function startCodeServer(o: StartOptions): Promise<CodeServer> {
  const bin = codeServerBin();
  fs.mkdirSync(o.stateDir, { recursive: true });
  const userDataDir = path.join(o.stateDir, 'ud');
  const extensionsDir = path.join(o.stateDir, 'ext');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...OFFLINE_SETTINGS, ...o.userSettings }, null, 2));
  const config = path.join(o.stateDir, 'config.yaml');
  fs.writeFileSync(config, '');
  const port = await freePort();
  const log = path.join(o.stateDir, 'code-server.log');
  const out = fs.openSync(log, 'a');
  const proc = spawn(
    bin,
    ['--config', config, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened'],
    { env: offlineEnv({ XDG_CACHE_HOME: path.join(o.stateDir, 'xdg-cache'), XDG_CONFIG_HOME: path.join(o.stateDir, 'xdg-config'), ...o.env }), stdio: ['ignore', out, out], detached: true },
  );
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.pid === undefined) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 5000);
    await gone;
    clearTimeout(t);
    // the extension host and pty host are in the same group; make sure none is left
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* all gone */
    }
  };
  const deadline = Date.now() + 60_000;
  while ((await get(`${url}/healthz`)) !== 200) {
    if (proc.exitCode !== null) throw new Error(`code-server exited (${proc.exitCode}); log:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url}/healthz within 60 s; log:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, userDataDir, log, proc, stop };
}

/** The workbench URL: a folder, and the extension under development (and its tests) through `?payload=`. */
export function workbenchUrl(cs: Pick<CodeServer, 'url'>, o: { folder?: string; devPath?: string; testsPath?: string }): string {
  const authority = new URL(cs.url).host;
  const remote = (p: string): string => `vscode-remote://${authority}${path.resolve(p)}`;
  const payload: [string, string][] = [];
  if (o.devPath) payload.push(['extensionDevelopmentPath', remote(o.devPath)]);
  if (o.testsPath) payload.push(['extensionTestsPath', remote(o.testsPath)]);
  const q: string[] = [];
  if (payload.length) q.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  q.push(o.folder ? `folder=${encodeURIComponent(path.resolve(o.folder))}` : 'ew=true');
  return `${cs.url}/?${q.join('&')}`;
}
