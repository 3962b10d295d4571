import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, screenshot, SUITE_STORE, waitForText } from './browser.js';

const KEY = 'dashboard-s3cret';

describe('dashboard: API key', { timeout: 300_000 }, () => {
  const server = serverForSuite(SUITE_STORE, { apiKey: KEY });
  const browser = browserForSuite();

  test('the page and its assets load without the key, and the API stays closed without it', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
    assert.ok(script, 'the page links its script');
    assert.equal((await fetch(`${server.url}${script}`)).status, 200);
    for (const path of ['/stats', '/events', '/events/stream', '/metrics']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 401, `${path} without the key`);
    }
    // Only reading the page is open: another method on it is not.
    assert.equal(
      (await fetch(`${server.url}/`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status,
      401,
    );
  });

  test('the page asks for the key, refuses a wrong one, works with the right one and keeps it for the tab', async () => {
    const topic = uniqueTopic('keyed');
    await publish(server.url, [makeEvent(topic, '1'), makeEvent(topic, '2')], { authorization: `Bearer ${KEY}` });
    const page = await browser.newPage();
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    await page.goto(server.url);

    const dialog = page.getByRole('dialog', { name: 'API key required' });
    await dialog.waitFor({ timeout: 10_000 });
    await waitForText(page.locator('#banner'), /requires an API key/);
    await screenshot(page, 'api-key-prompt');
    const input = dialog.getByLabel('API key');
    assert.equal(await page.locator(':focus').getAttribute('id'), 'key-input', 'the key field has the focus');
    await input.fill('wrong');
    await page.keyboard.press('Enter');
    await waitForText(dialog.getByRole('alert'), 'That key was refused. Check it and try again.');

    await input.fill(KEY);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await waitForText(page.locator('[data-figure="received"]'), '2');
    await waitForText(page.locator('#tail-status'), 'Live: all topics.');
    await waitForText(page.locator('#page-info'), /\(2 events\)$/);
    assert.equal(await page.locator('#banner').isVisible(), false);
    // A live event proves the stream itself carries the key.
    await publish(server.url, [makeEvent(topic, 'live')], { authorization: `Bearer ${KEY}` });
    await page.locator('#tail-list li[data-event-id="live"]').waitFor({ timeout: 10_000 });

    // The same tab keeps the key across a reload; the key never travels in a URL (where logs would keep it).
    await page.reload();
    await waitForText(page.locator('[data-figure="received"]'), '3');
    assert.equal(await dialog.isVisible(), false);
    assert.deepEqual(
      urls.filter((url) => url.includes(KEY)),
      [],
    );

    // Another tab is another session: it asks again.
    const other = await browser.newPage();
    await other.goto(server.url);
    await other.getByRole('dialog', { name: 'API key required' }).waitFor({ timeout: 10_000 });
    await other.close();
    await page.close();
  });
});
