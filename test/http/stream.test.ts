import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PublishResult } from '../../src/schema/publish.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite, startServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

for (const kind of storeKinds()) {
  describe(`GET /events/stream [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);

    test('pushes each committed event of its topic once, in seq order, with id = seq', async (t) => {
      const topic = uniqueTopic('live');
      const stream = await openStream(`${server.url}/events/stream?topic=${topic}`);
      t.after(() => stream.close());
      await post(`${server.url}/publish`, [makeEvent(topic, 'a'), makeEvent(uniqueTopic('other'), 'x'), makeEvent(topic, 'b')]);
      await post(`${server.url}/publish`, [makeEvent(topic, 'a'), makeEvent(topic, 'c')]);
      const events = await stream.waitFor(3);
      assert.deepEqual(
        events.map((e) => e.data.event_id),
        ['a', 'b', 'c'],
      );
      assert.ok(events.every((e) => e.id === e.data.seq && e.data.topic === topic));
      assert.ok((events[0]?.id ?? 0) < (events[1]?.id ?? 0) && (events[1]?.id ?? 0) < (events[2]?.id ?? 0));
    });

    test('HEAD answers with the headers of the stream and ends, holding no stream open', async () => {
      const response = await fetch(`${server.url}/events/stream?topic=${uniqueTopic('head')}`, {
        method: 'HEAD',
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const bad = await fetch(`${server.url}/events/stream?q=${encodeURIComponent('"unclosed')}`, { method: 'HEAD' });
      assert.equal(bad.status, 400, 'a HEAD is checked as the GET is');
    });

    test('a client that reconnects with Last-Event-ID gets exactly what it missed, then live events', async (t) => {
      const topic = uniqueTopic('resume');
      const first = await openStream(`${server.url}/events/stream?topic=${topic}`);
      await post(`${server.url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '2')]);
      const seen = await first.waitFor(2);
      first.close();
      await post(`${server.url}/publish`, [makeEvent(topic, '3'), makeEvent(topic, '4')]);
      const resumed = await openStream(`${server.url}/events/stream?topic=${topic}`, { 'last-event-id': String(seen[1]?.id) });
      t.after(() => resumed.close());
      await resumed.waitFor(2);
      await post(`${server.url}/publish`, [makeEvent(topic, '5')]);
      const rest = await resumed.waitFor(3);
      assert.deepEqual(
        rest.map((e) => e.data.event_id),
        ['3', '4', '5'],
      );
    });

    test('events committed while a catch-up is running are neither lost nor repeated', async (t) => {
      const topic = uniqueTopic('handoff');
      await post(
        `${server.url}/publish`,
        Array.from({ length: 1200 }, (_, i) => makeEvent(topic, `old${i}`)),
      );
      const writer = (async () => {
        for (let i = 0; i < 20; i++)
          await post<PublishResult>(
            `${server.url}/publish`,
            Array.from({ length: 10 }, (_, j) => makeEvent(topic, `new${i}-${j}`)),
          );
      })();
      const stream = await openStream(`${server.url}/events/stream?topic=${topic}&after=0`);
      t.after(() => stream.close());
      await writer;
      const events = await stream.waitFor(1400);
      const ids = events.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'an event was repeated');
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
      assert.equal(new Set(events.map((e) => e.data.event_id)).size, 1400);
    });

    test('a subscriber that stops reading is cut off without slowing ingest, and resumes with no gap', async () => {
      const topic = uniqueTopic('slow');
      const slow = await openStream(`${server.url}/events/stream?topic=${topic}&after=0`, {}, false);
      const blob = 'x'.repeat(2000);
      for (let i = 0; i < 10; i++) {
        const reply = await post<PublishResult>(
          `${server.url}/publish`,
          Array.from({ length: 500 }, (_, j) => makeEvent(topic, `s${i}-${j}`, { payload: { blob } })),
        );
        assert.equal(reply.status, 200);
      }
      await slow.waitFor(1, 15_000).catch(() => undefined);
      await slow.ended;
      assert.ok(slow.events.length < 5000, `the stream was not cut off (${slow.events.length} events)`);
      const last = slow.events.at(-1)?.id ?? 0;
      const resumed = await openStream(`${server.url}/events/stream?topic=${topic}`, { 'last-event-id': String(last) });
      await resumed.waitFor(5000 - slow.events.length, 30_000);
      resumed.close();
      const all = [...slow.events, ...resumed.events].map((e) => e.data.event_id);
      assert.equal(all.length, 5000);
      assert.equal(new Set(all).size, 5000);
    });
  });
}

describe('GET /events/stream across replicas', { timeout: 60_000 }, () => {
  test(
    'a subscriber on replica A sees events ingested by replica B, in order',
    { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (PostgreSQL)' },
    async (t) => {
      const location = await freshStore('postgres');
      const a = await startServer(location);
      const b = await startServer(location);
      t.after(async () => {
        await a.stop();
        await b.stop();
        await location.destroy();
      });
      const topic = uniqueTopic('replicas');
      const stream = await openStream(`${a.url}/events/stream?topic=${topic}`);
      t.after(() => stream.close());
      await post(`${b.url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '2')]);
      await post(`${a.url}/publish`, [makeEvent(topic, '3'), makeEvent(topic, '2')]);
      await post(`${b.url}/publish`, [makeEvent(topic, '4')]);
      const events = await stream.waitFor(4);
      assert.deepEqual(
        events.map((e) => e.data.event_id),
        ['1', '2', '3', '4'],
      );
    },
  );
});

describe('GET /events/stream and the in-flight gauge', { timeout: 60_000 }, () => {
  // A server of its own: streams left by other tests would move the gauge under this one.
  const server = serverForSuite('pglite');
  test('streams the client closes, and a request it abandons, leave logagg_http_requests_in_flight where it was', async () => {
    // Read while the /metrics request itself is in flight, so every reading counts that one request too.
    const inFlight = async (): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^logagg_http_requests_in_flight (\d+)$/m.exec(text)?.[1]);
    };
    const before = await inFlight();
    const topic = uniqueTopic('gauge');
    const streams = await Promise.all(Array.from({ length: 5 }, () => openStream(`${server.url}/events/stream?topic=${topic}`)));
    assert.equal(await inFlight(), before + 5);
    for (const stream of streams) stream.close();
    await waitFor(async () => (await inFlight()) === before, 10_000, 'the gauge to count the closed streams down');
    // A request the client abandons before the answer never runs onResponse either.
    const abandoned = new AbortController();
    const pending = fetch(`${server.url}/events?topic=${topic}`, { signal: abandoned.signal }).catch(() => undefined);
    abandoned.abort();
    await pending;
    await waitFor(async () => (await inFlight()) === before, 10_000, 'the gauge to settle');
  });
});
