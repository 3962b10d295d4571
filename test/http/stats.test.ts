import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Event, StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

function assertBalanced(stats: Stats): void {
  assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
  const sum = { received: 0, unique: 0, duplicates: 0 };
  for (const counts of Object.values(stats.per_topic)) {
    assert.equal(counts.received, counts.unique_processed + counts.duplicate_dropped);
    sum.received += counts.received;
    sum.unique += counts.unique_processed;
    sum.duplicates += counts.duplicate_dropped;
  }
  assert.deepEqual(sum, { received: stats.received, unique: stats.unique_processed, duplicates: stats.duplicate_dropped });
}

for (const kind of storeKinds()) {
  describe(`GET /stats [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    const stats = async () => (await get<Stats>(`${server.url}/stats?top=100`)).body;

    test('counters and the topics list follow what was published', async () => {
      const a = uniqueTopic('stats-a');
      const b = uniqueTopic('stats-b');
      const before = await stats();
      await post(`${server.url}/publish`, [makeEvent(a, '1'), makeEvent(a, '1'), makeEvent(b, '1')]);
      const now = await stats();
      assert.equal(now.received - before.received, 3);
      assert.equal(now.unique_processed - before.unique_processed, 2);
      assert.equal(now.duplicate_dropped - before.duplicate_dropped, 1);
      assert.ok(now.topics.includes(a) && now.topics.includes(b));
      assert.equal(now.store, kind);
      assertBalanced(now);
    });

    test('uptime is whole seconds and grows while the process runs', async () => {
      const first = await stats();
      assert.ok(Number.isInteger(first.uptime) && first.uptime >= 0);
      const deadline = Date.now() + 5000;
      let later = first;
      while (later.uptime <= first.uptime && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        later = await stats();
      }
      assert.ok(later.uptime > first.uptime, 'uptime did not advance within 5 s');
    });

    test('a burst of 2,000 concurrent events with 30% duplicates is counted exactly and balances', async () => {
      const topics = [uniqueTopic('burst-a'), uniqueTopic('burst-b'), uniqueTopic('burst-c')];
      const distinct: Event[] = Array.from({ length: 1400 }, (_, i) => makeEvent(topics[i % 3] as string, `b${i}`));
      const copies = Array.from({ length: 600 }, (_, i) => distinct[(i * 7) % distinct.length] as Event);
      const all = [...distinct, ...copies].sort(() => Math.random() - 0.5);
      // Mixed shapes: singles and small batches, 50 requests in flight at a time.
      const requests: Event[][] = [];
      for (let i = 0; i < all.length;) {
        const size = i % 3 === 0 ? 1 : 1 + (i % 17);
        requests.push(all.slice(i, i + size));
        i += size;
      }
      const before = await stats();
      const totals = { received: 0, unique: 0, duplicates: 0 };
      let next = 0;
      const observed: Stats[] = [];
      const senders = Array.from({ length: 50 }, async () => {
        while (next < requests.length) {
          const body = requests[next++] as Event[];
          const reply = await post<PublishResult>(`${server.url}/publish`, body.length === 1 ? body[0] : body);
          assert.equal(reply.status, 200);
          totals.received += reply.body.received;
          totals.unique += reply.body.unique;
          totals.duplicates += reply.body.duplicates;
          if (next % 40 === 0) observed.push(await stats());
        }
      });
      await Promise.all(senders);
      assert.deepEqual(totals, { received: 2000, unique: 1400, duplicates: 600 });
      const after = await stats();
      for (const snapshot of [...observed, after]) assertBalanced(snapshot);
      assert.equal(after.received - before.received, 2000);
      assert.equal(after.unique_processed - before.unique_processed, 1400);
      let stored = 0;
      for (const topic of topics) {
        const events = (await get<StoredEvent[]>(`${server.url}/events?topic=${topic}&limit=10000`)).body;
        stored += events.length;
        assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
        assert.equal(after.per_topic[topic]?.unique_processed, events.length);
      }
      assert.equal(stored, 1400);
    });
  });
}
