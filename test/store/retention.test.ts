import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createStore } from '../../src/store/index.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

const topicStats = async (server: TestServer, topic: string) =>
  (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];

/** Publishes small batches on a topic until stopped: ingest that must keep succeeding while retention deletes. */
function keepPublishing(server: TestServer, topic: string): { stop(): Promise<{ acked: number; failed: number }> } {
  let running = true;
  let acked = 0;
  let failed = 0;
  const loop = (async () => {
    for (let batch = 0; running; batch++) {
      const reply = await post<PublishResult>(
        `${server.url}/publish`,
        Array.from({ length: 50 }, (_, i) => makeEvent(topic, `${batch}-${i}`)),
      );
      if (reply.status === 200) acked += 50;
      else failed++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { acked, failed };
    },
  };
}

/**
 * Republishes one event until the store takes it as new; returns when that happened. Every answer received before
 * `windowEnds` must be a duplicate: the key was claimed after `windowEnds - window`, so it was still inside its window.
 */
async function republishUntilNew(
  server: TestServer,
  topic: string,
  eventId: string,
  windowEnds: number,
): Promise<{ at: number; copies: number }> {
  for (let copies = 1; ; copies++) {
    const reply = await post<PublishResult>(`${server.url}/publish`, makeEvent(topic, eventId));
    const answeredAt = Date.now();
    assert.equal(reply.status, 200);
    if (reply.body.unique === 1) return { at: answeredAt, copies };
    assert.ok(answeredAt < windowEnds + 30_000, 'the key was never forgotten');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

for (const kind of storeKinds()) {
  describe(`retention [${kind}]`, { timeout: 120_000 }, () => {
    test('RETENTION deletes old events while ingest goes on; lifetime counters stay and the dedup window is the retention', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const server = await startServer(location, { retention: '3s' });
      t.after(() => server.stop());
      const old = uniqueTopic('old');
      const start = Date.now();
      await post(
        `${server.url}/publish`,
        Array.from({ length: 300 }, (_, i) => makeEvent(old, `e${i}`)),
      );
      const inside = await post<PublishResult>(`${server.url}/publish`, makeEvent(old, 'e0'));
      if (Date.now() < start + 3000)
        assert.deepEqual(inside.body, { received: 1, unique: 0, duplicates: 1 }, 'inside the window a copy is a duplicate');

      const live = uniqueTopic('live');
      const ingest = keepPublishing(server, live);
      await waitFor(async () => (await topicStats(server, old))?.expired === 300, 30_000, 'retention to delete the 300 old events');
      const { acked, failed } = await ingest.stop();
      assert.equal(failed, 0, 'every publish succeeded while retention ran');
      assert.ok(acked > 0);

      assert.deepEqual((await get<StoredEvent[]>(`${server.url}/events?topic=${old}`)).body, []);
      assert.deepEqual(counters(await topicStats(server, old)), {
        received: 301,
        unique_processed: 300,
        duplicate_dropped: 1,
        stored: 0,
        expired: 300,
        deleted: 0,
      });
      const liveStats = await topicStats(server, live);
      assert.equal(liveStats?.received, acked);
      assert.equal((liveStats?.stored ?? 0) + (liveStats?.expired ?? 0), acked);

      // Past the window the key is forgotten with its event: a late copy is stored again, as a new event.
      const again = await republishUntilNew(server, old, 'e0', start + 3000);
      assert.ok(again.at >= start + 3000, 'a copy was taken as new before its window ended');
      assert.equal(again.copies, 1, 'the event was deleted, so its key was already gone');
      const stats = (await get<Stats>(`${server.url}/stats`)).body;
      assert.equal(stats.stored + stats.expired, stats.unique_processed);
      assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
    });

    test('DEDUP_RETENTION keeps the keys after the payloads: a late copy is a duplicate until the key window ends', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const server = await startServer(location, { retention: '1s', dedupRetention: '8s' });
      t.after(() => server.stop());
      const topic = uniqueTopic('keys');
      const start = Date.now();
      await post(
        `${server.url}/publish`,
        Array.from({ length: 100 }, (_, i) => makeEvent(topic, `k${i}`)),
      );
      await waitFor(async () => (await topicStats(server, topic))?.expired === 100, 30_000, 'the payloads to expire');
      assert.deepEqual((await get<StoredEvent[]>(`${server.url}/events?topic=${topic}`)).body, []);

      // Between the windows: the payloads are gone, the keys still refuse every copy.
      const late = await post<PublishResult>(
        `${server.url}/publish`,
        Array.from({ length: 100 }, (_, i) => makeEvent(topic, `k${i}`)),
      );
      if (Date.now() < start + 8000) {
        assert.deepEqual(late.body, { received: 100, unique: 0, duplicates: 100 });
      } else {
        t.diagnostic('the machine was too slow to publish between the windows; that check was not made');
      }
      const again = await republishUntilNew(server, topic, 'k0', start + 8000);
      assert.ok(again.at >= start + 8000, 'a copy was taken as new before the key window ended');
      const stats = counters(await topicStats(server, topic));
      assert.equal(stats?.received, 200 + again.copies);
      assert.equal(stats?.unique_processed, 100 + late.body.unique + 1);
      assert.equal((stats?.stored ?? 0) + (stats?.expired ?? 0), stats?.unique_processed);
    });
  });
}

describe('retention in two replicas at once', { timeout: 60_000 }, () => {
  test(
    'two jobs deleting the same expired rows delete and count each row once',
    { skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL' },
    async (t) => {
      const location = await freshStore('postgres');
      t.after(() => location.destroy());
      const open = () => createStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, workers: 2 });
      const [a, b] = [await open(), await open()];
      t.after(async () => {
        await a.close();
        await b.close();
      });
      await a.migrate();
      const topic = uniqueTopic('race');
      for (let batch = 0; batch < 5; batch++) {
        await a.insertBatch(Array.from({ length: 1000 }, (_, i) => makeEvent(topic, `${batch}-${i}`)));
      }
      const future = new Date(Date.now() + 60_000);
      const drain = async (store: typeof a) => {
        let total = 0;
        for (let n = -1; n !== 0; total += n) n = await store.expireEvents(future, 250);
        return total;
      };
      const [byA, byB] = await Promise.all([drain(a), drain(b)]);
      assert.equal(byA + byB, 5000);
      assert.deepEqual(counters((await a.topicCounts()).get(topic)), {
        received: 5000,
        unique_processed: 5000,
        duplicate_dropped: 0,
        stored: 0,
        expired: 5000,
        deleted: 0,
      });
    },
  );
});
