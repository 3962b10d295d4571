import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeletionJob } from '../../src/schema/deletion.js';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { at, events, publish, topicStats } from '../helpers/deletion.js';

/** logagg_deletion_deleted_total as /metrics reports it. */
async function deletedMetric(url: string, headers: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const match = /^logagg_deletion_deleted_total (\d+)$/m.exec(text);
  assert.ok(match, 'logagg_deletion_deleted_total is exported');
  return Number(match[1]);
}

async function waitDone(url: string, id: string, headers: Record<string, string>): Promise<DeletionJob> {
  let job: DeletionJob | undefined;
  await waitFor(
    async () => {
      job = (await get<DeletionJob>(`${url}/admin/delete/${id}`, headers)).body;
      return job.state === 'done';
    },
    30_000,
    `deletion job ${id} to finish`,
  );
  return job as DeletionJob;
}

for (const kind of storeKinds()) {
  for (const mode of ['plain', 'keyed'] as const) {
    describe(`deletion jobs run to the end [${kind}, ${mode} keys]`, { timeout: 60_000 }, () => {
      const server = serverForSuite(kind, {
        deletionBatchSize: 7,
        ...(mode === 'keyed' ? { retention: '30d', dedupRetention: '60d' } : {}),
        apiKey: 'k',
      });
      const auth = { authorization: 'Bearer k' };

      // The key table changes how re-sends are refused, not counting: one test of counters is enough.
      test('counters are exact when done, and a re-send of a deleted event is a duplicate', { skip: mode === 'keyed' }, async () => {
        const topic = uniqueTopic('done');
        await publish(server.url, events(topic, 50), auth);
        await publish(server.url, events(topic, 10), auth);
        assert.equal((await post(`${server.url}/admin/delete`, { topic })).status, 401);
        const deletedBefore = await deletedMetric(server.url, auth);
        const reply = await post<DeletionJob>(`${server.url}/admin/delete`, { topic, to: at(20) }, { headers: auth });
        assert.equal(reply.status, 202);
        assert.equal(reply.body.requested_by, 'API_KEY');
        const job = await waitDone(server.url, reply.body.id, auth);
        assert.equal(job.matched, 20);
        assert.equal(job.deleted, 20);
        assert.ok(job.started_at !== null && job.finished_at !== null);
        assert.equal((await deletedMetric(server.url, auth)) - deletedBefore, 20, 'logagg_deletion_deleted_total');
        const stats = await topicStats(server.url, topic, auth);
        assert.deepEqual(
          { ...stats, last_received_at: null },
          { received: 60, unique_processed: 50, duplicate_dropped: 10, stored: 30, expired: 0, deleted: 20, last_received_at: null },
        );
        const again = await post<PublishResult>(`${server.url}/publish`, events(topic, 20), { headers: auth });
        assert.equal(again.body.unique, 0);
        assert.equal(again.body.duplicates, 20);
        const totals = (await get<Stats>(`${server.url}/stats`, auth)).body;
        assert.equal(totals.unique_processed, totals.stored + totals.expired + totals.deleted);
      });

      test('deletion racing ingest and re-sends: re-sends stay duplicates, new events are kept, counters exact', async () => {
        const topic = uniqueTopic('race');
        const doomed = events(topic, 300, 'd');
        for (let i = 0; i < doomed.length; i += 100) await publish(server.url, doomed.slice(i, i + 100), auth);
        const reply = await post<DeletionJob>(`${server.url}/admin/delete`, { topic }, { headers: auth });
        assert.equal(reply.body.matched, 300);
        // While the job runs (43 batches of 7): re-send the doomed events and publish new ones.
        let resentUnique = 0;
        let fresh = 0;
        for (let round = 0; round < 15; round++) {
          const resend = doomed.slice(round * 20, round * 20 + 20);
          const newOnes = Array.from({ length: 10 }, (_, i) => makeEvent(topic, `n${round}-${i}`, { timestamp: at(i) }));
          const [a, b] = await Promise.all([
            post<PublishResult>(`${server.url}/publish`, resend, { headers: auth }),
            post<PublishResult>(`${server.url}/publish`, newOnes, { headers: auth }),
          ]);
          resentUnique += a.body.unique;
          fresh += b.body.unique;
        }
        const job = await waitDone(server.url, reply.body.id, auth);
        assert.equal(resentUnique, 0, 'a re-send of a doomed event was stored');
        assert.equal(job.deleted, 300);
        assert.equal(fresh, 150);
        const rows = await (await fetch(`${server.url}/events?topic=${encodeURIComponent(topic)}&limit=10000`, { headers: auth })).json();
        assert.equal((rows as StoredEvent[]).length, 150);
        assert.ok((rows as StoredEvent[]).every((row) => row.event_id.startsWith('n')));
        const stats = (await get<Stats>(`${server.url}/stats?top=0&topic=${encodeURIComponent(topic)}`, auth)).body.per_topic[topic];
        assert.equal(stats?.unique_processed, 450);
        assert.equal(stats?.deleted, 300);
        assert.equal(stats?.stored, 150);
        assert.equal(stats?.received, 300 + 15 * 20 + 150);
      });
    });
  }
}
