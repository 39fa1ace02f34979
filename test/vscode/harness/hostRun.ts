/**
 * Runs the extension's in-host mocha suite in code-server's remote Node extension host: the workbench takes
 * extensionDevelopmentPath / extensionTestsPath from its `?payload=` URL parameter, loads the test runner in
 * the extension host, and calls `window.codeAutomationExit(code)` when `run()` settles. Extension-host
 * console output (mocha's report) is forwarded through `window.codeAutomationLog`.
 *
 * Exit codes: 0 pass, 1 fail, 3 the workbench ignored the payload, 124 timeout.
 */
import * as util from 'node:util';
import { launchBrowser } from './browser';
import { startCodeServer, workbenchUrl } from './codeServer';

export interface HostRunOptions {
  devPath: string;
  testsPath: string;
  folder?: string;
  stateDir: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  userSettings?: Record<string, unknown>;
}

const NOISE = /Ignoring fetching additional builtin|Creating a socket|connection token|Service Worker|ChatSessionStore|Updating additional builtin|\[Extension Host\] (?:Extension host|Extension Host)/;

export async function runInHost(o: HostRunOptions): Promise<number> {
  const cs = await startCodeServer({ stateDir: o.stateDir, ...(o.env ? { env: o.env } : {}), ...(o.userSettings ? { userSettings: o.userSettings } : {}) });
  const b = await launchBrowser();
  const log = (...a: unknown[]): void => console.error('[host-run]', ...a);
  try {
    const done = new Promise<number>((resolve) => void b.page.exposeFunction('codeAutomationExit', (code: number) => resolve(Number(code))));
    await b.page.exposeFunction('codeAutomationLog', (_type: string, args: unknown) => {
      const line = util.format(...(Array.isArray(args) ? args : [args]));
      if (!NOISE.test(line)) console.log(line.replace(/%c/g, ''));
    });
    const url = workbenchUrl(cs, { devPath: o.devPath, testsPath: o.testsPath, ...(o.folder ? { folder: o.folder } : {}) });
    await b.page.goto(url, { waitUntil: 'domcontentloaded' });
    const notDev = (async (): Promise<number> => {
      await b.page.locator('.monaco-workbench').waitFor({ state: 'attached', timeout: 60_000 });
      try {
        await b.page.waitForFunction('document.title.includes("Extension Development Host")', null, { timeout: 30_000 });
      } catch {
        log(`the workbench is not in extension development mode (title ${JSON.stringify(await b.page.title())}): the payload was ignored`);
        return 3;
      }
      return new Promise<number>(() => undefined);
    })();
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(124), o.timeoutMs ?? 300_000).unref());
    const code = await Promise.race([done, notDev, timeout]);
    if (code === 124) log('no result before the timeout');
    if (b.aborted.length) log(`aborted webview resource loads (not network attempts): ${b.aborted.length}, e.g. ${b.aborted[0]}`);
    if (b.offHost.size) {
      log(`the browser tried to reach other hosts: ${[...b.offHost].join(', ')}`);
      return code || 1;
    }
    return code;
  } finally {
    await b.close();
    await cs.stop();
  }
}
