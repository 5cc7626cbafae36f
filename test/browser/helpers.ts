/**
 * Browser-test helpers: Debian's Chromium through playwright-core (headless, no network but the local
 * server), screenshots under test-artifacts/browser, and waits on DOM state (never sleeps).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { makeStack, type Stack } from '../helpers/stack.js';

export const ARTIFACTS = join('test-artifacts', 'browser');

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-extensions',
      '--no-first-run',
    ],
  });
}

/** A page that may talk to the local server only: any other request fails the test. */
export async function localPage(browser: Browser, origin: string, outside: string[]): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.route(
    (url) => url.origin !== origin,
    (route) => {
      outside.push(route.request().url());
      return route.abort();
    },
  );
  return ctx.newPage();
}

export interface BrowserSuite {
  readonly browser: Browser;
  /** A stack (server, emulator, virtual clock) closed after the test. */
  stack(opts?: Parameters<typeof makeStack>[0]): Promise<Stack>;
  /** A fresh context's page that may only talk to `origin`. */
  page(origin: string): Promise<Page>;
}

/**
 * One Chromium for a test file; after each test its pages and stack are closed, and the test fails if a
 * page tried to reach anything outside the server.
 */
export function browserSuite(): BrowserSuite {
  let browser: Browser | undefined;
  let stack: Stack | undefined;
  const outside: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const ctx of browser?.contexts() ?? []) await ctx.close();
    await stack?.close();
    stack = undefined;
    expect(outside).toEqual([]); // the pages never reach outside the server
  });
  const live = (): Browser => {
    if (!browser) throw new Error('browserSuite: Chromium is not running (use it inside a test)');
    return browser;
  };
  return {
    get browser() {
      return live();
    },
    async stack(opts) {
      stack = await makeStack(opts);
      return stack;
    },
    page: (origin) => localPage(live(), origin, outside),
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Wait until the element's text matches. */
export async function waitText(page: Page, selector: string, re: RegExp, timeout = 20_000): Promise<string> {
  await page.waitForFunction(
    ([sel, src, flags]) => new RegExp(src!, flags).test(document.querySelector(sel!)?.textContent ?? ''),
    [selector, re.source, re.flags],
    { timeout },
  );
  return (await page.textContent(selector)) ?? '';
}

/** Press Tab (only Tab) until the focused element matches `selector`. */
export async function tabTo(page: Page, selector: string, max = 40): Promise<void> {
  for (let i = 0; i <= max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

/**
 * Move virtual time in steps until `cond` holds, giving real time to messages on the wire (agent
 * socket, browser) before each step, so time never runs past a deadline the page is about to meet.
 */
export async function advanceUntil(
  s: Stack,
  cond: () => Promise<boolean>,
  o: { stepMs?: number; maxMs?: number; what?: string } = {},
): Promise<void> {
  const start = s.clock.now();
  const max = o.maxMs ?? 300_000;
  for (;;) {
    await s.emu.settle();
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
    if (await cond()) return;
    if (s.clock.now() - start >= max) throw new Error(`advanceUntil: ${o.what ?? 'condition'} not met after ${max} ms of virtual time`);
    await s.clock.advance(o.stepMs ?? 1000, () => s.emu.settle());
  }
}

/** The element's text matches `re` now. */
export async function hasText(page: Page, selector: string, re: RegExp): Promise<boolean> {
  return re.test((await page.textContent(selector).catch(() => null)) ?? '');
}
