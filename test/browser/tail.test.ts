import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, count, publish, screenshot, SUITE_STORE, waitForText } from './browser.js';

/** The event_ids in the live tail, top (newest) to bottom. */
async function tailIds(page: Page): Promise<string[]> {
  return page.locator('#tail-list li').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-event-id') ?? ''));
}

async function openOnTopic(page: Page, url: string, topic: string): Promise<void> {
  await page.goto(`${url}/#${new URLSearchParams({ topic }).toString()}`);
  await waitForText(page.locator('#tail-status'), `Live: topic ${topic}.`);
}

/** Open live-stream connections on the server, from /metrics. */
async function streamSubscribers(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^logagg_stream_subscribers (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('dashboard: live tail', { timeout: 300_000 }, () => {
  const server = serverForSuite(SUITE_STORE);
  const browser = browserForSuite();

  test('a newly published event appears in the live tail within 2 s', async () => {
    const topic = uniqueTopic('tail');
    const page = await browser.newPage();
    await openOnTopic(page, server.url, topic);
    // The stream answers before it has subscribed; an event seen end to end proves the subscription is in place.
    await publish(server.url, [makeEvent(topic, 'warm-up')]);
    await page.locator('#tail-list li[data-event-id="warm-up"]').waitFor({ timeout: 10_000 });

    await publish(server.url, [makeEvent(topic, 'fresh', { payload: { content: 'hello from the test' } })]);
    const row = page.locator('#tail-list li[data-event-id="fresh"]');
    await row.waitFor({ timeout: 2000 });
    assert.match((await row.textContent()) ?? '', /hello from the test/);
    assert.deepEqual(await tailIds(page), ['fresh', 'warm-up'], 'newest on top');
    await page.close();
  });

  test('pausing closes the stream and resuming continues after the last seq shown, losing and repeating nothing', async () => {
    const topic = uniqueTopic('pause');
    const page = await browser.newPage();
    const resumedFrom: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/events/stream') resumedFrom.push(request.headers()['last-event-id']);
    });
    await openOnTopic(page, server.url, topic);
    await publish(server.url, [makeEvent(topic, 'before-0')]);
    await page.locator('#tail-list li[data-event-id="before-0"]').waitFor({ timeout: 10_000 });
    await publish(
      server.url,
      ['before-1', 'before-2'].map((id) => makeEvent(topic, id)),
    );
    await page.locator('#tail-list li[data-event-id="before-2"]').waitFor({ timeout: 10_000 });
    const subscribersLive = await streamSubscribers(server.url);

    await page.getByRole('button', { name: 'Pause' }).click();
    const lastShown = await page.locator('#tail-list li').first().getAttribute('data-seq');
    await waitForText(page.locator('#tail-status'), `Paused after seq ${lastShown}. Resume continues from there without losing events.`);
    // Paused means no connection at all: nothing can arrive, and the server holds nothing for this page.
    await waitFor(async () => (await streamSubscribers(server.url)) === subscribersLive - 1, 5000, 'the paused stream to close');
    const during = Array.from({ length: 7 }, (_, i) => `during-${i}`);
    await publish(
      server.url,
      during.map((id) => makeEvent(topic, id)),
    );
    assert.deepEqual(await tailIds(page), ['before-2', 'before-1', 'before-0']);
    assert.equal(await page.getByRole('button', { name: 'Pause' }).count(), 0, 'the button now offers Resume');
    await screenshot(page, 'tail-paused');

    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#tail-list li[data-event-id="during-6"]').waitFor({ timeout: 10_000 });
    await publish(server.url, [makeEvent(topic, 'after')]);
    await page.locator('#tail-list li[data-event-id="after"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(await tailIds(page), ['after', ...during.toReversed(), 'before-2', 'before-1', 'before-0']);
    assert.equal(resumedFrom.at(-1), lastShown, 'the resumed stream asked for the events after the last one shown');
    await page.close();
  });

  test('a burst is drawn in one go and only the newest 500 rows are kept', async () => {
    const topic = uniqueTopic('burst');
    const page = await browser.newPage();
    await openOnTopic(page, server.url, topic);
    await publish(server.url, [makeEvent(topic, 'warm-up')]);
    await page.locator('#tail-list li[data-event-id="warm-up"]').waitFor({ timeout: 10_000 });
    const burst = Array.from({ length: 1500 }, (_, i) => makeEvent(topic, `b-${i}`));
    await publish(server.url, burst);
    await page.locator('#tail-list li[data-event-id="b-1499"]').waitFor({ timeout: 10_000 });
    await waitForText(page.locator('#tail-count'), `${count(1501)} received, newest 500 shown`);
    const ids = await tailIds(page);
    assert.equal(ids.length, 500);
    assert.deepEqual(
      ids,
      Array.from({ length: 500 }, (_, i) => `b-${1499 - i}`),
    );
    await page.close();
  });
});
