import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LogaggError } from '../../src/errors.js';
import { flushBatch } from '../../src/ingest/flusher.js';
import type { Pending } from '../../src/ingest/queue.js';
import type { Event } from '../../src/schema/event.js';
import { createStore, type Store } from '../../src/store/index.js';
import { makeEvent } from '../helpers/events.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

// A batch the database refuses for one tenant's max_topics, on the real stores: the refusal names the tenant, so
// the other tenants' requests commit again as one statement and only that tenant's are retried one by one. The
// writer below only records each call's runs on the way to the real store.

for (const kind of storeKinds()) {
  describe(`a batch refused for a tenant's max_topics [${kind}]`, { timeout: 60_000 }, () => {
    test("the other tenants' requests commit in one more statement; the limited tenant's are retried one by one", async (t) => {
      const location = await freshStore(kind);
      const store: Store = await createStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, workers: 2 });
      t.after(async () => {
        await store.close();
        await location.destroy();
      });
      await store.migrate();
      await store.insertBatch([makeEvent('a', '0')], [{ tenant: 'capped', count: 1, maxTopics: 1 }]);

      const calls: string[][] = [];
      const writer: Pick<Store, 'insertBatch'> = {
        insertBatch(events, runs) {
          calls.push((runs ?? []).map((run) => `${run.tenant}:${run.count}`));
          return store.insertBatch(events, runs);
        },
      };
      const outcomes = new Map<string, number | string>();
      const request = (name: string, tenant: string, events: Event[], maxTopics?: number): Pending => ({
        events,
        tenant,
        maxTopics,
        transport: 'http',
        enqueuedAt: performance.now(),
        resolve: (result) => outcomes.set(name, result.unique),
        reject: (err) => outcomes.set(name, (err as LogaggError).code),
      });
      const report = await flushBatch(writer, [
        request('other-1', 'other', [makeEvent('a', '1')]),
        request('capped-new', 'capped', [makeEvent('b', '1')], 1),
        request('other2', 'other2', [makeEvent('x', '1'), makeEvent('y', '1')]),
        request('capped-old', 'capped', [makeEvent('a', '2')], 1),
        request('other-2', 'other', [makeEvent('z', '1')]),
      ]);
      assert.deepEqual(Object.fromEntries(outcomes), {
        'other-1': 1,
        'capped-new': 'QUOTA_EXCEEDED',
        other2: 2,
        'capped-old': 1,
        'other-2': 1,
      });
      assert.deepEqual(calls, [
        ['other:1', 'capped:1', 'other2:2', 'capped:1', 'other:1'],
        ['other:1', 'other2:2', 'other:1'],
        ['capped:1'],
        ['capped:1'],
      ]);
      assert.deepEqual([report.events, report.unique], [5, 5]);
      assert.equal((await store.stats('capped', 10, [])).topicCount, 1);
    });
  });
}
