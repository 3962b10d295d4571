import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, count, publish, screenshot, waitForText } from './browser.js';

describe('dashboard: overview and topics', { timeout: 300_000 }, () => {
  const server = serverForSuite('pglite');
  const browser = browserForSuite();

  test('the counters match /stats and the topic table lists each topic with its counts', async () => {
    const orders = uniqueTopic('orders');
    const payments = uniqueTopic('payments');
    const ids = Array.from({ length: 5 }, (_, i) => `o-${i}`);
    // 5 new + 2 copies on one topic, 3 new on the other.
    await publish(
      server.url,
      [...ids, 'o-0', 'o-1'].map((id) => makeEvent(orders, id)),
    );
    await publish(
      server.url,
      ['p-0', 'p-1', 'p-2'].map((id) => makeEvent(payments, id)),
    );
    const stats = (await get<Stats>(`${server.url}/stats`)).body;

    const page = await browser.newPage();
    await page.goto(server.url);
    const figure = (name: string) => page.locator(`[data-figure="${name}"]`);
    await waitForText(figure('received'), count(stats.received));
    await waitForText(figure('unique'), count(stats.unique_processed));
    await waitForText(figure('duplicates'), count(stats.duplicate_dropped));
    await waitForText(figure('duplicate-rate'), `${((stats.duplicate_dropped / stats.received) * 100).toFixed(1).replace(/\.0$/, '')}%`);
    await waitForText(figure('stored'), count(stats.stored));
    await waitForText(figure('deleted'), count(stats.deleted));
    await waitForText(figure('store'), 'Embedded (PGlite)');
    await waitForText(figure('readiness'), 'Ready');
    await waitForText(figure('rejected'), '0');
    await waitForText(page.locator('#status'), /^Ready · embedded store \(PGlite\) · up \d/);
    assert.equal(await page.locator('#banner').isVisible(), false);

    for (const [topic, received, unique] of [
      [orders, 7, 5],
      [payments, 3, 3],
    ] as const) {
      const row = page.locator(`#topics-table tbody tr[data-topic="${topic}"]`);
      // The table comes from its own request (/topics), which may answer after the figures above.
      await waitForText(row.locator('td').first(), topic);
      const cells = (await row.locator('td').allTextContents()).map((text) => text.trim());
      assert.deepEqual(cells.slice(0, 5), [
        topic,
        count(received),
        count(unique),
        count(received - unique),
        received === unique ? '0%' : '28.6%',
      ]);
      assert.match(cells[6] ?? '', /ago|just now/, 'the last-event column shows when the topic last received');
    }
    await screenshot(page, 'overview');
    await page.close();
  });

  test('selecting a topic filters the counters, events and live tail to it; selecting it again shows all', async () => {
    const chosen = uniqueTopic('chosen');
    const other = uniqueTopic('other');
    await publish(
      server.url,
      ['a', 'b', 'b'].map((id) => makeEvent(chosen, id)),
    );
    await publish(
      server.url,
      ['x', 'y', 'z', 'w'].map((id) => makeEvent(other, id)),
    );
    const stats = (await get<Stats>(`${server.url}/stats`)).body;

    const page = await browser.newPage();
    await page.goto(server.url);
    const received = page.locator('[data-figure="received"]');
    await waitForText(received, count(stats.received));

    await page.getByRole('button', { name: chosen, exact: true }).click();
    await waitForText(page.locator('#filter-topic'), chosen);
    await waitForText(received, '3');
    await waitForText(page.locator('[data-figure="unique"]'), '2');
    assert.equal(await page.getByRole('button', { name: chosen, exact: true }).getAttribute('aria-pressed'), 'true');
    assert.equal(
      new URL(page.url()).hash,
      `#${new URLSearchParams({ topic: chosen }).toString()}`,
      'the filter is kept in the URL fragment',
    );
    await waitForText(page.locator('#tail-status'), `Live: topic ${chosen}.`);
    assert.equal(await page.locator('#events-form input[name="topic"]').inputValue(), chosen);
    await waitForText(page.locator('#page-info'), /\(2 events\)$/);
    const topics = await page.locator('#events-table tbody td.topic-cell').allTextContents();
    assert.deepEqual(topics, [chosen, chosen]);
    await screenshot(page, 'filtered');

    // The filter survives a reload (it lives in the fragment).
    await page.reload();
    await waitForText(page.locator('#filter-topic'), chosen);
    await waitForText(received, '3');

    await page.getByRole('button', { name: chosen, exact: true }).click();
    await waitForText(received, count(stats.received));
    assert.equal(await page.locator('#filter-bar').isVisible(), false);
    await waitForText(page.locator('#tail-status'), 'Live: all topics.');

    // And from the keyboard: focus the topic's button and press Enter.
    await page.getByRole('button', { name: other, exact: true }).focus();
    await page.keyboard.press('Enter');
    await waitForText(received, '4');
    await page.getByRole('button', { name: 'Show all topics' }).click();
    await waitForText(received, count(stats.received));
    await page.close();
  });

  test('at phone width in dark mode the page fits the screen, is dark, and every control has a label', async () => {
    await publish(server.url, [makeEvent(uniqueTopic('a-rather-long-topic-name.for-a-narrow-screen'), 'phone')]);
    const page = await browser.newPage({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(server.url);
    await waitForText(page.locator('[data-figure="readiness"]'), 'Ready');
    await waitForText(page.locator('#page-info'), /events?\)$/);
    // Evaluated in the page as source text: the test project has no DOM types.
    const layout = (await page.evaluate(`({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      background: getComputedStyle(document.body).backgroundColor,
      unlabelled: [...document.querySelectorAll('input, select, button')]
        .filter((el) => ((el.labels?.length ? el.labels[0].textContent : el.getAttribute('aria-label') ?? el.textContent) ?? '').trim() === '')
        .map((el) => el.outerHTML),
    })`)) as { overflow: number; background: string; unlabelled: string[] };
    assert.equal(layout.overflow, 0, 'the page does not scroll sideways at 390 px');
    assert.equal(layout.background, 'rgb(14, 17, 22)', 'dark background under prefers-color-scheme: dark');
    assert.deepEqual(layout.unlabelled, []);
    // The first Tab reaches the skip link, which moves focus past the live panels to the events.
    await page.keyboard.press('Tab');
    assert.equal(await page.locator(':focus').textContent(), 'Skip to events');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator(':focus').getAttribute('id'), 'events-h');
    assert.equal(new URL(page.url()).hash, '', 'the skip link leaves the fragment (the topic filter) alone');
    await screenshot(page, 'phone-dark');
    await page.close();
  });
});
