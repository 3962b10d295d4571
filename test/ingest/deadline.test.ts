import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogaggError } from '../../src/errors.js';
import { flushBatch } from '../../src/ingest/flusher.js';
import { createPipeline } from '../../src/ingest/index.js';
import type { Pending } from '../../src/ingest/queue.js';
import type { Event } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { InsertedRow } from '../../src/store/index.js';
import { makeEvent } from '../helpers/events.js';

// A fake store is allowed here only (docs/style.md §3): the pipeline's deadline and circuit are about a store that
// does not answer, which the real ones (test/faults/frozen-store.test.ts) take 15 s to show.

/** A store that either answers at once or, while frozen, holds every call until thawed. */
function freezableStore() {
  let frozen = false;
  const held: Array<() => void> = [];
  const calls: number[] = [];
  return {
    calls,
    freeze: () => (frozen = true),
    thaw() {
      frozen = false;
      for (const release of held.splice(0)) release();
    },
    async insertBatch(events: readonly Event[]): Promise<InsertedRow[]> {
      calls.push(events.length);
      if (frozen) await new Promise<void>((resolve) => held.push(resolve));
      return events.map((e) => ({ tenant: 'default', topic: e.topic, event_id: e.event_id }));
    },
  };
}

const settle = async (promise: Promise<PublishResult>) => {
  const started = performance.now();
  const outcome = await promise.then(
    (result) => ({ result, code: undefined }),
    (err: LogaggError) => ({ result: undefined, code: err.code }),
  );
  return { ...outcome, ms: performance.now() - started };
};

const pending = (events: Event[], outcomes: Array<string | PublishResult>): Pending => ({
  events,
  tenant: 'default',
  transport: 'http',
  enqueuedAt: performance.now(),
  resolve: (result) => outcomes.push(result),
  reject: (err) => outcomes.push((err as LogaggError).code),
});

describe('a store that does not answer', () => {
  test('a batch past STORE_TIMEOUT_MS is answered 503; the circuit then refuses at once and probes once per interval', async () => {
    const store = freezableStore();
    const errors: string[] = [];
    const pipeline = createPipeline(store, {
      batchMax: 100,
      lingerMs: 1,
      workers: 2,
      maxQueue: 1000,
      storeTimeoutMs: 200,
      probeIntervalMs: 300,
      onStoreError: (code) => errors.push(code),
    });
    store.freeze();
    const first = await settle(pipeline.submit([makeEvent('t', 'a')]));
    assert.equal(first.code, 'STORE_UNAVAILABLE');
    assert.ok(first.ms >= 150, `answered after ${first.ms} ms, before the deadline`);
    assert.deepEqual(errors, ['STORE_UNAVAILABLE']);

    // Open: refused without reaching the store.
    const callsBefore = store.calls.length;
    const refused = await settle(pipeline.submit([makeEvent('t', 'b')]));
    assert.equal(refused.code, 'STORE_UNAVAILABLE');
    assert.equal(store.calls.length, callsBefore);

    // After the interval one probe goes to the store; it waits out the deadline while the store is frozen.
    await new Promise((resolve) => setTimeout(resolve, 350));
    const probe = settle(pipeline.submit([makeEvent('t', 'c')]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const besideProbe = await settle(pipeline.submit([makeEvent('t', 'd')]));
    assert.equal(besideProbe.code, 'STORE_UNAVAILABLE', 'a second batch went to the store beside the probe');
    assert.equal((await probe).code, 'STORE_UNAVAILABLE');
    assert.equal(store.calls.length, callsBefore + 1);

    // Thawed: the stuck calls answer late, which closes the circuit; the next publish commits at once.
    store.thaw();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = await settle(pipeline.submit([makeEvent('t', 'e')]));
    assert.deepEqual(after.result, { received: 1, unique: 1, duplicates: 0 });
    assert.ok(pipeline.figures().events_committed >= 1);
    await pipeline.close();
  });

  test('a failed probe keeps the circuit open; an answered one closes it', async () => {
    let unavailable = true;
    const store = {
      async insertBatch(events: readonly Event[]): Promise<InsertedRow[]> {
        if (unavailable) throw new LogaggError('STORE_UNAVAILABLE');
        return events.map((e) => ({ tenant: 'default', topic: e.topic, event_id: e.event_id }));
      },
    };
    const pipeline = createPipeline(store, { batchMax: 100, lingerMs: 1, workers: 1, maxQueue: 1000, probeIntervalMs: 100 });
    assert.equal((await settle(pipeline.submit([makeEvent('t', '1')]))).code, 'STORE_UNAVAILABLE');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal((await settle(pipeline.submit([makeEvent('t', '2')]))).code, 'STORE_UNAVAILABLE', 'the probe');
    assert.equal((await settle(pipeline.submit([makeEvent('t', '3')]))).code, 'STORE_UNAVAILABLE', 'refused, no probe due');
    unavailable = false;
    assert.equal((await settle(pipeline.submit([makeEvent('t', '4')]))).code, 'STORE_UNAVAILABLE', 'still open until a probe');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal((await settle(pipeline.submit([makeEvent('t', '5')]))).result?.unique, 1, 'the probe commits');
    assert.equal((await settle(pipeline.submit([makeEvent('t', '6')]))).result?.unique, 1, 'closed');
    await pipeline.close();
  });
});

describe('isolate', () => {
  test('a store that vanishes during the one-request retries is STORE_UNAVAILABLE, and the rest are not retried', async () => {
    let calls = 0;
    const store = {
      async insertBatch(): Promise<InsertedRow[]> {
        calls++;
        throw new LogaggError(calls === 1 ? 'STORE_FAILED' : 'STORE_UNAVAILABLE');
      },
    };
    const outcomes: Array<string | PublishResult> = [];
    const batch = [1, 2, 3, 4].map((i) => pending([makeEvent('t', `k${i}`)], outcomes));
    const report = await flushBatch(store, batch);
    assert.equal(report.failure?.code, 'STORE_UNAVAILABLE');
    assert.deepEqual(outcomes, ['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE', 'STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
    assert.equal(calls, 2, 'the whole batch once, then one request alone; no retry after the store vanished');
  });

  test('a request the store refuses still fails alone with STORE_FAILED', async () => {
    const store = {
      async insertBatch(events: readonly Event[]): Promise<InsertedRow[]> {
        if (events.some((e) => e.topic === 'poison')) throw new LogaggError('STORE_FAILED');
        return events.map((e) => ({ tenant: 'default', topic: e.topic, event_id: e.event_id }));
      },
    };
    const outcomes: Array<string | PublishResult> = [];
    const report = await flushBatch(store, [pending([makeEvent('t', 'a')], outcomes), pending([makeEvent('poison', 'p')], outcomes)]);
    assert.equal(report.failure?.code, 'STORE_FAILED');
    assert.deepEqual(outcomes, [{ received: 1, unique: 1, duplicates: 0 }, 'STORE_FAILED']);
  });
});
