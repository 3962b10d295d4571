import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, screenshot, SUITE_STORE, waitForText } from './browser.js';

/** The bars' counts, left (oldest) to right. */
async function barCounts(page: Page): Promise<number[]> {
  return (await page.locator('#histogram-bars .bar').evaluateAll((bars) => bars.map((bar) => bar.getAttribute('data-count')))).map(Number);
}

/** The event_ids in the events table, top (newest) to bottom. */
async function listedIds(page: Page): Promise<string[]> {
  return page.locator('#events-table tbody td.mono').allTextContents();
}

/** A datetime-local field's value as an instant read as if UTC: Chromium shortens 17:04:00.000 to 17:04. */
async function fieldTime(page: Page, name: string): Promise<string> {
  return new Date(Date.parse(`${await page.locator(`#events-form input[name="${name}"]`).inputValue()}Z`)).toISOString();
}

/** The 60 counts expected: `at` maps a bucket index to its count, every other bucket is 0. */
const sixty = (at: Record<number, number>): number[] => Array.from({ length: 60 }, (_, i) => at[i] ?? 0);

async function applyRange(page: Page, since: string, until: string): Promise<void> {
  await page.locator('#events-form input[name="since"]').fill(since);
  await page.locator('#events-form input[name="until"]').fill(until);
  await page.getByRole('button', { name: 'Apply' }).click();
}

describe('dashboard: histogram and a tail that follows the search', { timeout: 300_000 }, () => {
  const server = serverForSuite(SUITE_STORE);
  const browser = browserForSuite();

  test('the histogram counts the matching events per bar; a click or a drag narrows the list to its range', async () => {
    const topic = uniqueTopic('histogram');
    // 10:00:00Z ×3, 10:01:30Z, 10:04:00Z ×2: over 10:00–10:05 in 60 bars of 5 s, bars 0, 18 and 48.
    const at = (time: string, id: string, message: string) =>
      makeEvent(topic, id, { timestamp: `2025-10-21T${time}.000Z`, payload: { message } });
    await publish(server.url, [
      at('10:00:00', 'a', 'alpha a'),
      at('10:00:00', 'b', 'beta b'),
      at('10:00:00', 'c', 'alpha c'),
      at('10:01:30', 'd', 'alpha d'),
      at('10:04:00', 'e', 'beta e'),
      at('10:04:00', 'f', 'alpha f'),
    ]);
    const page = await browser.newPage();
    await page.goto(`${server.url}/#${new URLSearchParams({ topic }).toString()}`);
    const caption = page.locator('#histogram-caption');
    const info = page.locator('#page-info');
    // Without a range the histogram spans the topic's own events.
    await waitForText(caption, /^6 matching events, /);

    // The browser runs in Asia/Jakarta (UTC+7): 17:00 there is 10:00Z.
    await applyRange(page, '2025-10-21T17:00:00', '2025-10-21T17:05:00');
    await waitForText(caption, /^6 matching events, 5 s per bar \(at most 3\)/);
    assert.deepEqual(await barCounts(page), sixty({ 0: 3, 18: 1, 48: 2 }));
    await screenshot(page, 'histogram');

    await page.locator('#events-form input[name="q"]').fill('alpha');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitForText(caption, /^4 matching events, 5 s per bar/);
    assert.deepEqual(await barCounts(page), sixty({ 0: 2, 18: 1, 48: 1 }));

    // A click: the range becomes that bar's, [10:04:00, 10:04:05).
    await page.locator('#histogram-bars .bar[data-index="48"]').click();
    await waitForText(info, /\(1 event\)$/);
    assert.deepEqual(await listedIds(page), ['f']);
    assert.equal(await fieldTime(page, 'since'), '2025-10-21T17:04:00.000Z');
    assert.equal(await fieldTime(page, 'until'), '2025-10-21T17:04:05.000Z');
    await waitForText(caption, /^1 matching event, /);

    // A drag from bar 0 to bar 18: [10:00:00, 10:01:35).
    await page.locator('#events-form input[name="q"]').fill('');
    await applyRange(page, '2025-10-21T17:00:00', '2025-10-21T17:05:00');
    await waitForText(caption, /^6 matching events, 5 s per bar/);
    await page.locator('#histogram-bars .bar[data-index="0"]').dragTo(page.locator('#histogram-bars .bar[data-index="18"]'));
    await waitForText(info, /\(4 events\)$/);
    assert.deepEqual(await listedIds(page), ['d', 'c', 'b', 'a']);
    assert.equal(await fieldTime(page, 'until'), '2025-10-21T17:01:35.000Z');
    await waitForText(caption, /^4 matching events, /);
    await page.close();
  });

  test('the live tail follows the applied search and source: only matching new events appear', async () => {
    const topic = uniqueTopic('tail-search');
    const page = await browser.newPage();
    await page.goto(`${server.url}/#${new URLSearchParams({ topic }).toString()}`);
    const status = page.locator('#tail-status');
    await waitForText(status, `Live: topic ${topic}.`);
    await page.locator('#events-form input[name="q"]').fill('wanted');
    await page.locator('#events-form input[name="source"]').fill('svc-a');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitForText(status, `Live: topic ${topic}, matching wanted source:"svc-a".`);

    const event = (id: string, source: string, message: string) => makeEvent(topic, id, { source, payload: { message } });
    const rows = page.locator('#tail-list li');
    // The stream answers before it has subscribed; a match seen end to end proves the subscription is in place.
    // A miss is retried after a second: a second warm-up (at most a few) is a match too.
    let warmUps = 0;
    await waitFor(
      async () => {
        await publish(server.url, [event(`warm-up-${warmUps++}`, 'svc-a', 'wanted warm-up')]);
        return rows
          .first()
          .waitFor({ timeout: 1000 })
          .then(() => true);
      },
      20_000,
      'a matching event in the tail',
    );
    await publish(server.url, [event('other-word', 'svc-a', 'something else'), event('other-source', 'svc-b', 'wanted elsewhere')]);
    await publish(server.url, [event('hit', 'svc-a', 'Wanted here')]);
    await page.locator('#tail-list li[data-event-id="hit"]').waitFor({ timeout: 10_000 });
    const ids = await rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-event-id') ?? ''));
    assert.equal(ids[0], 'hit', 'newest on top');
    assert.ok(
      ids.slice(1).every((id) => id.startsWith('warm-up-')),
      `only matching events: ${ids.join(', ')}`,
    );
    await page.close();
  });
});
