import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import {
  createClient,
  createPublisher,
  HttpError,
  type NewEvent,
  type PublishAck,
  type Publisher,
  type PublisherOptions,
  PublisherClosedError,
  PublishRejectedError,
  QueueFullError,
  type RetryNotice,
  subscribe,
} from '../../src/client/index.js';
import type { StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { firstPublishes, startFaultProxy } from './fault-proxy.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

function publisherFor(t: TestContext, options: PublisherOptions): Publisher {
  const publisher = createPublisher({ retry: fast, ...options });
  t.after(() => publisher.close());
  return publisher;
}

const line = (topic: string, n: number, extra: Partial<NewEvent> = {}): NewEvent => ({
  topic,
  source: 'publisher-test',
  payload: { n },
  ...extra,
});

async function stored(url: string, topic: string): Promise<StoredEvent[]> {
  return (await get<StoredEvent[]>(`${url}/events?topic=${encodeURIComponent(topic)}&limit=10000`)).body;
}

type Counts = { received: number; unique_processed: number; duplicate_dropped: number };

async function topicCounts(url: string, topic: string, headers: Record<string, string> = {}): Promise<Counts | undefined> {
  const counts = (await get<Stats>(`${url}/stats?topic=${encodeURIComponent(topic)}`, headers)).body.per_topic[topic];
  return counts && { received: counts.received, unique_processed: counts.unique_processed, duplicate_dropped: counts.duplicate_dropped };
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );

describe('createPublisher against the real server', { timeout: 60_000 }, () => {
  const server = serverForSuite('pglite');

  test("tenant: events go to that tenant (X-Scope-OrgID); the client's stats and subscribe read it, not another", async (t) => {
    const topic = uniqueTopic('tenant');
    const publisher = publisherFor(t, { url: server.url, tenant: 'acme', lingerMs: 1 });
    const received: StoredEvent[] = [];
    const stop = new AbortController();
    t.after(() => stop.abort());
    // From the topic's beginning (after: 0), so the stream cannot miss what is published before it opens.
    const following = subscribe({
      url: server.url,
      tenant: 'acme',
      topic,
      after: 0,
      signal: stop.signal,
      onEvent: (e) => received.push(e),
    });
    await Promise.all([publisher.publish(line(topic, 1)), publisher.publish(line(topic, 2))]);
    assert.deepEqual(await topicCounts(server.url, topic, { 'x-scope-orgid': 'acme' }), {
      received: 2,
      unique_processed: 2,
      duplicate_dropped: 0,
    });
    assert.equal(await topicCounts(server.url, topic), undefined);
    const client = createClient({ url: server.url, tenant: 'acme' });
    t.after(() => client.close());
    assert.equal((await client.stats({ topics: [topic] })).per_topic[topic]?.received, 2);
    await waitFor(async () => received.length === 2, 10_000, "acme's two events on the stream");
    assert.deepEqual(received.map((e) => e.payload).sort(), [{ n: 1 }, { n: 2 }]);
    stop.abort();
    await following.catch(() => undefined);
  });

  test('events are cut into batches of batchMax, the rest after lingerMs; each promise resolves after commit', async (t) => {
    const topic = uniqueTopic('batching');
    // The linger is wall-clock time from a batch's first event: long enough that a stall of the loaded test process
    // between two synchronous publish() calls cannot ripen a batch early (20 ms gave batches of 6 and 9 at load 14).
    const publisher = publisherFor(t, { url: server.url, batchMax: 10, lingerMs: 300 });
    const acks = await Promise.all(Array.from({ length: 25 }, (_, n) => publisher.publish(line(topic, n))));
    const batches = new Set(acks.map((ack) => ack.batch));
    assert.deepEqual(
      [...batches].map((batch) => batch.events).sort((a, b) => a - b),
      [5, 10, 10],
    );
    assert.ok(acks.every((ack) => ack.outcome === 'unique' && ack.topic === topic && UUID_V7.test(ack.event_id)));
    const rows = await stored(server.url, topic);
    assert.deepEqual(rows.map((row) => row.event_id).sort(), acks.map((ack) => ack.event_id).sort());
    assert.deepEqual(await topicCounts(server.url, topic), { received: 25, unique_processed: 25, duplicate_dropped: 0 });
  });

  test('an id and timestamp the caller gives are kept; a second publish of the same event resolves as a duplicate', async (t) => {
    const topic = uniqueTopic('given-id');
    const publisher = publisherFor(t, { url: server.url, lingerMs: 0 });
    const event = line(topic, 1, { event_id: 'order-42', timestamp: '2025-10-21T10:00:00.000Z' });
    assert.equal((await publisher.publish(event)).outcome, 'unique');
    const again = await publisher.publish(event);
    assert.deepEqual({ id: again.event_id, outcome: again.outcome }, { id: 'order-42', outcome: 'duplicate' });
    const rows = await stored(server.url, topic);
    assert.deepEqual(
      rows.map((row) => [row.event_id, Date.parse(row.timestamp)]),
      [['order-42', Date.parse('2025-10-21T10:00:00.000Z')]],
    );
  });

  test('an answer lost after the commit is retried with the same ids: stored once, the copy counted as duplicates', async (t) => {
    const topic = uniqueTopic('lost-answer');
    const proxy = await startFaultProxy(t, server.url, firstPublishes(1, { kind: 'lose-answer' }));
    const publisher = publisherFor(t, { url: proxy.url, batchMax: 20, lingerMs: 300 });
    const acks = await Promise.all(Array.from({ length: 20 }, (_, n) => publisher.publish(line(topic, n))));
    const [first, second] = proxy.requests;
    assert.equal(proxy.requests.length, 2);
    assert.equal(second?.body, first?.body, 'the retry resends the same events, same event_ids');
    const batch = (acks[0] as PublishAck).batch;
    assert.deepEqual(
      { attempts: batch.attempts, uncertain: batch.uncertainAttempts, result: batch.result },
      { attempts: 2, uncertain: 1, result: { received: 20, unique: 0, duplicates: 20 } },
    );
    assert.ok(
      acks.every((ack) => ack.outcome === 'unknown'),
      'the server saw its own earlier copy: which copy was first cannot be told',
    );
    assert.equal((await stored(server.url, topic)).length, 20);
    assert.deepEqual(await topicCounts(server.url, topic), { received: 40, unique_processed: 20, duplicate_dropped: 20 });
  });

  test('a 503 with Retry-After is waited out before the retry, then the events commit once', async (t) => {
    const topic = uniqueTopic('retry-after');
    const overloaded = {
      kind: 'answer',
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: 'OVERLOADED', message: 'queue full' },
    } as const;
    const proxy = await startFaultProxy(t, server.url, firstPublishes(1, overloaded));
    const notices: RetryNotice[] = [];
    const publisher = publisherFor(t, { url: proxy.url, lingerMs: 0, onRetry: (notice) => notices.push(notice) });
    const ack = await publisher.publish(line(topic, 1));
    const [first, second] = proxy.requests;
    assert.ok(first && second);
    // 990: a timer may fire up to ~1 ms early against performance.now(); the delayMs check below holds the intent.
    assert.ok(second.at - first.at >= 990, `retried after ${(second.at - first.at).toFixed(0)} ms; Retry-After asked for 1000`);
    assert.ok((notices[0] as RetryNotice).delayMs >= 1000);
    assert.deepEqual(
      { outcome: ack.outcome, attempts: ack.batch.attempts, uncertain: ack.batch.uncertainAttempts },
      { outcome: 'unique', attempts: 2, uncertain: 0 },
    );
    assert.deepEqual(await topicCounts(server.url, topic), { received: 1, unique_processed: 1, duplicate_dropped: 0 });
  });

  test('past maxQueue pending events publish rejects at once with QueueFullError and enqueues nothing', async (t) => {
    const topic = uniqueTopic('overflow');
    const errors: Error[] = [];
    const publisher = publisherFor(t, {
      url: server.url,
      maxQueue: 3,
      batchMax: 100,
      lingerMs: 60_000,
      onError: (error) => errors.push(error),
    });
    const accepted = [0, 1, 2].map((n) => publisher.publish(line(topic, n)));
    const refused = await rejection(publisher.publish(line(topic, 3, { event_id: 'refused' })));
    assert.ok(refused instanceof QueueFullError);
    assert.equal(refused.code, 'QUEUE_FULL');
    assert.deepEqual(errors, [refused]);
    assert.equal(publisher.pending, 3);
    await publisher.flush();
    assert.equal((await Promise.all(accepted)).length, 3);
    assert.equal(publisher.pending, 0);
    const fourth = publisher.publish(line(topic, 4));
    assert.equal(publisher.pending, 1, 'room again once the queue drained');
    await publisher.flush();
    await fourth;
    const ids = (await stored(server.url, topic)).map((row) => row.event_id);
    assert.equal(ids.length, 4);
    assert.ok(!ids.includes('refused'));
  });

  test('flush resolves once every event published before it is committed, without waiting for the linger', async (t) => {
    const topic = uniqueTopic('flush');
    const publisher = publisherFor(t, { url: server.url, batchMax: 1000, lingerMs: 60_000 });
    let resolved = 0;
    for (let n = 0; n < 50; n++) void publisher.publish(line(topic, n)).then(() => resolved++);
    await publisher.flush();
    assert.equal(resolved, 50);
    assert.equal((await stored(server.url, topic)).length, 50);
    await publisher.flush();
  });

  test('close commits what is pending, then refuses new events with PublisherClosedError; a second close is a no-op', async (t) => {
    const topic = uniqueTopic('close');
    const publisher = publisherFor(t, { url: server.url, batchMax: 1000, lingerMs: 60_000 });
    const acks = Array.from({ length: 10 }, (_, n) => publisher.publish(line(topic, n)));
    const closing = publisher.close();
    assert.ok((await rejection(publisher.publish(line(topic, 99)))) instanceof PublisherClosedError);
    await closing;
    assert.equal((await Promise.all(acks)).length, 10);
    assert.equal((await stored(server.url, topic)).length, 10);
    await publisher.close();
  });

  test('a 422 rejects only the bad events, with the server details; the rest of the batch is sent again and commits', async (t) => {
    const topic = uniqueTopic('invalid');
    const failures: { error: Error; events: number }[] = [];
    const publisher = publisherFor(t, {
      url: server.url,
      batchMax: 5,
      lingerMs: 60_000,
      onError: (error, events) => failures.push({ error, events: events.length }),
    });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, n) => publisher.publish(line(topic, n, n === 2 ? { timestamp: 'yesterday' } : {}))),
    );
    const bad = results[2];
    assert.equal(bad?.status, 'rejected');
    const error: unknown = bad.status === 'rejected' ? bad.reason : undefined;
    assert.ok(error instanceof PublishRejectedError);
    assert.deepEqual({ status: error.status, code: error.code }, { status: 422, code: 'VALIDATION_FAILED' });
    assert.ok(
      error.details.length > 0 && error.details.every((d) => (d as { path: string }).path === '/timestamp'),
      JSON.stringify(error.details),
    );
    assert.match(error.message, /\/timestamp/);
    assert.ok(error.cause instanceof HttpError);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(
      failures.map((f) => f.events),
      [1],
    );
    assert.deepEqual(await topicCounts(server.url, topic), { received: 4, unique_processed: 4, duplicate_dropped: 0 });
  });

  test('a body refused as a whole (400 INVALID_JSON: a __proto__ key) is halved until only the offending event is rejected', async (t) => {
    const topic = uniqueTopic('proto');
    const failures: { error: Error; events: number }[] = [];
    const publisher = publisherFor(t, {
      url: server.url,
      batchMax: 3,
      lingerMs: 60_000,
      onError: (error, events) => failures.push({ error, events: events.length }),
    });
    // JSON.parse makes `__proto__` an own key, as a parsed request body that an app publishes would.
    const poisoned = JSON.parse('{"body":{"__proto__":{"x":1}}}') as NewEvent['payload'];
    const results = await Promise.allSettled(
      [line(topic, 0), line(topic, 1, { payload: poisoned }), line(topic, 2)].map((event) => publisher.publish(event)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const error: unknown = results[1]?.status === 'rejected' ? results[1].reason : undefined;
    assert.ok(error instanceof PublishRejectedError);
    assert.deepEqual({ status: error.status, code: error.code }, { status: 400, code: 'INVALID_JSON' });
    assert.deepEqual(
      failures.map((f) => f.events),
      [1],
    );
    assert.deepEqual((await stored(server.url, topic)).map((row) => (row.payload as { n: number }).n).sort(), [0, 2]);
  });

  test('publish of something other than an event object returns a rejected promise (TypeError), it does not throw', async (t) => {
    const failures: Error[] = [];
    const publisher = publisherFor(t, { url: server.url, onError: (error) => failures.push(error) });
    for (const input of [null, undefined, 'text', [line('x', 1)]]) {
      let promise: Promise<PublishAck> | undefined;
      assert.doesNotThrow(() => (promise = publisher.publish(input as unknown as NewEvent)));
      const refused = await rejection(promise as Promise<PublishAck>);
      assert.ok(refused instanceof TypeError);
      assert.match(refused.message, /publish expects an event object/);
    }
    assert.equal(failures.length, 4);
    assert.equal(publisher.pending, 0);
  });

  test('an onError or onRetry callback that throws becomes a warning: events still settle, nothing goes unhandled', async (t) => {
    const unhandled: unknown[] = [];
    const warnings: Error[] = [];
    const record = (reason: unknown): void => void unhandled.push(reason);
    const warn = (warning: Error): void => void warnings.push(warning);
    process.on('unhandledRejection', record);
    process.on('warning', warn);
    t.after(() => {
      process.off('unhandledRejection', record);
      process.off('warning', warn);
    });
    const topic = uniqueTopic('throwing-callbacks');
    const proxy = await startFaultProxy(
      t,
      server.url,
      firstPublishes(1, { kind: 'answer', status: 503, body: { error: 'OVERLOADED', message: 'queue full' } }),
    );
    const callback = (): never => {
      throw new Error('callback bug');
    };
    const publisher = publisherFor(t, { url: proxy.url, maxQueue: 2, lingerMs: 0, concurrency: 1, onError: callback, onRetry: callback });
    const good = publisher.publish(line(topic, 1));
    void publisher.publish(line(topic, 2, { timestamp: 'never' }));
    // The queue is full: refused at once, through the throwing onError.
    assert.ok((await rejection(publisher.publish(line(topic, 3)))) instanceof QueueFullError);
    await publisher.flush();
    assert.equal((await good).topic, topic, 'the retry after the throwing onRetry committed the event');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
    // onRetry once, onError for the queue-full refusal and the 422.
    assert.equal(
      warnings.filter((w) => w.name === 'LogaggClientWarning' && /callback bug/.test(w.message)).length,
      3,
      warnings.map(String).join('\n'),
    );
    assert.equal((await stored(server.url, topic)).length, 1);
  });

  test('flushes called one after another each resolve once their own events are settled', async (t) => {
    const topic = uniqueTopic('flushes');
    const publisher = publisherFor(t, { url: server.url, batchMax: 2, lingerMs: 60_000, concurrency: 1 });
    let settled = 0;
    const seenAtFlush: number[] = [];
    const flushes: Promise<void>[] = [];
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 3; n++) void publisher.publish(line(topic, round * 3 + n)).then(() => settled++);
      flushes.push(publisher.flush().then(() => void seenAtFlush.push(settled)));
    }
    await Promise.all(flushes);
    // Each flush waits for at least its own rounds' events; they resolve in the order they were called.
    assert.equal(seenAtFlush.length, 3);
    seenAtFlush.forEach((seen, round) => assert.ok(seen >= (round + 1) * 3, `flush ${round} resolved with ${seen} events settled`));
    assert.deepEqual(
      [...seenAtFlush].sort((a, b) => a - b),
      seenAtFlush,
    );
    assert.equal((await stored(server.url, topic)).length, 9);
  });

  test('a failed event nobody awaits raises no unhandled rejection; onError still hears of it', async (t) => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    t.after(() => process.off('unhandledRejection', record));
    const failures: Error[] = [];
    const publisher = publisherFor(t, { url: server.url, lingerMs: 0, onError: (error) => failures.push(error) });
    void publisher.publish(line(uniqueTopic('ignored'), 1, { timestamp: 'never' }));
    await publisher.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(failures.length, 1);
    assert.deepEqual(unhandled, []);
  });
});

describe('createPublisher against a server with an API key and a 64 KiB body limit', { timeout: 60_000 }, () => {
  const server = serverForSuite('pglite', { apiKey: 'secret', bodyLimit: 64 * 1024 });
  const bulky = (topic: string, n: number): NewEvent => line(topic, n, { payload: { n, text: 'x'.repeat(10_000) } });

  test('a wrong API key rejects every event of the batch with the 401, without retrying', async (t) => {
    const proxy = await startFaultProxy(t, server.url, () => ({ kind: 'forward' }));
    const publisher = publisherFor(t, { url: proxy.url, apiKey: 'wrong', batchMax: 3, lingerMs: 60_000 });
    const results = await Promise.allSettled([0, 1, 2].map((n) => publisher.publish(line(uniqueTopic('unauthorized'), n))));
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      const reason: unknown = result.status === 'rejected' ? result.reason : undefined;
      assert.ok(reason instanceof PublishRejectedError);
      assert.deepEqual({ status: reason.status, code: reason.code }, { status: 401, code: 'UNAUTHORIZED' });
    }
    assert.equal(proxy.requests.length, 1);
  });

  test('a batch over the body limit is split until each part fits; one event over it alone is refused with 413', async (t) => {
    const topic = uniqueTopic('split');
    const publisher = publisherFor(t, { url: server.url, apiKey: 'secret', batchMax: 12, lingerMs: 60_000 });
    const acks = Array.from({ length: 12 }, (_, n) => publisher.publish(bulky(topic, n)));
    const huge = publisher.publish(line(topic, 99, { payload: { text: 'x'.repeat(100_000) } }));
    await publisher.flush();
    const committed = await Promise.all(acks);
    assert.ok(new Set(committed.map((ack) => ack.batch)).size > 1, 'sent in several requests');
    const refused = await rejection(huge);
    assert.ok(refused instanceof PublishRejectedError);
    assert.equal(refused.status, 413);
    assert.deepEqual(await topicCounts(server.url, topic, { authorization: 'Bearer secret' }), {
      received: 12,
      unique_processed: 12,
      duplicate_dropped: 0,
    });
  });
});
