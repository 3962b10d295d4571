import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runPublisher } from '../../src/cli/publish-run.js';
import type { DeletionJob } from '../../src/schema/deletion.js';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { startServer, type TestServerOptions } from '../helpers/server.js';
import { freshStore, type StoreLocation } from '../helpers/stores.js';

const run = promisify(execFile);
const pgSkip = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL (PostgreSQL)';

/** Loads a store with a seeded stream; returns how to replay it and what /stats said afterwards. */
const ACME_EVENTS = 5;

/** Tenant acme's counters and events, as GET /stats and /events show them to it. */
async function tenantView(url: string): Promise<{ stats: Pick<Stats, 'per_topic' | 'received' | 'topic_count'>; events: StoredEvent[] }> {
  const headers = { 'x-scope-orgid': 'acme' };
  const { per_topic, received, topic_count } = (await get<Stats>(`${url}/stats?top=100`, headers)).body;
  return {
    stats: { per_topic, received, topic_count },
    events: (await get<StoredEvent[]>(`${url}/events?limit=10000`, headers)).body,
  };
}

async function load(location: StoreLocation, options: TestServerOptions = {}) {
  const server = await startServer(location, options);
  const stream = {
    events: 3000,
    dupRate: 0.3,
    topics: 3,
    payloadBytes: 32,
    batch: 50,
    concurrency: 4,
    seed: 99,
    topicPrefix: uniqueTopic('backup'),
  };
  const report = await runPublisher({ ...stream, url: server.url });
  assert.ok(report.ok);
  // A second tenant, reusing the default tenant's first keys: a backup or a move keeps them apart.
  const other = { headers: { 'x-scope-orgid': 'acme' } };
  const reused = (await get<StoredEvent[]>(`${server.url}/events?limit=${ACME_EVENTS}`)).body;
  const acmeBatch = reused.map((e) => makeEvent(e.topic, e.event_id, { payload: { tenant: 'acme' } }));
  assert.equal((await post<PublishResult>(`${server.url}/publish`, acmeBatch, other)).body.unique, ACME_EVENTS);
  const stats = (await get<Stats>(`${server.url}/stats?top=100`)).body;
  const events = (await get<StoredEvent[]>(`${server.url}/events?limit=10000`)).body;
  const acme = await tenantView(server.url);
  await server.stop();
  return { stream, stats, events, acme, distinct: report.distinctSent + ACME_EVENTS };
}

/** On the restored store: same counters and rows, every old key a duplicate, new rows after the old seqs. */
async function assertRestored(
  location: StoreLocation,
  before: Awaited<ReturnType<typeof load>>,
  options: TestServerOptions = {},
): Promise<void> {
  const server = await startServer(location, options);
  try {
    const stats = (await get<Stats>(`${server.url}/stats?top=100`)).body;
    assert.deepEqual(stats.per_topic, before.stats.per_topic);
    const events = (await get<StoredEvent[]>(`${server.url}/events?limit=10000`)).body;
    assert.deepEqual(events, before.events);
    assert.deepEqual(await tenantView(server.url), before.acme, "the second tenant's counters and events");
    const replay = await runPublisher({ ...before.stream, url: server.url });
    assert.equal(replay.gained.unique_processed, 0, 'an old key was not recognised');
    assert.equal(replay.gained.duplicate_dropped, replay.sent);
    const topic = uniqueTopic('after-restore');
    const fresh = await post<PublishResult>(`${server.url}/publish`, makeEvent(topic, 'new'));
    assert.deepEqual(fresh.body, { received: 1, unique: 1, duplicates: 0 });
    const [added] = (await get<StoredEvent[]>(`${server.url}/events?topic=${topic}`)).body;
    assert.ok((added?.seq ?? 0) > Math.max(...before.events.map((e) => e.seq)));
  } finally {
    await server.stop();
  }
}

describe('backup, restore and moving stores', { timeout: 360_000 }, () => {
  test('pg_dump of a loaded database restored into a fresh one keeps every key and the counters', { skip: pgSkip }, async (t) => {
    const original = await freshStore('postgres');
    const restored = await freshStore('postgres');
    t.after(async () => {
      await original.destroy();
      await restored.destroy();
    });
    const before = await load(original);
    const dump = `${original.dataDir}/logagg.dump`;
    await run('pg_dump', ['--format=custom', '--file', dump, original.databaseUrl as string]);
    await run('pg_restore', ['--no-owner', '--dbname', restored.databaseUrl as string, dump]);
    await assertRestored(restored, before);
  });

  test('a copy of a stopped embedded store DATA_DIR is a working backup', async (t) => {
    const original = await freshStore('pglite');
    const copy = await freshStore('pglite', { empty: true });
    t.after(async () => {
      await original.destroy();
      await copy.destroy();
    });
    const before = await load(original);
    cpSync(original.dataDir, copy.dataDir, { recursive: true });
    await assertRestored(copy, before);
  });

  test(
    'logagg migrate --from-embedded moves an embedded store into PostgreSQL with seqs, keys and counters',
    { skip: pgSkip },
    async (t) => {
      const embedded = await freshStore('pglite');
      const target = await freshStore('postgres');
      t.after(async () => {
        await embedded.destroy();
        await target.destroy();
      });
      const before = await load(embedded);
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/index.ts', 'migrate', '--from-embedded', embedded.dataDir],
        {
          env: { ...process.env, DATABASE_URL: target.databaseUrl },
        },
      );
      assert.match(stdout, new RegExp(`copied ${before.distinct} events`));
      await assertRestored(target, before);
      await assert.rejects(
        run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'migrate', '--from-embedded', embedded.dataDir], {
          env: { ...process.env, DATABASE_URL: target.databaseUrl },
        }),
        /already holds events/,
      );
    },
  );

  test('--from-embedded also moves the DEDUP_RETENTION keys: events gone, their copies still duplicates', { skip: pgSkip }, async (t) => {
    const embedded = await freshStore('pglite');
    const target = await freshStore('postgres');
    t.after(async () => {
      await embedded.destroy();
      await target.destroy();
    });
    const windows: TestServerOptions = { retention: '1s', dedupRetention: '1h' };
    const server = await startServer(embedded, windows);
    const stream = {
      events: 500,
      dupRate: 0.3,
      topics: 2,
      payloadBytes: 32,
      batch: 50,
      concurrency: 4,
      seed: 7,
      topicPrefix: uniqueTopic('keys'),
    };
    assert.ok((await runPublisher({ ...stream, url: server.url })).ok);
    await waitFor(async () => (await get<Stats>(`${server.url}/stats`)).body.stored === 0, 30_000, 'every event to expire');
    await server.stop();
    await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'migrate', '--from-embedded', embedded.dataDir], {
      env: { ...process.env, DATABASE_URL: target.databaseUrl },
    });
    const moved = await startServer(target, windows);
    t.after(() => moved.stop());
    const replay = await runPublisher({ ...stream, url: moved.url });
    assert.equal(replay.gained.unique_processed, 0, 'a key was lost in the move');
    assert.equal((await get<Stats>(`${moved.url}/stats`)).body.stored, 0);
  });
  test('--from-embedded waits for deletion jobs, then moves the tombstones and the deleted counter', { skip: pgSkip }, async (t) => {
    const embedded = await freshStore('pglite');
    const target = await freshStore('postgres');
    t.after(async () => {
      await embedded.destroy();
      await target.destroy();
    });
    const topic = uniqueTopic('deleted-move');
    const migrateArgs = ['--import', 'tsx', 'src/cli/index.ts', 'migrate', '--from-embedded', embedded.dataDir];
    const env = { env: { ...process.env, DATABASE_URL: target.databaseUrl } };
    const paused = await startServer(embedded, { hooks: { deletion: { off: true } } });
    await post(`${paused.url}/publish`, [makeEvent(topic, 'a'), makeEvent(topic, 'b'), makeEvent(topic, 'c')]);
    const job = await post<DeletionJob>(`${paused.url}/admin/delete`, { topic, q: 'a' });
    assert.equal(job.body.matched, 1);
    await paused.stop();
    await assert.rejects(run(process.execPath, migrateArgs, env), /deletion job is unfinished/);
    const server = await startServer(embedded);
    await waitFor(
      async () => (await get<DeletionJob>(`${server.url}/admin/delete/${job.body.id}`)).body.state === 'done',
      30_000,
      'the job',
    );
    await server.stop();
    await run(process.execPath, migrateArgs, env);
    const moved = await startServer(target);
    t.after(() => moved.stop());
    const resend = await post<PublishResult>(`${moved.url}/publish`, makeEvent(topic, 'a'));
    assert.equal(resend.body.duplicates, 1);
    const counts = (await get<Stats>(`${moved.url}/stats?top=0&topic=${topic}`)).body.per_topic[topic];
    assert.equal(counts?.deleted, 1);
    assert.equal(counts?.stored, 2);
  });
});
