import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { DEFAULT_WEB_DIR } from '../../src/http/routes/dashboard.js';
import type { Event } from '../../src/schema/event.js';
import { post } from '../helpers/events.js';
import type { StoreKind } from '../helpers/stores.js';
import { waitFor } from '../helpers/process.js';

// Debian's chromium, never a downloaded browser (issue #9); .ci/run installs it when missing.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
const ROOT = new URL('../../', import.meta.url);

/**
 * The page does not depend on the engine (both speak the same API), and a fresh PostgreSQL database takes
 * ~0.1 s where a fresh embedded store takes seconds: suites use PostgreSQL when there is one. The overview
 * suite always runs on the embedded store, what `npm start` gives.
 */
export const SUITE_STORE: StoreKind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
export const SCREENSHOTS = join(ROOT.pathname, 'test-results');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds web/ into dist/web when the build is missing or older than a source file (as `npm run build` would). */
export function ensureWebBuilt(): void {
  const web = join(ROOT.pathname, 'web');
  let built: number;
  try {
    built = statSync(join(DEFAULT_WEB_DIR, 'index.html')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestMtime(web)) return;
  execFileSync(
    process.execPath,
    [join(ROOT.pathname, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(web, 'vite.config.ts'), '--logLevel', 'warn'],
    {
      cwd: ROOT.pathname,
      stdio: 'inherit',
    },
  );
}

/**
 * One headless Chromium for the enclosing describe(), on a fresh profile directory. newPage() opens a tab (its
 * own sessionStorage, so an API key entered in one tab is not seen by the next).
 */
export function browserForSuite(): { newPage(viewport?: { width: number; height: number }): Promise<Page> } {
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  // Script errors and Content-Security-Policy refusals on any page fail the suite.
  const problems: string[] = [];
  before(async () => {
    ensureWebBuilt();
    mkdirSync(SCREENSHOTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'logagg-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 1000 },
      // Not UTC, so the time filters' local-to-UTC conversion is exercised (and Jakarta, for the original brief).
      timezoneId: 'Asia/Jakarta',
    });
  });
  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
  });
  return {
    async newPage(viewport) {
      if (!context) throw new Error('the browser is not started yet: call newPage() inside a test');
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) problems.push(message.text());
      });
      return page;
    },
  };
}

/** Publishes events and fails unless all were committed. */
export async function publish(url: string, events: Event[], headers: Record<string, string> = {}): Promise<void> {
  const reply = await post<{ received: number }>(`${url}/publish`, events, { headers });
  if (reply.status !== 200 || reply.body.received !== events.length)
    throw new Error(`publish answered ${reply.status}: ${JSON.stringify(reply.body)}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the element's text (trimmed) is `expected` or matches it; the error says what it read last. */
export async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000): Promise<void> {
  let last: string | null = null;
  const matches = (text: string): boolean => (typeof expected === 'string' ? text === expected : expected.test(text));
  try {
    await waitFor(
      async () => {
        last = ((await locator.textContent({ timeout: 1000 })) ?? '').trim();
        return matches(last);
      },
      timeoutMs,
      `${String(locator)} to read ${String(expected)}`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; it last read ${JSON.stringify(last)}`, { cause: err });
  }
}

/** The dashboard's way of writing a count (en-US grouping). */
export const count = (n: number): string => n.toLocaleString('en-US');
