import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { runPublisher } from '../../src/cli/publish-run.js';
import { SELECT_READ_HORIZON } from '../../src/store/sql.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { spawnServer } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';
import { openStream, type SseStream } from '../helpers/sse.js';
import { freshStore } from '../helpers/stores.js';

const skip = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL (replicas share PostgreSQL)';

/** What one reader was handed, in the order it was handed. */
interface Reader {
  name: string;
  /** The seq it started after: every stored row above it, up to its cursor, is its to get. */
  from(): number;
  seqs: number[];
  /** Where the reader stands: it will never be handed a seq at or below this again. */
  cursor(): number;
}

/** Pages through GET /events with after= as fast as it can, until it has reached `until()`. */
function pager(name: string, url: string, until: () => number): { reader: Reader; pages: number; done: Promise<void> } {
  let after = 0;
  const state = { reader: { name, from: () => 0, seqs: [] as number[], cursor: () => after }, pages: 0, done: Promise.resolve() };
  state.done = (async () => {
    while (after < until()) {
      const response = await fetch(`${url}/events?after=${after}&limit=200`);
      assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
      const page = (await response.json()) as Array<{ seq: number }>;
      state.pages++;
      for (const event of page) state.reader.seqs.push(event.seq);
      if (page.length > 0) after = (page[page.length - 1] as { seq: number }).seq;
    }
  })();
  return state;
}

/** A stream opened at the present starts where it joined: just below its first event. */
function streamReader(name: string, stream: SseStream, fromStart: boolean): Reader {
  return {
    name,
    from: () => (fromStart ? 0 : (stream.events[0]?.id ?? 1) - 1),
    get seqs() {
      return stream.events.map((e) => e.id);
    },
    cursor: () => stream.events[stream.events.length - 1]?.id ?? 0,
  };
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The cursor contract without a commit lock: batches commit in parallel and out of seq order (two replicas, four
 * flushers each, small batches, the same keys racing on both), while readers page with after= and stream on both
 * replicas. Afterwards every reader must hold every stored row at or below its cursor, each once, ascending. A
 * reader that was handed a seq while a lower one was still being committed has a hole, and fails here.
 */
describe('gap-free cursors under parallel commits', { timeout: 180_000 }, () => {
  test('two replicas, many flushers: no reader misses a row that appears below its cursor', { skip }, async (t) => {
    const location = await freshStore('postgres');
    const env = { WORKERS: '4', BATCH_MAX: '40', BATCH_LINGER_MS: '0' };
    const [a, b] = await Promise.all([spawnServer(location, env), spawnServer(location, env)]);
    const db = new pg.Client({ connectionString: location.databaseUrl });
    await db.connect();
    const prefix = uniqueTopic('cursors');
    const streams = await Promise.all(
      [a, b].flatMap((s) => [openStream(`${s.url}/events/stream?after=0`), openStream(`${s.url}/events/stream`)]),
    );
    t.after(async () => {
      for (const s of streams) s.close();
      for (const server of [a, b]) server.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited, db.end()]);
      await location.destroy();
    });
    const readers: Reader[] = streams.map((s, i) => streamReader(`stream ${i}`, s, i % 2 === 0));

    // Until the writers are done the pagers chase the head; then they stop at the last stored seq.
    let target = Number.POSITIVE_INFINITY;
    const pagers = [a, b].flatMap((s, i) => [pager(`pager ${i}a`, s.url, () => target), pager(`pager ${i}b`, s.url, () => target)]);
    readers.push(...pagers.map((p) => p.reader));

    // The same stream to both replicas at once (every key races), and a second one split between them.
    const stream = { events: 4_000, dupRate: 0.3, topics: 4, payloadBytes: 32, batch: 10, concurrency: 8, topicPrefix: prefix };
    const reports = await Promise.all([
      runPublisher({ ...stream, seed: 1, url: a.url }),
      runPublisher({ ...stream, seed: 1, url: b.url }),
      runPublisher({ ...stream, seed: 2, url: a.url }),
      runPublisher({ ...stream, seed: 3, url: b.url }),
    ]);
    for (const report of reports) assert.equal(report.failedRequests, 0, JSON.stringify(report.errors));

    const stored = (await db.query<{ seq: string }>('SELECT seq FROM events ORDER BY seq')).rows.map((r) => Number(r.seq));
    const pagesWhileWriting = pagers.map((p) => p.pages);
    target = stored[stored.length - 1] as number;
    await Promise.all(pagers.map((p) => p.done));
    for (const reader of readers) await waitUntil(() => reader.cursor() >= target, `${reader.name} to reach ${target}`);

    for (const reader of readers) {
      const seqs = reader.seqs;
      for (let i = 1; i < seqs.length; i++)
        assert.ok((seqs[i] as number) > (seqs[i - 1] as number), `${reader.name}: not ascending at ${i}`);
      const expected = stored.filter((seq) => seq > reader.from() && seq <= reader.cursor());
      const got = new Set(seqs);
      const missed = expected.filter((seq) => !got.has(seq));
      assert.deepEqual(missed.slice(0, 10), [], `${reader.name} missed ${missed.length} rows below its cursor ${reader.cursor()}`);
      assert.equal(seqs.length, expected.length, `${reader.name}: handed rows that are not stored`);
    }
    // Parallel batches took their locks in one order: the database never had to break a deadlock (each would
    // have failed a batch with 40P01, answered 503 and been retried by the publisher).
    const [counted] = (await db.query<{ deadlocks: string }>('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()'))
      .rows;
    assert.equal(counted?.deadlocks, '0');
    // The readers raced the writers: they paged while batches were committing, not only over a quiet table.
    assert.ok(
      pagesWhileWriting.every((n) => n > 20),
      `pages read while writing: ${pagesWhileWriting.join(', ')}`,
    );
  });
});

describe('a batch that claims late', { timeout: 60_000 }, () => {
  /**
   * A batch reads the sequence, stalls, and publishes its claim after rows above it have committed: the horizon
   * read next is lower than the one before. The claim is held here by hand, as such a batch would hold it. A
   * stream that subscribes at the feed's position and catches up from 0 must still get every row below it.
   */
  test('a stream catching up below a horizon that went down still gets every committed row', { skip }, async (t) => {
    const location = await freshStore('postgres');
    const server = await startServer(location);
    const db = new pg.Client({ connectionString: location.databaseUrl });
    await db.connect();
    t.after(async () => {
      await db.end();
      await server.stop();
      await location.destroy();
    });
    const topic = uniqueTopic('late-claim');
    await post(
      `${server.url}/publish`,
      Array.from({ length: 10 }, (_, i) => makeEvent(topic, `e${i}`)),
    );
    // The feed's position is now the head (10): a first subscriber moved it there.
    const first = await openStream(`${server.url}/events/stream?topic=${topic}`);
    t.after(() => first.close());

    await db.query('BEGIN');
    // The key SEQ_CLAIM_BASE + 3, as a batch that read the sequence at 3 claims (src/store/sql.ts).
    await db.query('SELECT pg_advisory_xact_lock_shared(4611686018427387904 + 3)');
    const [lowered] = (await db.query<{ horizon: string }>(SELECT_READ_HORIZON)).rows;
    assert.equal(lowered?.horizon, '2', 'the stalled claim lowers what the database reports');

    const late = await openStream(`${server.url}/events/stream?topic=${topic}&after=0`);
    t.after(() => late.close());
    const events = await late.waitFor(10, 5_000).finally(() => db.query('COMMIT'));
    assert.deepEqual(
      events.map((e) => e.data.event_id),
      Array.from({ length: 10 }, (_, i) => `e${i}`),
    );
  });
});
