import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats, TopicStats } from '../../src/schema/stats.js';
import { counters, get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The retention job's clock: real time until a test sets it, then frozen there (so cutoffs hold still). */
function testClock(): { now: () => number; set(at: number): void } {
  let frozen: number | undefined;
  return { now: () => frozen ?? Date.now(), set: (at) => (frozen = at) };
}

async function perTopic(server: TestServer, topics: string[]): Promise<Record<string, TopicStats>> {
  const query = topics.map((topic) => `topic=${encodeURIComponent(topic)}`).join('&');
  return (await get<Stats>(`${server.url}/stats?${query}`)).body.per_topic;
}

const expiredOf = async (server: TestServer, topic: string): Promise<number> => (await perTopic(server, [topic]))[topic]?.expired ?? -1;

/** logagg_retention_deleted_total{kind="keys"} as /metrics reports it. */
async function keysDeleted(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /^logagg_retention_deleted_total\{kind="keys"\} (\d+)$/m.exec(text);
  return Number(match?.[1] ?? 0);
}

const publishN = async (server: TestServer, topic: string, n: number, prefix = 'e'): Promise<PublishResult> =>
  (
    await post<PublishResult>(
      `${server.url}/publish`,
      Array.from({ length: n }, (_, i) => makeEvent(topic, `${prefix}${i}`)),
    )
  ).body;

/** Every topic's counters balance: unique = stored + expired, received = unique + duplicates. */
function assertBalanced(stats: Record<string, TopicStats>): void {
  for (const [topic, s] of Object.entries(stats)) {
    assert.equal(s.stored + s.expired, s.unique_processed, `${topic}: stored + expired = unique_processed`);
    assert.equal(s.unique_processed + s.duplicate_dropped, s.received, `${topic}: unique + duplicates = received`);
  }
}

for (const kind of storeKinds()) {
  describe(`retention rules [${kind}]`, { timeout: 180_000 }, () => {
    test('each topic expires at its own rule, a key outlives its event per rule, counters stay exact', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const clock = testClock();
      const server = await startServer(location, {
        retention: '30d',
        retentionRules: 'debug.*=3d, payments.*=400d/800d, audit.*=forever, cache_*=1d',
        // Two topics per statement and batches of 20: the pass pages through topics and repeats full batches.
        hooks: { retention: { now: clock.now, intervalMs: 20, batchSize: 20, topicsPerStatement: 2 } },
      });
      t.after(() => server.stop());
      const debug = uniqueTopic('debug');
      const payments = uniqueTopic('payments');
      const audit = uniqueTopic('audit');
      const other = uniqueTopic('other');
      // `_` is literal in a rule: cacheX… is not cache_…, so it takes the 30-day default.
      const notCache = uniqueTopic('cacheX');
      const all = [debug, payments, audit, other, notCache];
      for (const topic of all) assert.equal((await publishN(server, topic, 50)).unique, 50);
      const start = Date.now() + 1000;

      // Each step: the clock past some windows, then every topic's expired count must be exactly as expected.
      // One statement resolves every topic of its page against the same clock, so a wrong window shows at once.
      const expect: Record<string, number> = {};
      const step = async (at: number, expired: Record<string, number>, keys: number) => {
        clock.set(at);
        Object.assign(expect, expired);
        const topics = Object.keys(expect);
        await waitFor(
          async () => {
            const stats = await perTopic(server, topics);
            return topics.every((topic) => stats[topic]?.expired === expect[topic]);
          },
          30_000,
          `the expected rows to expire at day ${Math.round((at - start) / DAY)}`,
        );
        await waitFor(async () => (await keysDeleted(server)) >= keys, 30_000, `${keys} keys to be forgotten`);
        const stats = await perTopic(server, [...all, ...topics]);
        for (const topic of all) assert.equal(stats[topic]?.expired, expect[topic] ?? 0, topic);
        assert.equal(await keysDeleted(server), keys, 'keys forgotten so far');
        assertBalanced(stats);
      };
      await step(start + 3 * DAY + HOUR, { [debug]: 50 }, 50);
      // Under a rule without a key window the keys go with the events, although the key table is in use (payments).
      assert.equal((await publishN(server, debug, 1)).unique, 1, 'past the 3-day window a copy is a new event');

      await step(start + 30 * DAY + HOUR, { [debug]: 51, [other]: 50, [notCache]: 50 }, 151);

      // Past 400 days the payments rows go, their keys stay until 800 days. A fresh debug event, whose key is
      // forgotten in the same pass after the payments rows, tells that the pass's key slice ran at this clock.
      const marker = uniqueTopic('debug');
      await publishN(server, marker, 1);
      await step(start + 400 * DAY + HOUR, { [payments]: 50, [marker]: 1 }, 152);
      const late = await publishN(server, payments, 50);
      assert.deepEqual(late, { received: 50, unique: 0, duplicates: 50 }, 'inside the 800-day key window every copy is a duplicate');

      await step(start + 800 * DAY + HOUR, {}, 202);
      assert.equal((await publishN(server, payments, 1)).unique, 1, 'past the key window a copy is a new event');

      // A century on: audit is kept forever, events and keys.
      await step(start + 36_000 * DAY, { [payments]: 51 }, 203);
      assert.equal((await publishN(server, audit, 50)).duplicates, 50, 'forever keeps the keys too');
      const final = await perTopic(server, all);
      assert.deepEqual(counters(final[audit]), {
        received: 100,
        unique_processed: 50,
        duplicate_dropped: 50,
        stored: 50,
        expired: 0,
        deleted: 0,
      });
      assert.deepEqual(counters(final[payments]), {
        received: 101,
        unique_processed: 51,
        duplicate_dropped: 50,
        stored: 0,
        expired: 51,
        deleted: 0,
      });
      assertBalanced(final);
      const totals = (await get<Stats>(`${server.url}/stats`)).body;
      assert.equal(totals.stored + totals.expired, totals.unique_processed);
    });

    test("a rule kept to one tenant expires that tenant's topics only; the counters of each tenant stay exact", async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const clock = testClock();
      const server = await startServer(location, {
        retentionRules: 'acme@debug.*=3d, debug.*=30d',
        hooks: { retention: { now: clock.now, intervalMs: 20, batchSize: 20, topicsPerStatement: 2 } },
      });
      t.after(() => server.stop());
      const topic = uniqueTopic('debug');
      const as = (tenant: string) => ({ headers: { 'x-scope-orgid': tenant } });
      for (const tenant of ['acme', 'globex']) {
        const events = Array.from({ length: 30 }, (_, i) => makeEvent(topic, `e${i}`));
        assert.equal((await post<PublishResult>(`${server.url}/publish`, events, as(tenant))).body.unique, 30);
      }
      const expired = async (tenant: string) =>
        (await get<Stats>(`${server.url}/stats?topic=${topic}`, { 'x-scope-orgid': tenant })).body.per_topic[topic]?.expired;
      const start = Date.now() + 1000;
      clock.set(start + 3 * DAY + HOUR);
      await waitFor(async () => (await expired('acme')) === 30, 30_000, "acme's rows to expire at its 3-day rule");
      assert.equal(await expired('globex'), 0, "globex's topic takes the 30-day rule");
      clock.set(start + 30 * DAY + HOUR);
      await waitFor(async () => (await expired('globex')) === 30, 30_000, "globex's rows to expire at 30 days");
      for (const tenant of ['acme', 'globex']) {
        assertBalanced((await get<Stats>(`${server.url}/stats?topic=${topic}`, { 'x-scope-orgid': tenant })).body.per_topic);
      }
    });

    test('rules racing ingest: rows older than their window go, none younger, while publishes keep succeeding', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const clock = testClock();
      const server = await startServer(location, {
        retentionRules: 'debug.*=3d',
        hooks: { retention: { now: clock.now, intervalMs: 0, batchSize: 40, topicsPerStatement: 3 } },
      });
      t.after(() => server.stop());
      const old = Array.from({ length: 5 }, () => uniqueTopic('debug'));
      const kept = uniqueTopic('kept');
      for (const topic of [...old, kept]) assert.equal((await publishN(server, topic, 200, 'old')).unique, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Everything received before `middle` is past its window; everything after it is inside.
      const middle = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
      clock.set(middle + 3 * DAY);

      let running = true;
      let acked = 0;
      let failed = 0;
      const ingest = (async () => {
        for (let batch = 0; running; batch++) {
          // New rows on the same topics the job is deleting from, and on the kept topic.
          for (const topic of [...old, kept]) {
            const reply = await post<PublishResult>(
              `${server.url}/publish`,
              Array.from({ length: 10 }, (_, i) => makeEvent(topic, `new${batch}-${i}`)),
            );
            if (reply.status === 200) acked += 10;
            else failed++;
          }
        }
      })();
      for (const topic of old) await waitFor(async () => (await expiredOf(server, topic)) === 200, 60_000, `${topic} to expire`);
      running = false;
      await ingest;
      assert.equal(failed, 0, 'every publish succeeded while retention ran');
      // The job keeps running at the frozen clock: one more pass must still delete nothing younger.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const stats = await perTopic(server, [...old, kept]);
      let storedNew = 0;
      for (const topic of old) {
        assert.equal(stats[topic]?.expired, 200, `${topic}: exactly the old rows expired`);
        storedNew += stats[topic]?.stored ?? 0;
      }
      assert.deepEqual(counters(stats[kept]), {
        received: 200 + acked / 6,
        unique_processed: 200 + acked / 6,
        duplicate_dropped: 0,
        stored: 200 + acked / 6,
        expired: 0,
        deleted: 0,
      });
      assert.equal(storedNew, (acked * 5) / 6, 'every row published after the middle is still stored');
      assertBalanced(stats);
    });
  });
}
