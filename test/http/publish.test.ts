import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import type { StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, kept, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

for (const kind of storeKinds()) {
  describe(`POST /publish [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { maxBatchEvents: 500, bodyLimit: 256 * 1024 });
    const publish = <T = PublishResult>(body: unknown) => post<T>(`${server.url}/publish`, body);
    const topicCounts = async (topic: string) =>
      counters((await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic]);
    const storedIn = async (topic: string) => (await get<StoredEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;

    test('the same event twice is stored once and counted once as a duplicate', async () => {
      const topic = uniqueTopic('dedup');
      const event = makeEvent(topic, 'evt-1');
      const first = await publish(event);
      const second = await publish(event);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, { received: 1, unique: 1, duplicates: 0 });
      assert.deepEqual(second.body, { received: 1, unique: 0, duplicates: 1 });
      assert.deepEqual(await topicCounts(topic), kept(2, 1));
      assert.equal((await storedIn(topic)).length, 1);
    });

    test('the first copy wins: a later copy with another payload is a duplicate and changes nothing', async () => {
      const topic = uniqueTopic('first-wins');
      await publish(makeEvent(topic, 'a', { payload: { v: 1 } }));
      const again = await publish(makeEvent(topic, 'a', { payload: { v: 2 } }));
      assert.deepEqual(again.body, { received: 1, unique: 0, duplicates: 1 });
      assert.deepEqual((await storedIn(topic))[0]?.payload, { v: 1 });
    });

    test('a missing field is refused with 422 naming the field, and nothing is counted', async () => {
      const topic = uniqueTopic('missing');
      const { event_id: _dropped, ...event } = makeEvent(topic, 'x');
      const reply = await publish<ErrorBody>(event);
      assert.equal(reply.status, 422);
      assert.equal(reply.body.error, 'VALIDATION_FAILED');
      assert.deepEqual(reply.body.details, [{ index: 0, path: '/event_id', message: 'missing required field "event_id"' }]);
      assert.equal(await topicCounts(topic), undefined);
    });

    test('a topic, event_id or source beginning with U+FEFF is refused with 422: PGlite would read it back without', async () => {
      const topic = uniqueTopic('bom');
      for (const field of ['topic', 'event_id', 'source'] as const) {
        const event = { ...makeEvent(topic, 'x'), [field]: `\uFEFF${field}` };
        const reply = await publish<ErrorBody>(event);
        assert.equal(reply.status, 422);
        assert.deepEqual(reply.body.details, [{ index: 0, path: `/${field}`, message: 'must not begin with U+FEFF (a byte order mark)' }]);
      }
      assert.equal(await topicCounts(topic), undefined);
      // Inside a string it is only a character (the fuzzer's find was a bulk index of U+FEFF alone).
      assert.equal((await publish({ ...makeEvent(topic, 'y'), source: 'a\uFEFF' })).status, 200);
    });

    test('timestamps without a time zone or that are not dates are refused with 422', async () => {
      const topic = uniqueTopic('timestamp');
      for (const timestamp of [
        '2025-10-21T10:00:00',
        '2025-10-21',
        'yesterday',
        '2025-13-01T00:00:00Z',
        '2025-02-30T00:00:00Z',
        '0000-01-01T00:00:00Z',
        '',
      ]) {
        const reply = await publish<ErrorBody>(makeEvent(topic, 'x', { timestamp }));
        assert.equal(reply.status, 422, timestamp);
        assert.equal((reply.body.details?.[0] as { path: string }).path, '/timestamp');
      }
      const offset = await publish(makeEvent(topic, 'offset', { timestamp: '2025-10-21T17:00:00.5+07:00' }));
      assert.equal(offset.status, 200);
      assert.equal((await storedIn(topic))[0]?.timestamp, '2025-10-21T10:00:00.5Z');
    });

    test('unknown top-level fields and wrong types are refused with 422', async () => {
      const topic = uniqueTopic('unknown');
      const extra = await publish<ErrorBody>({ ...makeEvent(topic, 'x'), severity: 'info' });
      assert.equal(extra.status, 422);
      assert.deepEqual(extra.body.details, [{ index: 0, path: '/severity', message: 'unknown field "severity"' }]);
      for (const bad of [
        { payload: 'text' },
        { payload: [1] },
        { topic: '' },
        { topic: 'x'.repeat(256) },
        { source: 5 },
        { event_id: null },
      ]) {
        const reply = await publish<ErrorBody>({ ...makeEvent(topic, 'x'), ...bad });
        assert.equal(reply.status, 422, JSON.stringify(bad));
      }
      assert.equal(await topicCounts(topic), undefined);
    });

    test('a batch with in-batch duplicates stores each key once and answers with its own counts', async () => {
      const topic = uniqueTopic('batch');
      const events = [makeEvent(topic, '1'), makeEvent(topic, '2'), makeEvent(topic, '1'), makeEvent(topic, '3'), makeEvent(topic, '2')];
      const reply = await publish(events);
      assert.deepEqual(reply.body, { received: 5, unique: 3, duplicates: 2 });
      const envelope = await publish({ events: [makeEvent(topic, '3'), makeEvent(topic, '4')] });
      assert.deepEqual(envelope.body, { received: 2, unique: 1, duplicates: 1 });
      assert.deepEqual(
        (await storedIn(topic)).map((e) => e.event_id),
        ['1', '2', '3', '4'],
      );
      assert.deepEqual(await topicCounts(topic), kept(7, 4));
    });

    test('a batch with one bad event stores nothing and names each bad index in details', async () => {
      const topic = uniqueTopic('reject-whole');
      const events = [makeEvent(topic, '1'), makeEvent(topic, '2', { timestamp: 'nope' }), makeEvent(topic, '3'), { topic }];
      const reply = await publish<ErrorBody>(events);
      assert.equal(reply.status, 422);
      const indexes = new Set((reply.body.details as Array<{ index: number }>).map((d) => d.index));
      assert.deepEqual([...indexes].sort(), [1, 3]);
      assert.equal(await topicCounts(topic), undefined);
      assert.equal((await storedIn(topic)).length, 0);
    });

    test('the same event_id on two topics is two events (the key is composite)', async () => {
      const a = uniqueTopic('composite-a');
      const b = uniqueTopic('composite-b');
      assert.deepEqual((await publish(makeEvent(a, 'shared'))).body, { received: 1, unique: 1, duplicates: 0 });
      assert.deepEqual((await publish(makeEvent(b, 'shared'))).body, { received: 1, unique: 1, duplicates: 0 });
    });

    test('five concurrent copies of one event are stored once: one unique, four duplicates', async () => {
      const topic = uniqueTopic('race');
      const replies = await Promise.all(Array.from({ length: 5 }, () => publish(makeEvent(topic, 'same'))));
      assert.ok(replies.every((r) => r.status === 200));
      assert.equal(
        replies.reduce((n, r) => n + r.body.unique, 0),
        1,
      );
      assert.equal(
        replies.reduce((n, r) => n + r.body.duplicates, 0),
        4,
      );
      assert.deepEqual(await topicCounts(topic), kept(5, 1));
    });

    test('ten concurrent distinct events are all stored', async () => {
      const topic = uniqueTopic('concurrent');
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => publish(makeEvent(topic, `e${i}`))));
      assert.ok(replies.every((r) => r.body.unique === 1));
      assert.equal((await storedIn(topic)).length, 10);
    });

    test('one hundred sequential events are all stored in publish order', async () => {
      const topic = uniqueTopic('sequential');
      for (let i = 0; i < 100; i++) assert.equal((await publish(makeEvent(topic, `s${i}`))).status, 200);
      const stored = await storedIn(topic);
      assert.deepEqual(
        stored.map((e) => e.event_id),
        Array.from({ length: 100 }, (_, i) => `s${i}`),
      );
    });

    test('payloads round-trip: unicode, nesting, key order and numbers at the edges of a double', async () => {
      const topic = uniqueTopic('roundtrip');
      const payload = {
        z: 'last key first',
        content: 'Transaksi sukses 💸 — ünïcödé 日本語 "quoted" \\ back\nslash',
        metadata: { amount: 500000, nested: { deeper: [1, [2, [3, { four: null }]]] }, empty: {}, list: [] },
        numbers: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1.7976931348623157e308, 5e-324, -0.5, 0],
        flags: [true, false, null],
      };
      await publish(makeEvent(topic, 'p', { payload, source: 'svc-ü' }));
      const [stored] = await storedIn(topic);
      assert.deepEqual(stored?.payload, payload);
      assert.deepEqual(Object.keys(stored?.payload ?? {}), Object.keys(payload));
      assert.equal(stored?.source, 'svc-ü');
      assert.equal(typeof stored?.seq, 'number');
      assert.match(stored?.received_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    });

    test('strings the store cannot hold (U+0000, lone surrogates) and deep nesting are refused with 422', async () => {
      const topic = uniqueTopic('unstorable');
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 100; i++) deep = { d: deep };
      const cases = [
        JSON.stringify(makeEvent(topic, 'nul', { payload: { s: 'a\u0000b' } })),
        JSON.stringify(makeEvent(topic, 'nul-topic', { topic: 'a\u0000b' })),
        JSON.stringify(makeEvent(topic, 'sur', { payload: { s: 'x' } })).replace('"x"', '"\\ud800"'),
        JSON.stringify(makeEvent(topic, 'sur-key', { payload: { x: 1 } })).replace('"x"', '"\\udc00"'),
        JSON.stringify(makeEvent(topic, 'deep', { payload: deep })),
      ];
      for (const raw of cases) {
        const reply = await post<ErrorBody>(`${server.url}/publish`, undefined, { raw });
        assert.equal(reply.status, 422, raw.slice(0, 80));
      }
      assert.equal(await topicCounts(topic), undefined);
    });

    test('malformed JSON gets 400, a wrong content type 415, and neither counts', async () => {
      const topic = uniqueTopic('malformed');
      const before = (await get<Stats>(`${server.url}/stats`)).body.received;
      for (const raw of ['{"topic":', '', 'nul', '{"__proto__": {"x": 1}}', '[1,]']) {
        const reply = await post<ErrorBody>(`${server.url}/publish`, undefined, { raw });
        assert.equal(reply.status, 400, raw);
        assert.equal(reply.body.error, 'INVALID_JSON');
      }
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const reply = await post<ErrorBody>(`${server.url}/publish`, undefined, {
          raw: JSON.stringify(makeEvent(topic, 'x')),
          contentType,
        });
        assert.equal(reply.status, 415, contentType);
        assert.equal(reply.body.error, 'UNSUPPORTED_MEDIA_TYPE');
      }
      assert.equal((await get<Stats>(`${server.url}/stats`)).body.received, before);
    });

    test('a body over the size limit and a batch over the event limit get 413 and store nothing', async () => {
      const topic = uniqueTopic('limits');
      const big = await publish<ErrorBody>(makeEvent(topic, 'big', { payload: { blob: 'x'.repeat(300 * 1024) } }));
      assert.equal(big.status, 413);
      assert.equal(big.body.error, 'BODY_TOO_LARGE');
      const many = await publish<ErrorBody>(Array.from({ length: 501 }, (_, i) => makeEvent(topic, `m${i}`, { payload: {} })));
      assert.equal(many.status, 413);
      assert.equal(many.body.error, 'BATCH_TOO_LARGE');
      assert.equal(await topicCounts(topic), undefined);
    });

    test("SQL in any field is data: a topic like x'); DROP TABLE events;-- is just a topic", async () => {
      const topic = `x'); DROP TABLE events;-- ${uniqueTopic('sql')}`;
      const event = makeEvent(topic, "1' OR '1'='1", { source: "'; DELETE FROM topic_stats;--", payload: { q: "'); TRUNCATE events;--" } });
      assert.deepEqual((await publish(event)).body, { received: 1, unique: 1, duplicates: 0 });
      const [stored] = await storedIn(topic);
      assert.deepEqual({ ...stored, seq: 0, received_at: '' }, { ...event, seq: 0, received_at: '', timestamp: '2025-10-21T10:00:00Z' });
      assert.deepEqual(await topicCounts(topic), kept(1, 1));
    });

    test('an empty array is accepted as nothing to do', async () => {
      assert.deepEqual((await publish([])).body, { received: 0, unique: 0, duplicates: 0 });
    });
  });
}
