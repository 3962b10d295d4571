import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import type { ErrorBody } from '../../src/schema/error.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { startPgCluster } from '../helpers/pg-cluster.js';
import { type ServerProcess, spawnServer, waitFor } from '../helpers/process.js';
import { copyPgliteTemplate, type StoreLocation } from '../helpers/stores.js';

/** A tmpfs of `sizeMiB` (we run as root, as CI does), unmounted when the test ends. */
function smallDisk(t: TestContext, sizeMiB: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'logagg-disk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  t.after(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const freeMiB = (dir: string): number => {
  const stats = statfsSync(dir);
  return (stats.bavail * stats.bsize) / 1048576;
};

/** Fills `dir` with a file until `leaveMiB` remain free; deleting it gives the space back. */
function fill(dir: string, leaveMiB: number, name = 'filler'): string {
  const path = join(dir, name);
  const mib = Math.max(0, Math.floor(freeMiB(dir) - leaveMiB));
  writeFileSync(path, Buffer.alloc(mib * 1048576, 1));
  return path;
}

// Incompressible payloads, so the store's files grow as fast as the bytes sent.
const bigEvent = (topic: string, id: string) => makeEvent(topic, id, { payload: { blob: randomBytes(3000).toString('base64') } });

interface Loaded {
  acknowledged: Set<string>;
  refusal: { status: number; retryAfter: string | null; body: ErrorBody };
}

/** Publishes batches of 20 until one is refused; returns every acknowledged event_id and the refusal. */
async function loadUntilRefused(server: ServerProcess, topic: string, maxBatches = 5000): Promise<Loaded> {
  const acknowledged = new Set<string>();
  for (let batch = 0; batch < maxBatches; batch++) {
    const events = Array.from({ length: 20 }, (_, i) => bigEvent(topic, `${batch}-${i}`));
    const reply = await post<ErrorBody>(`${server.url}/publish`, events);
    if (reply.status === 200) {
      for (const event of events) acknowledged.add(event.event_id);
      continue;
    }
    return { acknowledged, refusal: { status: reply.status, retryAfter: reply.headers.get('retry-after'), body: reply.body } };
  }
  throw new Error(`${maxBatches} batches were all accepted: the disk never filled`);
}

/** Every inlet refuses with 503 STORE_FULL and Retry-After; /health answers; /ready says why. */
async function assertRefusesFull(server: ServerProcess, topic: string): Promise<void> {
  const json = await post<ErrorBody>(`${server.url}/publish`, [bigEvent(topic, 'refused-json')]);
  assert.deepEqual([json.status, json.body.error, Number(json.headers.get('retry-after')) >= 1], [503, 'STORE_FULL', true]);
  const ndjson = await post<ErrorBody>(`${server.url}/publish`, undefined, {
    raw: `${JSON.stringify(bigEvent(topic, 'refused-ndjson'))}\n`,
    contentType: 'application/x-ndjson',
  });
  assert.deepEqual([ndjson.status, ndjson.body.error, ndjson.headers.has('retry-after')], [503, 'STORE_FULL', true]);
  const otlp = await post<{ message: string }>(`${server.url}/v1/logs`, {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: topic } }] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: '1761040800000000000', body: { stringValue: randomBytes(3000).toString('base64') } }] }],
      },
    ],
  });
  assert.equal(otlp.status, 503);
  assert.ok(otlp.headers.has('retry-after'));
  assert.match(otlp.body.message, /^STORE_FULL/);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
  await waitFor(
    async () => (await get<{ reason?: string }>(`${server.url}/ready`)).body.reason === 'STORE_FULL',
    10_000,
    '/ready to say STORE_FULL',
  );
  const ready = await get<{ status: string; reason: string }>(`${server.url}/ready`);
  assert.deepEqual([ready.status, ready.body.status, ready.headers.has('retry-after')], [503, 'not_ready', true]);
}

/** After space returns: a publish commits again without a restart, /ready is 200. */
async function assertResumes(server: ServerProcess, topic: string, acknowledged: Set<string>): Promise<void> {
  let n = 0;
  await waitFor(
    async () => {
      const event = bigEvent(topic, `resumed-${n++}`);
      const reply = await post(`${server.url}/publish`, [event]);
      if (reply.status === 200) acknowledged.add(event.event_id);
      return reply.status === 200;
    },
    60_000,
    'ingest to resume once space was freed',
  );
  await waitFor(async () => (await fetch(`${server.url}/ready`)).status === 200, 30_000, '/ready to answer 200');
}

async function stopWithSigterm(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  const code = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('hung'), 30_000))]);
  assert.equal(code, 0, `SIGTERM did not stop the server cleanly (${String(code)}):\n${server.output().slice(-2000)}`);
}

/** Restarted on the same store: every acknowledged event is there once, and the counters agree. */
async function assertNothingLost(location: StoreLocation, env: Record<string, string>, topic: string, acknowledged: Set<string>) {
  const server = await spawnServer(location, env);
  try {
    const stored = new Set<string>();
    let after = 0;
    for (;;) {
      const page = await get<Array<{ event_id: string; seq: number }>>(`${server.url}/events?topic=${topic}&limit=1000&after=${after}`);
      if (page.body.length === 0) break;
      for (const event of page.body) stored.add(event.event_id);
      after = Number(page.body.at(-1)?.seq);
    }
    const missing = [...acknowledged].filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged events are missing`);
    const stats = await get<Stats>(`${server.url}/stats`);
    assert.equal(stats.body.per_topic[topic]?.stored, stored.size);
    assert.ok(stored.size >= acknowledged.size);
  } finally {
    await stopWithSigterm(server);
  }
}

describe('disk full', { timeout: 600_000 }, () => {
  for (const guard of ['16', '0']) {
    test(`embedded store, MIN_FREE_DISK_MB=${guard}: 503 STORE_FULL on every inlet, /health and SIGTERM work, ingest resumes, nothing lost`, async (t) => {
      const disk = smallDisk(t, 96);
      const dataDir = join(disk, 'store');
      mkdirSync(dataDir);
      // The cluster initdb makes, copied in: the same files, without initdb's seconds of CPU on a busy machine.
      await copyPgliteTemplate(dataDir);
      const location: StoreLocation = { databaseUrl: undefined, dataDir, destroy: async () => {} };
      const env = { MIN_FREE_DISK_MB: guard, LOG_LEVEL: 'info' };
      const server = await spawnServer(location, env);
      t.after(() => server.child.kill('SIGKILL'));
      const topic = uniqueTopic('full');
      // A few MiB past the floor: the load reaches it in seconds.
      const filler = fill(disk, Number(guard) + 12);
      const { acknowledged, refusal } = await loadUntilRefused(server, topic);
      assert.deepEqual([refusal.status, refusal.body.error, Number(refusal.retryAfter) >= 1], [503, 'STORE_FULL', true]);
      assert.ok(acknowledged.size > 0, 'nothing was accepted before the disk filled');
      await assertRefusesFull(server, topic);
      rmSync(filler);
      await assertResumes(server, topic, acknowledged);
      await stopWithSigterm(server);
      await assertNothingLost(location, env, topic, acknowledged);
    });
  }

  test('PostgreSQL on a small disk: 53100 disk_full is 503 STORE_FULL, and ingest resumes when space returns', async (t) => {
    const disk = smallDisk(t, 128);
    // 1 MiB WAL segments kept for reuse (min_wal_size): a full disk then stops the tables growing (53100) before
    // the WAL, which PostgreSQL could not survive.
    const cluster = await startPgCluster({
      parentDir: disk,
      walSegmentMiB: 1,
      settings: { min_wal_size: "'48MB'", max_wal_size: "'48MB'", checkpoint_timeout: "'30s'" },
    });
    t.after(() => cluster.destroy());
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    t.after(() => admin.end());
    // Write and recycle 48 segments now, so the WAL never needs a new file while the disk is full.
    await admin.query('CREATE TABLE wal_warmup AS SELECT g, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 60000) g');
    await admin.query('DROP TABLE wal_warmup');
    await admin.query('CHECKPOINT');
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-disk-full-pg-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const location: StoreLocation = { databaseUrl: cluster.url, dataDir, destroy: async () => {} };
    const server = await spawnServer(location);
    t.after(() => server.child.kill('SIGKILL'));
    const topic = uniqueTopic('pgfull');
    const filler = fill(disk, 6);
    const { acknowledged, refusal } = await loadUntilRefused(server, topic);
    assert.equal(cluster.isUp(), true, 'PostgreSQL stopped instead of refusing the statement');
    assert.deepEqual([refusal.status, refusal.body.error, Number(refusal.retryAfter) >= 1], [503, 'STORE_FULL', true]);
    // What the refused batch left free could still hold one small event: take it too.
    const rest = fill(disk, 0, 'rest');
    await assertRefusesFull(server, topic);
    rmSync(filler);
    rmSync(rest);
    await assertResumes(server, topic, acknowledged);
    await stopWithSigterm(server);
    await assertNothingLost(location, {}, topic, acknowledged);
  });
});
