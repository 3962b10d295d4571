import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, kept, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

// The store sends the database only the first copy of each key in a batch and the copies per topic apart
// (src/store/sql-store.ts): these check that what is stored and counted is the same as if every copy went in.
for (const kind of storeKinds()) {
  describe(`POST /publish, copies within one batch [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    const publish = (body: unknown) => post<PublishResult>(`${server.url}/publish`, body);
    const stats = async () => (await get<Stats>(`${server.url}/stats?top=100`)).body;
    const storedIn = async (topic: string) => (await get<StoredEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;

    test('the first copy in a request is the one stored, and every copy is counted in its own topic', async () => {
      const [red, blue] = [uniqueTopic('copies-red'), uniqueTopic('copies-blue')];
      const reply = await publish([
        makeEvent(red, 'a', { payload: { v: 1 } }),
        makeEvent(blue, 'a', { payload: { v: 10 } }),
        makeEvent(red, 'a', { payload: { v: 2 } }),
        makeEvent(red, 'b'),
        makeEvent(blue, 'a', { payload: { v: 20 } }),
        makeEvent(red, 'a', { payload: { v: 3 } }),
      ]);
      assert.deepEqual(reply.body, { received: 6, unique: 3, duplicates: 3 });
      const stored = await storedIn(red);
      assert.deepEqual(
        stored.map((e) => [e.event_id, e.payload]),
        [
          ['a', { v: 1 }],
          ['b', stored[1]?.payload],
        ],
      );
      assert.deepEqual(
        (await storedIn(blue)).map((e) => e.payload),
        [{ v: 10 }],
      );
      const counts = await stats();
      assert.deepEqual(counters(counts.per_topic[red]), kept(4, 2));
      assert.deepEqual(counters(counts.per_topic[blue]), kept(2, 1));
    });

    test('a topic called __proto__ is stored and counted like any other', async () => {
      const before = await stats();
      const reply = await publish([makeEvent('__proto__', 'p1'), makeEvent('__proto__', 'p1'), makeEvent('__proto__', 'p2')]);
      assert.deepEqual(reply.body, { received: 3, unique: 2, duplicates: 1 });
      assert.deepEqual(
        (await storedIn('__proto__')).map((e) => e.event_id),
        ['p1', 'p2'],
      );
      const after = await stats();
      assert.ok(after.topics.includes('__proto__'));
      assert.equal(after.received - before.received, 3);
      assert.equal(after.unique_processed - before.unique_processed, 2);
      assert.ok(Object.keys(after.per_topic).includes('__proto__'), 'per_topic lost the __proto__ topic');
    });
  });
}
