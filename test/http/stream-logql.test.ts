import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';
import { storeKinds } from '../helpers/stores.js';

// GET /events/stream?logql=: the live stream follows a LogQL log query, the part the database can run in the
// feed's read and the rest (parsers, label filters on parsed fields, the detected level) per event.

const stream = (url: string, logql: string, headers: Record<string, string> = {}) =>
  openStream(`${url}/events/stream?${new URLSearchParams({ logql }).toString()}`, headers);
const ids = (events: Array<{ data: { event_id: string } }>) => events.map((e) => e.data.event_id);

for (const kind of storeKinds()) {
  describe(`GET /events/stream?logql= [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);

    test('a selector and line filters: the matching events, whole, in seq order', async (t) => {
      const topic = uniqueTopic('logql-live');
      const live = await stream(server.url, `{topic="${topic}", source=~"api-.*"} |= "failed" != "retry"`);
      t.after(() => live.close());
      const event = (id: string, source: string, message: string) => makeEvent(topic, id, { source, payload: { message } });
      await post(`${server.url}/publish`, [
        event('a', 'api-1', 'payment failed'),
        event('b', 'worker', 'payment failed'),
        event('c', 'api-2', 'payment failed, will retry'),
        event('d', 'api-2', 'order created'),
        makeEvent(uniqueTopic('elsewhere'), 'e', { source: 'api-1', payload: { message: 'failed' } }),
        event('f', 'api-1', 'refund failed'),
      ]);
      const got = await live.waitFor(2);
      assert.deepEqual(ids(got), ['a', 'f']);
      assert.deepEqual((got[0]?.data as unknown as { payload: unknown }).payload, { message: 'payment failed' });
      await sleep(300);
      assert.equal(live.events.length, 2);
    });

    test('a parser and a label filter on its fields, and the detected level, are applied per event; a resume replays through them', async (t) => {
      const topic = uniqueTopic('logql-json');
      const query = `{topic="${topic}"} | json | status >= 500 | detected_level="error"`;
      const live = await stream(server.url, query);
      const event = (id: string, status: number, level: string) => makeEvent(topic, id, { payload: { status, level, path: '/pay' } });
      await post(`${server.url}/publish`, [event('ok', 200, 'info'), event('down', 503, 'error'), event('warned', 502, 'warn')]);
      await post(`${server.url}/publish`, [
        makeEvent(topic, 'text', { payload: { message: 'status=503 not json' } }),
        event('gone', 504, 'error'),
      ]);
      const got = await live.waitFor(2);
      assert.deepEqual(ids(got), ['down', 'gone']);
      live.close();

      // Resumed after the first: the catch-up goes through the same stages, then live.
      const resumed = await stream(server.url, query, { 'last-event-id': String(got[0]?.id) });
      t.after(() => resumed.close());
      await post(`${server.url}/publish`, [event('later', 500, 'error'), event('fine', 201, 'error')]);
      const again = await resumed.waitFor(2);
      assert.deepEqual(ids(again), ['gone', 'later']);
    });

    test("another tenant's matching events never reach the stream", async (t) => {
      const topic = uniqueTopic('logql-tenant');
      const live = await stream(server.url, `{topic="${topic}"} | json`, { 'x-scope-orgid': 'acme' });
      t.after(() => live.close());
      await post(`${server.url}/publish`, [makeEvent(topic, 'theirs')], { headers: { 'x-scope-orgid': 'globex' } });
      await post(`${server.url}/publish`, [makeEvent(topic, 'ours')], { headers: { 'x-scope-orgid': 'acme' } });
      assert.deepEqual(ids(await live.waitFor(1)), ['ours']);
      await sleep(300);
      assert.equal(live.events.length, 1);
    });

    test('a metric query, a query that does not parse, or q with logql: 400 before the stream opens', async () => {
      const get = (params: Record<string, string>) => fetch(`${server.url}/events/stream?${new URLSearchParams(params).toString()}`);
      const metric = await get({ logql: 'count_over_time({topic="a"}[1m])' });
      assert.equal(metric.status, 400);
      assert.equal(((await metric.json()) as { error: string }).error, 'LOGQL_UNSUPPORTED');
      const broken = await get({ logql: '{topic="a"' });
      assert.equal(broken.status, 400);
      assert.equal(((await broken.json()) as { error: string }).error, 'LOGQL_INVALID');
      const both = await get({ logql: '{topic="a"}', q: 'word' });
      assert.equal(both.status, 400);
      assert.match(((await both.json()) as { message: string }).message, /q or logql/);
    });
  });
}
