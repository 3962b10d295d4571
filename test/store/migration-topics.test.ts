import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSqlStore } from '../../src/store/index.js';
import * as init from '../../src/store/migrations/001-init.js';
import * as retention from '../../src/store/migrations/002-retention.js';
import { INSERT_MIGRATION_VERSION, MIGRATION_SETUP } from '../../src/store/sql.js';
import { makeEvent } from '../helpers/events.js';
import { openEngine, storeKinds } from '../helpers/stores.js';

for (const kind of storeKinds()) {
  describe(`migration 3 (stats_totals) on a store made by an older build [${kind}]`, { timeout: 120_000 }, () => {
    test('the totals row is backfilled from the topic rows, then moves with every batch', async () => {
      const { engine, close } = await openEngine(kind);
      try {
        // The schema as version 2 left it, with counters in it.
        await engine.transaction(async (query, exec) => {
          await exec(MIGRATION_SETUP);
          await exec(init.sql);
          await query(INSERT_MIGRATION_VERSION, [1, 'init']);
          await exec(retention.sql);
          await query(INSERT_MIGRATION_VERSION, [2, 'retention']);
          await exec(`INSERT INTO topic_stats (topic, received, unique_count, expired) VALUES ('a', 5, 3, 1), ('b', 2, 2, 0)`);
        });
        const store = createSqlStore(engine);
        // Migration 3 first, then any later one.
        assert.equal((await store.migrate())[0], 3);
        const before = await store.stats('default', 1, []);
        assert.equal(before.topicCount, 2);
        assert.deepEqual(
          { ...before.totals, last_received_at: null },
          { received: 7, unique_processed: 5, duplicate_dropped: 2, stored: 4, expired: 1, deleted: 0, last_received_at: null },
        );
        assert.deepEqual(
          before.topics.map((t) => t.topic),
          ['a'],
        );
        // One new topic, one known; a copy within the batch and one of an event already stored.
        await store.insertBatch([makeEvent('b', 'x'), makeEvent('c', '1'), makeEvent('c', '1')]);
        await store.insertBatch([makeEvent('c', '1')]);
        const after = await store.stats('default', 0, ['c', 'b']);
        assert.equal(after.topicCount, 3);
        assert.equal(after.totals.received, 11);
        assert.equal(after.totals.unique_processed, 7);
        assert.deepEqual(
          after.topics.map((t) => [t.topic, t.received, t.unique_processed]),
          [
            ['b', 3, 3],
            ['c', 3, 1],
          ],
        );
      } finally {
        await close();
      }
    });
  });
}
