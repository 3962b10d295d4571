import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPublisher, type PublisherReport } from '../../src/cli/publish-run.js';
import type { Stats } from '../../src/schema/stats.js';
import { get } from '../helpers/events.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

// Patient enough to ride out a restart (PGlite opens in a few seconds), so every event ends acknowledged.
const PATIENT = { maxAttempts: 200, baseDelayMs: 50, maxDelayMs: 500, maxRetryAfterMs: 1000 };

function assertVerified(report: PublisherReport): void {
  const failed = report.checks.filter((check) => !check.ok);
  assert.deepEqual(failed, [], JSON.stringify({ failed, errors: report.errors }));
}

for (const kind of storeKinds()) {
  describe(`crash under load [${kind}]`, { timeout: 300_000 }, () => {
    test('SIGKILL three times while 50,000 events stream in: every acknowledged event is stored once, counters exact', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const port = String(await freePort());
      let server: ServerProcess = await spawnServer(location, { PORT: port });
      t.after(() => server.child.kill('SIGKILL'));
      const url = server.url;
      const common = { url, dupRate: 0.3, topics: 5, payloadBytes: 64, timeoutMs: 5000, retry: PATIENT };
      const publishers = Promise.all([
        runPublisher({ ...common, events: 40_000, batch: 50, concurrency: 8, seed: 11, topicPrefix: `crash-batched-${port}` }),
        runPublisher({ ...common, events: 10_000, batch: 1, concurrency: 20, seed: 12, topicPrefix: `crash-single-${port}` }),
      ]);
      let kills = 0;
      let done = false;
      void publishers.finally(() => (done = true));
      while (kills < 3 && !done) {
        await new Promise((resolve) => setTimeout(resolve, 400 + Math.random() * 800));
        if (done) break;
        server.child.kill('SIGKILL');
        await server.exited;
        kills++;
        server = await spawnServer(location, { PORT: port });
      }
      const reports = await publishers;
      assert.equal(kills, 3, 'the load finished before three kills; make it longer');
      for (const report of reports) assertVerified(report);
      const stats = (await get<Stats>(`${url}/stats?top=100`)).body;
      assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
      const distinct = reports.reduce((n, r) => n + r.distinctSent, 0);
      assert.equal(stats.unique_processed, distinct);
      const perTopic = Object.values(stats.per_topic).reduce((n, c) => n + c.unique_processed, 0);
      assert.equal(perTopic, stats.unique_processed);
    });
  });
}
