import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import type { StoredEvent } from '../../src/schema/event.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { startPgCluster } from '../helpers/pg-cluster.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite, startServer } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** What the first thing a user writes sees: `new EventSource(url).onmessage`, and nothing else. */
function follow(url: string, init?: ConstructorParameters<typeof EventSource>[1]) {
  const source = new EventSource(url, init);
  const received: { lastEventId: string; event: StoredEvent }[] = [];
  const errors: { code: number | undefined; message: string | undefined }[] = [];
  source.onmessage = (message) => received.push({ lastEventId: message.lastEventId, event: JSON.parse(message.data) as StoredEvent });
  source.onerror = (error) => errors.push({ code: error.code, message: error.message });
  return { source, received, errors, ids: () => received.map((r) => r.event.event_id) };
}

for (const kind of storeKinds()) {
  describe(`the standard EventSource (npm eventsource) on GET /events/stream [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);

    test('onmessage receives every event published, in seq order, with lastEventId = seq', async (t) => {
      const topic = uniqueTopic('es');
      const client = follow(`${server.url}/events/stream?topic=${topic}`);
      t.after(() => client.source.close());
      await waitFor(async () => client.source.readyState === EventSource.OPEN, 10_000, 'the stream to open');
      // Opened with no cursor, the stream starts at the present: publish only once the subscription is live.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (let i = 0; i < 10; i++)
        await post(
          `${server.url}/publish`,
          Array.from({ length: 10 }, (_, j) => makeEvent(topic, `e${i * 10 + j}`)),
        );
      await waitFor(async () => client.received.length >= 100, 15_000, '100 messages');
      assert.deepEqual(
        client.ids(),
        Array.from({ length: 100 }, (_, i) => `e${i}`),
      );
      assert.ok(client.received.every((r) => r.lastEventId === String(r.event.seq)));
      assert.deepEqual(client.errors, []);
    });

    test('its own reconnect after a dropped connection sends Last-Event-ID and gets the missed events exactly once', async (t) => {
      const topic = uniqueTopic('es-resume');
      const proxy = await startTcpProxy(server.url);
      t.after(() => proxy.close());
      const client = follow(`${proxy.url}/events/stream?topic=${topic}&after=0`);
      t.after(() => client.source.close());
      await post(`${server.url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '2')]);
      await waitFor(async () => client.received.length === 2, 10_000, 'the first two events');
      const lastSeen = client.received[1]?.lastEventId;

      // The network drops; the client retries after the server's `retry:` and waits at the proxy meanwhile.
      proxy.cut({ hold: true });
      await post(`${server.url}/publish`, [makeEvent(topic, '3'), makeEvent(topic, '4'), makeEvent(topic, '2')]);
      await waitFor(async () => proxy.waiting >= 1, 15_000, 'the client to reconnect by itself');
      assert.ok(client.errors.length >= 1, 'the drop was not reported through onerror');
      proxy.release();
      await waitFor(async () => client.received.length >= 4, 15_000, 'the missed events');
      await post(`${server.url}/publish`, [makeEvent(topic, '5')]);
      await waitFor(async () => client.received.length >= 5, 15_000, 'a live event after the resume');
      await new Promise((resolve) => setTimeout(resolve, 300));

      assert.deepEqual(client.ids(), ['1', '2', '3', '4', '5']);
      assert.equal(proxy.heads.length, 2);
      assert.match(proxy.heads[1] ?? '', new RegExp(`^last-event-id: ${lastSeen}\\r$`, 'im'));
      assert.equal(client.source.readyState, EventSource.OPEN);
    });
  });
}

describe('the standard EventSource with an API key', { timeout: 60_000 }, () => {
  const server = serverForSuite('pglite', { apiKey: 'es-secret' });

  test('the key goes in its fetch option; without it the 401 stops the client for good', async (t) => {
    const topic = uniqueTopic('es-key');
    const refused = follow(`${server.url}/events/stream?topic=${topic}`);
    t.after(() => refused.source.close());
    await waitFor(async () => refused.source.readyState === EventSource.CLOSED, 10_000, 'the refused client to stop');
    assert.equal(refused.errors[0]?.code, 401);

    const client = follow(`${server.url}/events/stream?topic=${topic}&after=0`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: 'Bearer es-secret' } }),
    });
    t.after(() => client.source.close());
    await post(`${server.url}/publish`, [makeEvent(topic, 'k1')], { headers: { authorization: 'Bearer es-secret' } });
    await waitFor(async () => client.received.length === 1, 10_000, 'the event');
    assert.deepEqual(client.ids(), ['k1']);
  });
});

describe('a stream opened while the store is down', { timeout: 120_000 }, () => {
  test('says so and ends (never a silent open stream); EventSource reconnects and gets events once the store is back', async (t) => {
    // A cluster of the test's own: stopping the shared one would fail whatever else runs on this machine.
    const cluster = await startPgCluster();
    t.after(() => cluster.destroy());
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-es-down-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await startServer({ databaseUrl: cluster.url, dataDir, destroy: async () => {} });
    t.after(() => server.stop());
    const topic = uniqueTopic('es-down');
    // Opened before the outage: it must stay open through it and receive what commits afterwards.
    const before = follow(`${server.url}/events/stream?topic=${topic}&after=0`);
    t.after(() => before.source.close());
    await waitFor(async () => before.source.readyState === EventSource.OPEN, 10_000, 'the first stream to open');

    cluster.stop();
    try {
      const response = await fetch(`${server.url}/events/stream?topic=${topic}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /^retry: 2000$/m);
      assert.match(text, /^: error STORE_UNAVAILABLE .+$/m);

      const client = follow(`${server.url}/events/stream?topic=${topic}&after=0`);
      t.after(() => client.source.close());
      // It ended and came back at least once on its own: the standard client is still trying, not stopped.
      await waitFor(async () => client.errors.length >= 2, 15_000, 'the client to retry');
      assert.notEqual(client.source.readyState, EventSource.CLOSED);
      cluster.start();
      await waitFor(
        async () => (await post(`${server.url}/publish`, [makeEvent(topic, 'after-outage')])).status === 200,
        30_000,
        'a publish to succeed once the store is back',
      );
      await waitFor(async () => client.received.length >= 1, 15_000, 'the event published after the outage');
      await post(`${server.url}/publish`, [makeEvent(topic, 'live')]);
      await waitFor(async () => client.received.length >= 2, 15_000, 'a live event');
      assert.deepEqual(client.ids(), ['after-outage', 'live']);
      await waitFor(async () => before.received.length >= 2, 15_000, 'the stream opened before the outage');
      assert.deepEqual(before.ids(), ['after-outage', 'live']);
    } finally {
      if (!cluster.isUp()) cluster.start();
    }
  });
});
