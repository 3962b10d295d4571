import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { hashKey } from '../../src/schema/keys.js';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, waitForText } from './browser.js';

// The dashboard's tenant field: every request of the page names the tenant (X-Scope-OrgID), so the figures, the
// events browser and the live tail show that tenant's data and nobody else's.

const as = (tenant: string): Record<string, string> => ({ 'x-scope-orgid': tenant });

async function chooseTenant(page: Page, tenant: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Tenant' }).fill(tenant);
  await page.getByRole('textbox', { name: 'Tenant' }).press('Enter');
}

const shownIds = (page: Page): Promise<string[]> => page.locator('#events-table tbody tr td.mono').allTextContents();

describe('dashboard: the tenant field', { timeout: 300_000 }, () => {
  const server = serverForSuite('pglite');
  const browser = browserForSuite();

  test("the figures, the events and the live tail are the chosen tenant's; the choice survives a reload", async () => {
    const [acmeTopic, globexTopic] = [uniqueTopic('acme'), uniqueTopic('globex')];
    await publish(server.url, [makeEvent(acmeTopic, 'acme-1'), makeEvent(acmeTopic, 'acme-2')], as('acme'));
    await publish(server.url, [makeEvent(globexTopic, 'globex-1')], as('globex'));
    const page = await browser.newPage();
    await page.goto(server.url);
    // No tenant chosen: `default`, which holds nothing here.
    await waitForText(page.locator('[data-figure="received"]'), '0');

    await chooseTenant(page, 'acme');
    await waitForText(page.locator('[data-figure="received"]'), '2');
    await waitFor(async () => JSON.stringify((await shownIds(page)).sort()) === '["acme-1","acme-2"]', 10_000, "acme's events listed");
    await waitForText(page.locator('#tail-status'), /Live/);
    await publish(server.url, [makeEvent(globexTopic, 'globex-live')], as('globex'));
    await publish(server.url, [makeEvent(acmeTopic, 'acme-live')], as('acme'));
    await waitForText(page.locator('#tail-list'), /acme-live/);
    assert.doesNotMatch((await page.locator('#tail-list').textContent()) ?? '', /globex/);

    await chooseTenant(page, 'globex');
    await waitForText(page.locator('[data-figure="received"]'), '2');
    // acme's page also held two events: wait for the list itself to change, not for its caption.
    const globex = JSON.stringify(['globex-1', 'globex-live']);
    await waitFor(async () => JSON.stringify((await shownIds(page)).sort()) === globex, 10_000, "globex's events listed");
    // The tail started over: acme's rows are gone.
    assert.doesNotMatch((await page.locator('#tail-list').textContent()) ?? '', /acme/);

    await page.reload();
    assert.equal(await page.getByRole('textbox', { name: 'Tenant' }).inputValue(), 'globex');
    await waitFor(async () => JSON.stringify((await shownIds(page)).sort()) === globex, 10_000, "globex's events after the reload");
    await page.close();
  });
});

describe('dashboard: the tenant field with a key bound to a tenant', { timeout: 300_000 }, () => {
  const KEY = 'acme-reader-key-0123456789';
  const server = serverForSuite('pglite', {
    keys: `acme-reader read acme ${hashKey(KEY)}; shipper write * ${hashKey('w-0123456789abcdef')}`,
  });
  const browser = browserForSuite();

  test("another tenant is refused with the server's words; clearing the field reads the key's own again", async () => {
    const topic = uniqueTopic('bound');
    await publish(server.url, [makeEvent(topic, 'own-1')], { authorization: 'Bearer w-0123456789abcdef', ...as('acme') });
    const page = await browser.newPage();
    await page.goto(server.url);
    const dialog = page.getByRole('dialog', { name: 'API key required' });
    await dialog.getByLabel('API key').fill(KEY);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await waitForText(page.locator('[data-figure="received"]'), '1');

    await chooseTenant(page, 'globex');
    await waitForText(page.locator('#banner'), /bound to tenant "acme"; X-Scope-OrgID names "globex"/);
    await chooseTenant(page, '');
    await waitFor(async () => JSON.stringify(await shownIds(page)) === '["own-1"]', 10_000, "the key's own tenant's event");
    await page.close();
  });
});
