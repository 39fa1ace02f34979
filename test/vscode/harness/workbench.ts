/**
 * Driving the VS Code workbench like a user, with playwright-core: the status bar, the activity bar, the
 * command palette, quick picks and input boxes, notifications, tree rows and webviews. Screenshots go to
 * test-artifacts/vscode/ (git-ignored).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { ARTIFACTS } from './codeServer';

export const T = { short: 15_000, long: 60_000 };

export async function waitForWorkbench(page: Page): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: T.long });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: T.long });
  await page.locator('.part.activitybar').waitFor({ state: 'visible', timeout: T.long });
}

export function statusItem(page: Page, text: string | RegExp): Locator {
  return page.locator('.part.statusbar .statusbar-item', { hasText: text }).first();
}

export async function statusText(page: Page, id = 'agent-warden.agent-warden.agentWarden.status'): Promise<string> {
  const byId = page.locator(`.part.statusbar [id="${id}"]`);
  if (await byId.count()) return (await byId.first().innerText()).trim();
  return (await statusItem(page, /Warden/).innerText()).trim();
}

export async function openContainer(page: Page, title: string): Promise<void> {
  const a = page.locator(`.part.activitybar .action-item a[aria-label^="${title}"], .part.activitybar .action-item[aria-label^="${title}"]`).first();
  await a.waitFor({ state: 'visible', timeout: T.short });
  const expanded = await page.locator('.part.sidebar .composite.title', { hasText: title.toUpperCase() }).count();
  if (!expanded) await a.click();
  await page.locator('.part.sidebar').waitFor({ state: 'visible', timeout: T.short });
}

export function pane(page: Page, header: RegExp): Locator {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: header }) }).first();
}

const quickInput = (page: Page): Locator => page.locator('.quick-input-widget');

/** Move keyboard focus back to the workbench (out of a webview iframe, which keeps its own keys). */
export async function focusWorkbench(page: Page): Promise<void> {
  const title = page.locator('.part.sidebar .composite.title .title-label').first();
  if (await title.isVisible().catch(() => false)) await title.click();
  else await page.locator('.part.statusbar').click({ position: { x: 400, y: 10 } }).catch(() => undefined);
}

export async function runCommand(page: Page, label: string): Promise<void> {
  await page.keyboard.press('Escape');
  await focusWorkbench(page);
  await page.keyboard.press('F1');
  const input = quickInput(page).locator('input');
  await input.waitFor({ state: 'visible', timeout: T.short });
  await input.fill(`>${label}`);
  await quickInput(page).locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: T.short });
  await page.keyboard.press('Enter');
}

/** Wait for a quick pick titled `title`, then choose the row containing `row`. */
export async function pick(page: Page, title: string | RegExp, row: string | RegExp): Promise<void> {
  await quickInput(page).locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: T.short });
  const r = quickInput(page).locator('.quick-input-list .monaco-list-row', { hasText: row }).first();
  await r.waitFor({ state: 'visible', timeout: T.short });
  await r.click();
}

/** Wait for an input box titled `title`, type `text`, press Enter. */
export async function type(page: Page, title: string | RegExp, text: string): Promise<void> {
  await quickInput(page).locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: T.short });
  const input = quickInput(page).locator('.quick-input-box input');
  await input.fill(text);
  // validation runs on input: wait until no error message is shown
  await page.waitForTimeout(150);
  await page.keyboard.press('Enter');
}

export function notification(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
}

export async function clearNotifications(page: Page): Promise<void> {
  for (const b of await page.locator('.notifications-toasts .notification-list-item .codicon-notifications-clear').all()) await b.click().catch(() => undefined);
}

/** The content frame of the webview panel whose tab reads `tab`. */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.waitForTimeout(250);
  await page.screenshot({ path: file });
  return file;
}
