import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import type { Histogram } from '../../src/schema/query.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

/** The fixed data set: event_id → timestamp, source, message. */
const EVENTS: Array<[id: string, timestamp: string, source: string, message: string]> = [
  ['early', '2025-10-21T09:59:59.999Z', 'api', 'payment before the range'],
  ['a', '2025-10-21T10:00:00.000Z', 'api', 'payment ok'],
  ['b', '2025-10-21T10:00:59.999Z', 'api', 'payment declined'],
  ['c', '2025-10-21T10:01:00.000Z', 'api', 'timeout'],
  ['d', '2025-10-21T10:02:30.000+02:00', 'worker', 'payment two hours earlier'],
  ['d2', '2025-10-21T10:02:30.000Z', 'worker', 'payment retried'],
  ['end', '2025-10-21T10:05:00.000Z', 'api', 'payment at until'],
];

const RANGE = 'since=2025-10-21T10:00:00Z&until=2025-10-21T10:05:00Z';
const counts = (h: Histogram): number[] => h.buckets.map((b) => b.count);

for (const kind of storeKinds()) {
  describe(`GET /events/histogram [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    const topic = uniqueTopic('histogram');
    const histogram = (query: string) => get<Histogram>(`${server.url}/events/histogram?topic=${topic}&${query}`);
    before(async () => {
      const reply = await post(
        `${server.url}/publish`,
        EVENTS.map(([id, timestamp, source, message]) => makeEvent(topic, id, { timestamp, source, payload: { message } })),
      );
      assert.equal(reply.status, 200);
    });

    test('counts per bucket on the event timestamp: start inclusive, end exclusive, every bucket present', async () => {
      const reply = await histogram(`${RANGE}&buckets=5`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, {
        from: '2025-10-21T10:00:00.000Z',
        to: '2025-10-21T10:05:00.000Z',
        step_ms: 60_000,
        buckets: [
          { start: '2025-10-21T10:00:00.000Z', count: 2 },
          { start: '2025-10-21T10:01:00.000Z', count: 1 },
          { start: '2025-10-21T10:02:00.000Z', count: 1 },
          { start: '2025-10-21T10:03:00.000Z', count: 0 },
          { start: '2025-10-21T10:04:00.000Z', count: 0 },
        ],
        total: 4,
      });
    });

    test('a bucket one millisecond wide holds exactly the events of that millisecond', async () => {
      const reply = await histogram('since=2025-10-21T10:00:59.999Z&until=2025-10-21T10:01:00.001Z&buckets=2');
      assert.equal(reply.body.step_ms, 1);
      assert.deepEqual(counts(reply.body), [1, 1]);
    });

    test('a range shorter than one millisecond per bucket has fewer buckets', async () => {
      const reply = await histogram('since=2025-10-21T10:00:00Z&until=2025-10-21T10:00:00.003Z');
      assert.equal(reply.body.step_ms, 1);
      assert.deepEqual(counts(reply.body), [1, 0, 0]);
    });

    test('the total equals what GET /events lists with the same filters', async () => {
      const listed = await get<unknown[]>(`${server.url}/events?topic=${topic}&${RANGE}`);
      assert.equal((await histogram(RANGE)).body.total, listed.body.length);
    });

    test('q, source and topic: in q filter the counts', async () => {
      assert.deepEqual(counts((await histogram(`${RANGE}&buckets=5&q=payment`)).body), [2, 0, 1, 0, 0]);
      assert.deepEqual(counts((await histogram(`${RANGE}&buckets=5&q=payment%20-declined`)).body), [1, 0, 1, 0, 0]);
      assert.deepEqual(counts((await histogram(`${RANGE}&buckets=5&source=worker`)).body), [0, 0, 1, 0, 0]);
      const inQ = await get<Histogram>(
        `${server.url}/events/histogram?${RANGE}&buckets=5&q=${encodeURIComponent(`topic:${topic} timeout`)}`,
      );
      assert.deepEqual(counts(inQ.body), [0, 1, 0, 0, 0]);
    });

    test('without since and until the range is the matching events’ own, the last one included', async () => {
      const reply = await histogram('buckets=3&q=-timeout');
      // 07:02:30 (the +02:00 event) to 10:05:00.000 + 1 ms, in three buckets.
      const span = Date.parse('2025-10-21T10:05:00.001Z') - Date.parse('2025-10-21T08:02:30.000Z');
      assert.equal(reply.body.from, '2025-10-21T08:02:30.000Z');
      assert.equal(reply.body.to, '2025-10-21T10:05:00.001Z');
      assert.equal(reply.body.step_ms, Math.ceil(span / 3));
      assert.deepEqual(counts(reply.body), [1, 0, 5]);
      assert.equal(reply.body.total, 6);
    });

    test('since alone runs to the last matching event', async () => {
      const reply = await histogram('since=2025-10-21T10:02:00Z&buckets=2');
      assert.equal(reply.body.to, '2025-10-21T10:05:00.001Z');
      assert.deepEqual(counts(reply.body), [1, 1]);
    });

    test('nothing matching: every bucket is zero; with no range either, the last hour', async () => {
      const empty = await histogram(`${RANGE}&buckets=5&q=nothing-like-this`);
      assert.deepEqual(counts(empty.body), [0, 0, 0, 0, 0]);
      assert.equal(empty.body.total, 0);
      const before = Date.now();
      const hour = await get<Histogram>(`${server.url}/events/histogram?topic=${uniqueTopic('none')}`);
      assert.equal(hour.status, 200);
      assert.equal(hour.body.buckets.length, 60);
      assert.equal(hour.body.step_ms, 60_000);
      assert.equal(Date.parse(hour.body.to) - Date.parse(hour.body.from), 3_600_000);
      assert.ok(Date.parse(hour.body.to) >= before - 1);
      assert.equal(hour.body.total, 0);
    });

    const refused = async (query: string, status: number, code: string, words: RegExp) => {
      const reply = await get<ErrorBody>(`${server.url}/events/histogram?${query}`);
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      assert.equal(reply.body.error, code);
      assert.match(reply.body.message, words);
    };

    test('bad parameters are refused with a JSON error naming the rule', async () => {
      await refused('buckets=0', 422, 'VALIDATION_FAILED', /buckets must be an integer from 1 to 240/);
      await refused('buckets=241', 422, 'VALIDATION_FAILED', /from 1 to 240/);
      await refused('buckets=1e2', 422, 'VALIDATION_FAILED', /from 1 to 240/);
      await refused('since=yesterday', 422, 'VALIDATION_FAILED', /since must be an RFC 3339 time/);
      await refused(`q=${encodeURIComponent('"open')}`, 400, 'INVALID_QUERY', /closing quote/);
      await refused('since=2025-10-21T10:00:00Z&until=2025-10-21T10:00:00Z', 400, 'INVALID_QUERY', /until must be later than since/);
    });
  });
}

const kind = storeKinds().at(-1) ?? 'pglite';
describe(`GET /events/histogram with API_KEY [${kind}]`, { timeout: 120_000 }, () => {
  const server = serverForSuite(kind, { apiKey: 'histogram-key' });

  test('answers 401 without the key and 200 with it', async () => {
    const without = await get<ErrorBody>(`${server.url}/events/histogram`);
    assert.equal(without.status, 401);
    assert.equal(without.body.error, 'UNAUTHORIZED');
    const withKey = await get<Histogram>(`${server.url}/events/histogram`, { authorization: 'Bearer histogram-key' });
    assert.equal(withKey.status, 200);
    assert.equal(withKey.body.total, 0);
  });
});
