import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeletionJob } from '../../src/schema/deletion.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';
import { freshStore } from '../helpers/stores.js';

const pgSkip = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL (PostgreSQL)';

describe('deletion jobs on replicas sharing one PostgreSQL', { timeout: 90_000 }, () => {
  test('two replicas running one job delete and count each row once', { skip: pgSkip }, async (t) => {
    const location = await freshStore('postgres');
    t.after(() => location.destroy());
    // The job is accepted where no runner runs, then two replicas start on it at once.
    const front = await startServer(location, { hooks: { deletion: { off: true } } });
    t.after(() => front.stop());
    const topic = uniqueTopic('replicas');
    for (let i = 0; i < 2000; i += 500) {
      await post(
        `${front.url}/publish`,
        Array.from({ length: 500 }, (_, k) => makeEvent(topic, `e${i + k}`)),
      );
    }
    const job = (await post<DeletionJob>(`${front.url}/admin/delete`, { topic })).body;
    assert.equal(job.matched, 2000);
    const replicas = await Promise.all([startServer(location, { deletionBatchSize: 5 }), startServer(location, { deletionBatchSize: 5 })]);
    t.after(() => Promise.all(replicas.map((r) => r.stop())));
    let done: DeletionJob | undefined;
    await waitFor(
      async () => {
        done = (await get<DeletionJob>(`${front.url}/admin/delete/${job.id}`)).body;
        return done.state === 'done';
      },
      60_000,
      'the job to finish',
    );
    assert.equal(done?.deleted, 2000);
    const stats = (await get<Stats>(`${front.url}/stats?top=0&topic=${topic}`)).body;
    assert.equal(stats.per_topic[topic]?.deleted, 2000);
    assert.equal(stats.per_topic[topic]?.stored, 0);
    assert.equal(stats.deleted, 2000);
    assert.equal(stats.unique_processed, stats.stored + stats.expired + stats.deleted);
  });
});
