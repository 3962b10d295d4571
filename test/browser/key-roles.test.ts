import { describe, test } from 'node:test';
import { hashKey } from '../../src/schema/keys.js';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, waitForText } from './browser.js';

const [WRITER, READER] = ['shipper-key-0123456789', 'grafana-key-0123456789'];

describe('dashboard: keys with roles', { timeout: 300_000 }, () => {
  const keys = `shipper write * ${hashKey(WRITER)}; grafana read * ${hashKey(READER)}`;
  const server = serverForSuite('pglite', { keys });
  const browser = browserForSuite();

  test('a write key is told it may not read (the server names its role); a read key then shows the figures', async () => {
    const topic = uniqueTopic('roles');
    await publish(server.url, [makeEvent(topic, '1')], { authorization: `Bearer ${WRITER}` });
    const page = await browser.newPage();
    await page.goto(server.url);
    const dialog = page.getByRole('dialog', { name: 'API key required' });
    await dialog.getByLabel('API key').fill(WRITER);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await waitForText(page.locator('#status'), 'Key not allowed');
    await waitForText(page.locator('#banner'), /has role write; this request needs read/);

    await page.locator('#key-button').click();
    await dialog.getByLabel('API key').fill(READER);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await waitForText(page.locator('[data-figure="received"]'), '1');
    await page.close();
  });
});
