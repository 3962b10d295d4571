import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshStore, type StoreLocation, storeKinds } from '../helpers/stores.js';

for (const kind of storeKinds()) {
  describe(`POST /publish [${kind}]`, { timeout: 120_000 }, () => {
    let location: StoreLocation;
    let server: TestServer;
    before(async () => {
      location = await freshStore(kind);
      server = await startServer(location);
    });
    after(async () => {
      await server.stop();
      await location.destroy();
    });

    test('the same event twice is stored once and counted once as a duplicate', async () => {
      const topic = uniqueTopic('dedup');
      const event = makeEvent(topic, 'evt-1');
      const first = await post<PublishResult>(`${server.url}/publish`, event);
      const second = await post<PublishResult>(`${server.url}/publish`, event);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, { received: 1, unique: 1, duplicates: 0 });
      assert.deepEqual(second.body, { received: 1, unique: 0, duplicates: 1 });
      const stats = await get<Stats>(`${server.url}/stats`);
      assert.deepEqual(stats.body.per_topic[topic], { received: 2, unique_processed: 1, duplicate_dropped: 1 });
      const events = await get<StoredEvent[]>(`${server.url}/events?topic=${topic}`);
      assert.equal(events.body.length, 1);
    });
  });
}
