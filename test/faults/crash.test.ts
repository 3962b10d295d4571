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
      // Kills are placed by progress, not by the clock: a fast or a loaded machine both see three mid-load crashes.
      const sent = [0, 0];
      const publishers = Promise.all([
        runPublisher(
          { ...common, events: 40_000, batch: 50, concurrency: 8, seed: 11, topicPrefix: `crash-batched-${port}` },
          (p) => (sent[0] = p.sentEvents),
          20,
        ),
        runPublisher(
          { ...common, events: 10_000, batch: 1, concurrency: 20, seed: 12, topicPrefix: `crash-single-${port}` },
          (p) => (sent[1] = p.sentEvents),
          20,
        ),
      ]);
      let kills = 0;
      let done = false;
      void publishers.finally(() => (done = true));
      for (const share of [0.15, 0.4, 0.65]) {
        while (!done && (sent[0] ?? 0) + (sent[1] ?? 0) < share * 50_000) await new Promise((resolve) => setTimeout(resolve, 10));
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
