/**
 * Headless Debian chromium driven by playwright-core (no browser download): a throwaway profile, nothing in
 * $HOME, and host resolution limited to 127.0.0.1 so the workbench cannot reach anything else.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumPath } from './codeServer';

export interface Browser {
  ctx: BrowserContext;
  page: Page;
  /** Origins other than 127.0.0.1 the browser tried to reach (must stay empty). */
  offHost: Set<string>;
  /** Off-host webview resource requests aborted before they were answered (a webview reloaded). */
  aborted: string[];
  consoleErrors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1440, height: 900 }): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    env: { ...process.env, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--disable-features=Translate,OptimizationHints,MediaRouter',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const offHost = new Set<string>();
  const consoleErrors: string[] = [];
  const aborted: string[] = [];
  const offHostOrigin = (url: string): string | undefined => {
    try {
      const u = new URL(url);
      return /^(https?|wss?):$/.test(u.protocol) && u.hostname !== '127.0.0.1' ? u.origin : undefined;
    } catch {
      return undefined; // data: and the like
    }
  };
  // Webview resources use https://*.vscode-cdn.net URLs that the webview's service worker answers from the
  // workbench itself; anything else off 127.0.0.1 (answered by the network, or failed) is a real attempt.
  ctx.on('requestfinished', (r) => {
    const o = offHostOrigin(r.url());
    if (o) void r.response().then((res) => !res?.fromServiceWorker() && offHost.add(`${o} (answered by ${res?.status() ?? '?'})`), () => offHost.add(o));
  });
  ctx.on('requestfailed', (r) => {
    const o = offHostOrigin(r.url());
    // A webview reloaded mid-load aborts its resource requests (net::ERR_ABORTED) before anything is resolved;
    // a real attempt to leave 127.0.0.1 fails on name resolution (--host-resolver-rules) or connecting.
    if (!o) return;
    if (r.failure()?.errorText === 'net::ERR_ABORTED') aborted.push(r.url());
    else offHost.add(`${o} (${r.failure()?.errorText ?? 'failed'})`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  return {
    ctx,
    page,
    offHost,
    aborted,
    consoleErrors,
    close: async () => {
      await ctx.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
