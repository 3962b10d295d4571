import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { StoredEvent } from '../../src/schema/event.js';
import { get, makeEvent, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, SUITE_STORE, waitForText } from './browser.js';

/** The seqs in the events table, top to bottom. */
async function shownSeqs(page: Page): Promise<number[]> {
  return (await page.locator('#events-table tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-seq')))).map(Number);
}

describe('dashboard: events browser', { timeout: 300_000 }, () => {
  const server = serverForSuite(SUITE_STORE);
  const browser = browserForSuite();

  test('the search box filters the page with q, and a q that cannot be answered says where', async () => {
    const topic = uniqueTopic('search-box');
    await publish(server.url, [
      makeEvent(topic, 'hit', { payload: { message: 'Payment declined for order 42' } }),
      makeEvent(topic, 'miss', { payload: { message: 'payment accepted' } }),
    ]);
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.locator('#events-form input[name="topic"]').fill(topic);
    await page.locator('#events-form input[name="q"]').fill('payment -accepted');
    await page.getByRole('button', { name: 'Apply' }).click();
    const info = page.locator('#page-info');
    await waitForText(info, /\(1 event\)$/);
    assert.deepEqual(await page.locator('#events-table tbody tr td.mono').allTextContents(), ['hit']);
    await page.locator('#events-form input[name="q"]').fill('"unclosed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitForText(info, /position 0/);
    await page.close();
  });

  test('pages back and forward through a topic by cursor, newest first, without gaps or repeats', async () => {
    const topic = uniqueTopic('paging');
    await publish(
      server.url,
      Array.from({ length: 60 }, (_, i) => makeEvent(topic, `e-${i}`)),
    );
    // Another topic's events interleave in seq: the pages must skip them.
    await publish(server.url, [makeEvent(uniqueTopic('noise'), 'n')]);
    await publish(
      server.url,
      Array.from({ length: 5 }, (_, i) => makeEvent(topic, `late-${i}`)),
    );
    const stored = (await get<StoredEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}&limit=1000`)).body.map((e) => e.seq);
    assert.equal(stored.length, 65);
    const newestFirst = stored.toReversed();

    const page = await browser.newPage();
    await page.goto(server.url);
    await page.locator('#events-form input[name="topic"]').fill(topic);
    await page.locator('#events-form select[name="limit"]').selectOption('25');
    await page.getByRole('button', { name: 'Apply' }).click();
    const info = page.locator('#page-info');
    const pager = (name: string) => page.locator(`#events-pager [data-page="${name}"]`);

    await waitForText(info, /\(25 events\)$/);
    assert.deepEqual(await shownSeqs(page), newestFirst.slice(0, 25), 'the first page is the newest 25');
    assert.equal(await pager('newer').isDisabled(), true);
    await pager('older').click();
    await waitForText(info, `seq ${newestFirst[49]} – ${newestFirst[25]} (25 events)`);
    assert.deepEqual(await shownSeqs(page), newestFirst.slice(25, 50));
    await pager('older').click();
    await waitForText(info, /\(15 events\)$/);
    assert.deepEqual(await shownSeqs(page), newestFirst.slice(50));
    assert.equal(await pager('older').isDisabled(), true, 'no older page past the first event');
    await pager('newer').click();
    await waitForText(info, /\(25 events\)$/);
    assert.deepEqual(await shownSeqs(page), newestFirst.slice(25, 50), 'forward again: the same page as on the way back');
    await pager('newer').click();
    await waitForText(info, `seq ${newestFirst[24]} – ${newestFirst[0]} (25 events)`);
    assert.equal(await pager('newer').isDisabled(), true);

    await pager('oldest').click();
    await waitForText(info, `seq ${stored[0]} – ${stored[24]} (25 events)`);
    assert.equal(await pager('older').isDisabled(), true);
    await pager('newer').click();
    await waitForText(info, `seq ${stored[25]} – ${stored[49]} (25 events)`);
    await pager('newest').click();
    await waitForText(info, `seq ${newestFirst[24]} – ${newestFirst[0]} (25 events)`);
    await page.close();
  });

  test('filters by source and by a time range in local time, and shows a payload as formatted JSON', async () => {
    const topic = uniqueTopic('filters');
    // One event per second from 10:00:00Z, alternating between two sources.
    const events = Array.from({ length: 10 }, (_, i) =>
      makeEvent(topic, `f-${i}`, {
        source: i % 2 === 0 ? 'svc-even' : 'svc-odd',
        timestamp: `2025-10-21T10:00:0${i}.000Z`,
        payload: { content: `line ${i}`, metadata: { index: i, tags: ['a', 'b'] } },
      }),
    );
    await publish(server.url, events);

    const page = await browser.newPage();
    await page.goto(`${server.url}/#${new URLSearchParams({ topic }).toString()}`);
    const info = page.locator('#page-info');
    await waitForText(info, /\(10 events\)$/);

    await page.locator('#events-form input[name="source"]').fill('svc-odd');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitForText(info, /\(5 events\)$/);
    const ids = await page.locator('#events-table tbody td.mono').allTextContents();
    assert.deepEqual(ids, ['f-9', 'f-7', 'f-5', 'f-3', 'f-1']);

    // The browser runs in Asia/Jakarta (UTC+7): 17:00:03 there is 10:00:03Z. since is inclusive, until exclusive.
    await page.locator('#events-form input[name="since"]').fill('2025-10-21T17:00:03');
    await page.locator('#events-form input[name="until"]').fill('2025-10-21T17:00:08');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitForText(info, /\(3 events\)$/);
    assert.deepEqual(await page.locator('#events-table tbody td.mono').allTextContents(), ['f-7', 'f-5', 'f-3']);
    const times = await page.locator('#events-table tbody time').allTextContents();
    assert.deepEqual(times, ['2025-10-21 17:00:07.000', '2025-10-21 17:00:05.000', '2025-10-21 17:00:03.000']);

    const payload = page.locator('#events-table tbody tr').first().locator('details');
    await payload.locator('summary').click();
    await waitForText(payload.locator('pre'), JSON.stringify(events[7]?.payload, null, 2));

    await page.getByRole('button', { name: 'Reset' }).click();
    await waitForText(info, /events\)$/);
    assert.equal(await page.locator('#events-form input[name="source"]').inputValue(), '');
    await page.close();
  });
});
