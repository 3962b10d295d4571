import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeletionJob } from '../../src/schema/deletion.js';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { spawnServer, type ServerProcess, waitFor } from '../helpers/process.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

const EVENTS = 1000;

for (const kind of storeKinds()) {
  describe(`a deletion job killed mid-way [${kind}]`, { timeout: 120_000 }, () => {
    test('SIGKILL while the job deletes: the next start resumes it, every matched row is deleted and counted once', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      // Batches of 10: the job takes 100 transactions, so the kill lands mid-way on a fast machine too.
      const env = { DELETION_BATCH_SIZE: '10' };
      let server: ServerProcess = await spawnServer(location, env);
      t.after(() => server.child.kill('SIGKILL'));
      const topic = uniqueTopic('crash-delete');
      const kept = uniqueTopic('crash-kept');
      for (let i = 0; i < EVENTS; i += 1000) {
        const batch = Array.from({ length: 1000 }, (_, k) => makeEvent(topic, `d${i + k}`));
        assert.equal((await post<PublishResult>(`${server.url}/publish`, batch)).body.unique, 1000);
      }
      await post(`${server.url}/publish`, [makeEvent(kept, 'k1'), makeEvent(kept, 'k2')]);
      const accepted = await post<DeletionJob>(`${server.url}/admin/delete`, { topic });
      assert.equal(accepted.status, 202);
      assert.equal(accepted.body.matched, EVENTS);
      const id = accepted.body.id;

      // Kill once the job has deleted something, well before it can be done.
      let seen: DeletionJob | undefined;
      await waitFor(
        async () => {
          seen = (await get<DeletionJob>(`${server.url}/admin/delete/${id}`)).body;
          return seen.deleted > 0;
        },
        30_000,
        'the job to start deleting',
      );
      server.child.kill('SIGKILL');
      await server.exited;
      assert.ok(seen && seen.deleted < EVENTS, `the job finished before the kill (${seen?.deleted})`);

      server = await spawnServer(location, { ...env, PORT: new URL(server.url).port });
      // Still unreadable after the restart, before the job is done.
      const visible = (await get<StoredEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;
      assert.deepEqual(visible, []);
      let job: DeletionJob | undefined;
      await waitFor(
        async () => {
          job = (await get<DeletionJob>(`${server.url}/admin/delete/${id}`)).body;
          return job.state === 'done';
        },
        90_000,
        'the resumed job to finish',
      );
      assert.equal(job?.deleted, EVENTS);
      const stats = (await get<Stats>(`${server.url}/stats?top=0&topic=${encodeURIComponent(topic)}&topic=${encodeURIComponent(kept)}`))
        .body;
      assert.equal(stats.per_topic[topic]?.deleted, EVENTS);
      assert.equal(stats.per_topic[topic]?.stored, 0);
      assert.equal(stats.per_topic[kept]?.stored, 2);
      assert.equal(stats.unique_processed, stats.stored + stats.expired + stats.deleted);
      // A re-send after the restart is still a duplicate.
      const again = await post<PublishResult>(`${server.url}/publish`, [makeEvent(topic, 'd0'), makeEvent(topic, `d${EVENTS - 1}`)]);
      assert.equal(again.body.duplicates, 2);
    });
  });
}
