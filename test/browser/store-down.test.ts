import { describe, test } from 'node:test';
import pg from 'pg';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { startServer } from '../helpers/server.js';
import { freshStore } from '../helpers/stores.js';
import { browserForSuite, publish, screenshot, waitForText } from './browser.js';

const skip = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL (a PostgreSQL database it can close to connections)';

/** Runs one statement as the admin user of TEST_DATABASE_URL. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('dashboard: store outage', { timeout: 300_000 }, () => {
  const browser = browserForSuite();

  test('the page says plainly that the store is down and recovers by itself when it returns', { skip }, async (t) => {
    const location = await freshStore('postgres');
    const server = await startServer(location);
    const database = new URL(location.databaseUrl ?? '').pathname.slice(1);
    t.after(async () => {
      await admin(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      await server.stop();
      await location.destroy();
    });
    await publish(server.url, [makeEvent(uniqueTopic('outage'), '1')]);
    const page = await browser.newPage();
    await page.goto(server.url);
    const status = page.locator('#status');
    await waitForText(status, /^Ready · PostgreSQL · up/);

    // Only this test's database goes away (the cluster is shared): refuse new connections, end the open ones.
    await admin(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}'`);
    await waitForText(page.locator('#banner'), /^The store is unavailable: publishes are refused with 503 until it returns\./);
    await waitForText(status, 'Store unavailable');
    await waitForText(page.locator('[data-figure="readiness"]'), 'Not ready');
    await screenshot(page, 'store-down');

    await admin(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    await waitForText(status, /^Ready · PostgreSQL · up/, 20_000);
    await waitForText(page.locator('[data-figure="readiness"]'), 'Ready');
    await page.locator('#banner').waitFor({ state: 'hidden' });
    await page.close();
  });
});
