import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogaggError } from '../../src/errors.js';
import { createPipeline } from '../../src/ingest/index.js';
import type { Event } from '../../src/schema/event.js';
import type { InsertedRow } from '../../src/store/index.js';
import { makeEvent } from '../helpers/events.js';

// A fake store is allowed here only (docs/style.md §3): it records batch sizes and plays the database's key check.
function fakeStore(options: { delayMs?: number; failOn?: string; unavailable?: boolean } = {}) {
  const keys = new Set<string>();
  const batches: number[] = [];
  return {
    batches,
    async insertBatch(events: readonly Event[]): Promise<InsertedRow[]> {
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1));
      if (options.unavailable) throw new LogaggError('STORE_UNAVAILABLE');
      if (options.failOn && events.some((e) => e.topic === options.failOn)) throw new LogaggError('STORE_FAILED');
      batches.push(events.length);
      const inserted: InsertedRow[] = [];
      for (const event of events) {
        const key = `${event.topic}\u0000${event.event_id}`;
        if (!keys.has(key)) {
          keys.add(key);
          inserted.push({ tenant: 'default', topic: event.topic, event_id: event.event_id });
        }
      }
      return inserted;
    },
  };
}

const options = { batchMax: 100, lingerMs: 5, workers: 2, maxQueue: 1000 };

describe('ingest pipeline', () => {
  test('concurrent requests are grouped into batches of at most batchMax events, never split', async () => {
    const store = fakeStore({ delayMs: 5 });
    const pipeline = createPipeline(store, options);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => pipeline.submit([makeEvent('t', `a${i}`), makeEvent('t', `b${i}`), makeEvent('t', `c${i}`)])),
    );
    assert.ok(results.every((r) => r.unique === 3));
    assert.ok(
      store.batches.every((size) => size <= 100 && size % 3 === 0),
      String(store.batches),
    );
    assert.ok(store.batches.length < 60, `expected grouping, got ${store.batches.length} batches`);
    await pipeline.close();
  });

  test('each request gets its own share: the first copy of a key in a batch is the unique one', async () => {
    const pipeline = createPipeline(fakeStore(), { ...options, lingerMs: 20 });
    const [a, b, c] = await Promise.all([
      pipeline.submit([makeEvent('t', '1'), makeEvent('t', '2')]),
      pipeline.submit([makeEvent('t', '2'), makeEvent('t', '3')]),
      pipeline.submit([makeEvent('t', '1')]),
    ]);
    assert.deepEqual(a, { received: 2, unique: 2, duplicates: 0 });
    assert.deepEqual(b, { received: 2, unique: 1, duplicates: 1 });
    assert.deepEqual(c, { received: 1, unique: 0, duplicates: 1 });
    await pipeline.close();
  });

  test('past maxQueue events a request is refused with OVERLOADED and nothing of it is queued', async () => {
    const pipeline = createPipeline(fakeStore({ delayMs: 50 }), { ...options, workers: 1, maxQueue: 250 });
    const accepted = [pipeline.submit(Array.from({ length: 200 }, (_, i) => makeEvent('t', `x${i}`)))];
    accepted.push(pipeline.submit(Array.from({ length: 200 }, (_, i) => makeEvent('t', `y${i}`))));
    await assert.rejects(pipeline.submit(Array.from({ length: 60 }, (_, i) => makeEvent('t', `z${i}`))), { code: 'OVERLOADED' });
    await Promise.all(accepted);
    await pipeline.close();
  });

  test('a request the store refuses fails alone; the others in its batch commit', async () => {
    const pipeline = createPipeline(fakeStore({ failOn: 'poison' }), { ...options, lingerMs: 20 });
    const good = pipeline.submit([makeEvent('t', 'ok-1')]);
    const bad = pipeline.submit([makeEvent('poison', 'p')]);
    const alsoGood = pipeline.submit([makeEvent('t', 'ok-2')]);
    assert.deepEqual(await good, { received: 1, unique: 1, duplicates: 0 });
    await assert.rejects(bad, { code: 'STORE_FAILED' });
    assert.deepEqual(await alsoGood, { received: 1, unique: 1, duplicates: 0 });
    await pipeline.close();
  });

  test('when the store is unreachable every waiting request gets STORE_UNAVAILABLE', async () => {
    const pipeline = createPipeline(fakeStore({ unavailable: true }), options);
    const replies = await Promise.allSettled([pipeline.submit([makeEvent('t', '1')]), pipeline.submit([makeEvent('t', '2')])]);
    for (const reply of replies) assert.equal(reply.status === 'rejected' && (reply.reason as LogaggError).code, 'STORE_UNAVAILABLE');
    await pipeline.close();
  });

  test('close commits everything queued, then refuses new requests with SHUTTING_DOWN', async () => {
    const store = fakeStore({ delayMs: 10 });
    const pipeline = createPipeline(store, { ...options, lingerMs: 10_000 });
    const pending = Array.from({ length: 10 }, (_, i) => pipeline.submit([makeEvent('t', `c${i}`)]));
    await pipeline.close();
    assert.equal((await Promise.all(pending)).length, 10);
    assert.equal(
      store.batches.reduce((n, size) => n + size, 0),
      10,
    );
    await assert.rejects(pipeline.submit([makeEvent('t', 'late')]), { code: 'SHUTTING_DOWN' });
  });
});
