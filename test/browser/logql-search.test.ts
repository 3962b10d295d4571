import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { makeEvent, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { browserForSuite, publish, screenshot, SUITE_STORE, waitForText } from './browser.js';

/** The lines in the events table, top (newest) to bottom. */
async function listedLines(page: Page): Promise<string[]> {
  return page.locator('#events-table tbody .logql-line').allTextContents();
}

async function search(page: Page, q: string): Promise<void> {
  await page.locator('#events-form input[name="q"]').fill(q);
  await page.getByRole('button', { name: 'Apply' }).click();
}

const at = (second: number): string => new Date(Date.UTC(2025, 9, 21, 10, 0, second)).toISOString();

describe('dashboard: LogQL in the search box', { timeout: 300_000 }, () => {
  const server = serverForSuite(SUITE_STORE);
  const browser = browserForSuite();

  test('a query starting with { runs as LogQL: lines in the list, the histogram counts them, the tail follows it', async () => {
    const topic = uniqueTopic('logql');
    const other = uniqueTopic('logql-other');
    const event = (t: string, id: string, second: number, source: string, message: string, level = 'info') =>
      makeEvent(t, id, { timestamp: at(second), source, payload: { message, level } });
    await publish(server.url, [
      event(topic, 'a', 0, 'svc-a', 'order=1 state=created'),
      event(topic, 'b', 10, 'svc-a', 'order=1 state=failed', 'error'),
      event(topic, 'c', 20, 'svc-b', 'order=2 state=failed', 'error'),
      event(topic, 'd', 30, 'svc-a', 'order=3 state=created'),
      event(other, 'e', 40, 'svc-a', 'order=4 state=failed', 'error'),
    ]);
    const page = await browser.newPage();
    await page.goto(`${server.url}/#${new URLSearchParams({ topic }).toString()}`);
    const info = page.locator('#page-info');
    await waitForText(info, /\(4 events\)$/);
    // The browser runs in Asia/Jakarta (UTC+7): 17:00 there is 10:00Z.
    await page.locator('#events-form input[name="since"]').fill('2025-10-21T17:00:00');
    await page.locator('#events-form input[name="until"]').fill('2025-10-21T17:01:00');

    // The page-wide topic joins the selector: the other topic's failure is not listed.
    await search(page, '{source=~"svc-.+"} |= "failed"');
    await waitForText(info, 'LogQL: 2 lines, newest first');
    assert.deepEqual(await listedLines(page), ['order=2 state=failed', 'order=1 state=failed']);
    assert.deepEqual(await page.locator('#events-table tbody td.topic-cell').allTextContents(), [topic, topic]);
    await waitForText(page.locator('#histogram-caption'), /^2 matching events, 1 s per bar/);
    // Bars are [start, end) as for a q search: the lines at 10:00:10 and 10:00:20 are in bars 10 and 20.
    const counts = await page
      .locator('#histogram-bars .bar')
      .evaluateAll((bars) => bars.map((bar) => Number(bar.getAttribute('data-count'))));
    assert.deepEqual(
      counts,
      Array.from({ length: 60 }, (_, i) => (i === 10 || i === 20 ? 1 : 0)),
    );
    // The tail follows the same query (the topic in its selector): a new matching event appears, the rest do not.
    const tail = page.locator('#tail-list');
    await waitForText(
      page.locator('#tail-status'),
      `Live: topic ${topic}, matching {topic=${JSON.stringify(topic)}, source=~"svc-.+"} |= "failed".`,
    );
    await publish(server.url, [
      event(topic, 'live-1', 120, 'svc-b', 'order=5 state=created'),
      event(other, 'live-2', 121, 'svc-a', 'order=6 state=failed', 'error'),
      event(topic, 'live-3', 122, 'svc-b', 'order=7 state=failed', 'error'),
    ]);
    await waitForText(tail, /order=7 state=failed/);
    assert.doesNotMatch((await tail.textContent()) ?? '', /order=5|order=6/);
    await screenshot(page, 'logql-search');

    // A label filter on detected_level (the payload's level), and a parser whose labels are listed beside the line.
    await search(page, '{source="svc-a"} | detected_level="info" | logfmt | keep order, detected_level');
    // The caption reads as the last search's did (2 lines): wait for the list itself to change.
    const created = ['order=3 state=created', 'order=1 state=created'];
    await waitFor(async () => JSON.stringify(await listedLines(page)) === JSON.stringify(created), 30_000, "the second search's lines");
    await waitForText(info, 'LogQL: 2 lines, newest first');
    assert.deepEqual(await page.locator('#events-table tbody td.payload-cell .note').allTextContents(), [
      ' detected_level=info order=3',
      ' detected_level=info order=1',
    ]);
    // The stages the database cannot run (the level, the parser) are checked per event for the tail too.
    await waitForText(page.locator('#tail-status'), /^Live: topic .*, matching \{topic=.*\| logfmt \| keep order, detected_level\.$/);
    await publish(server.url, [
      event(topic, 'live-4', 130, 'svc-a', 'order=8 state=failed', 'error'),
      event(topic, 'live-5', 131, 'svc-a', 'order=9 state=created'),
    ]);
    await waitForText(tail, /order=9 state=created/);
    assert.doesNotMatch((await tail.textContent()) ?? '', /order=8/);

    // Back to the q syntax: the same list, by seq again, and the tail follows it.
    await search(page, 'state=failed');
    await waitForText(info, /\(2 events\)$/);
    await waitForText(page.locator('#tail-status'), `Live: topic ${topic}, matching state=failed.`);
    await page.close();
  });

  test("a query the server refuses shows the server's message", async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const q = '{topic="x"} | unknown_stage';
    const reply = await fetch(`${server.url}/loki/api/v1/query_range?${new URLSearchParams({ query: q }).toString()}`);
    assert.equal(reply.status, 400);
    const { message } = (await reply.json()) as { message: string };
    await search(page, q);
    await waitForText(page.locator('#page-info'), `Could not run the LogQL query: ${message}`);
    await waitForText(page.locator('#histogram-caption'), /^No histogram: /);
    await page.close();
  });

  test('Older and Newer page through a LogQL answer; lines sharing an instant across pages are neither lost nor repeated', async () => {
    const topic = uniqueTopic('logql-pages');
    // 30 lines: seconds 0–29, and seconds 5 and 6 hold three lines each (the page edge of 25 falls among them).
    const events = Array.from({ length: 26 }, (_, i) => i + 4).map((second) =>
      makeEvent(topic, `s${second}`, { timestamp: at(second), source: 'svc', payload: { message: `line ${second}` } }),
    );
    for (const second of [5, 6]) {
      for (const n of [1, 2]) {
        events.push(
          makeEvent(topic, `s${second}-${n}`, { timestamp: at(second), source: 'svc', payload: { message: `line ${second}.${n}` } }),
        );
      }
    }
    await publish(server.url, events);
    const page = await browser.newPage();
    await page.goto(`${server.url}/#${new URLSearchParams({ topic }).toString()}`);
    await page.locator('#events-form select[name="limit"]').selectOption('25');
    await search(page, '{source="svc"}');
    const info = page.locator('#page-info');
    await waitForText(info, 'LogQL: 25 lines, newest first');
    const first = await listedLines(page);
    await page.getByRole('button', { name: 'Older' }).click();
    await waitForText(info, 'LogQL: 5 lines, newest first (page 2)');
    const second = await listedLines(page);
    assert.ok(await page.getByRole('button', { name: 'Older' }).isDisabled());
    const all = [...first, ...second];
    assert.equal(new Set(all).size, 30, `every line once: ${all.join(', ')}`);
    assert.deepEqual(all.slice(0, 3), ['line 29', 'line 28', 'line 27']);
    assert.equal(all.at(-1), 'line 4');
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitForText(info, 'LogQL: 25 lines, newest first');
    assert.deepEqual(await listedLines(page), first);
    await page.close();
  });
});
