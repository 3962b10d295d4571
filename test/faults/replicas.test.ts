import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPublisher } from '../../src/cli/publish-run.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, uniqueTopic } from '../helpers/events.js';
import { spawnServer } from '../helpers/process.js';
import { freshStore } from '../helpers/stores.js';

const skip = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL (replicas share PostgreSQL)';

describe('two replicas, one PostgreSQL', { timeout: 180_000 }, () => {
  test('the same stream sent to both replicas at once: every key stored once, counts exact, no errors', { skip }, async (t) => {
    const location = await freshStore('postgres');
    t.after(() => location.destroy());
    const [a, b] = await Promise.all([spawnServer(location), spawnServer(location)]);
    t.after(async () => {
      for (const server of [a, b]) server?.child.kill('SIGTERM');
      await Promise.all([a?.exited, b?.exited]);
    });
    // The same seed and topics on both: every key races on the two replicas, often in the same instant.
    const stream = {
      events: 20_000,
      dupRate: 0.3,
      topics: 5,
      payloadBytes: 64,
      batch: 25,
      concurrency: 8,
      seed: 42,
      topicPrefix: uniqueTopic('replicas'),
    };
    const reports = await Promise.all([runPublisher({ ...stream, url: a.url }), runPublisher({ ...stream, url: b.url })]);
    for (const report of reports) {
      assert.equal(report.failedRequests, 0, JSON.stringify(report.errors));
      assert.equal(report.uncertainEvents, 0);
    }
    const [first, second] = reports;
    assert.equal(first?.distinctSent, second?.distinctSent);
    const stats = (await get<Stats>(`${a.url}/stats?top=100`)).body;
    const mine = (first?.topics ?? []).map((topic) => stats.per_topic[topic]);
    const sum = (key: 'received' | 'unique_processed' | 'duplicate_dropped') => mine.reduce((n, c) => n + (c?.[key] ?? 0), 0);
    assert.equal(sum('unique_processed'), first?.distinctSent, 'a key was stored twice or lost');
    assert.equal(sum('received'), (first?.sent ?? 0) + (second?.sent ?? 0));
    assert.equal(sum('received'), sum('unique_processed') + sum('duplicate_dropped'));
  });
});
