import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { StoredEvent } from '../../src/schema/event.js';
import type { ExportLogsResponse } from '../../src/schema/otlp.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { assertStatus, type Json, kv, logs, str } from './otlp.js';

/** A stored event whose payload is an OTLP record (src/inlets/otlp/map.ts). */
type OtlpEvent = Omit<StoredEvent, 'payload'> & { payload: Record<string, unknown> };

const T0 = '1700000000123456789';

for (const kind of storeKinds()) {
  describe(`POST /v1/logs mapping [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { maxBatchEvents: 20 });
    const send = <T = ExportLogsResponse>(body: Json) => post<T>(`${server.url}/v1/logs`, body);
    const storedIn = async (topic: string) => (await get<OtlpEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;
    const counts = async (topic: string) => {
      const c = (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
      return c && [c.received, c.unique_processed, c.duplicate_dropped];
    };

    test('topic: record logagg.topic, else resource logagg.topic, else service.name; source: service.name, else host.name', async () => {
      const service = uniqueTopic('svc');
      const resourceTopic = uniqueTopic('res');
      const recordTopic = uniqueTopic('rec');
      const host = uniqueTopic('host');
      const reply = await send(
        logs(
          [kv('service.name', str(service))],
          [{ body: str('a') }, { body: str('b'), attributes: [kv('logagg.topic', str(recordTopic))] }],
        ),
      );
      assert.deepEqual(reply.body, {});
      await send(logs([kv('service.name', str(service)), kv('logagg.topic', str(resourceTopic))], [{ body: str('c') }]));
      await send(logs([kv('host.name', str(host)), kv('logagg.topic', str(host))], [{ body: str('d') }]));
      assert.deepEqual(
        (await storedIn(service)).map((e) => [e.payload.body, e.source]),
        [['a', service]],
      );
      assert.deepEqual(
        (await storedIn(recordTopic)).map((e) => [e.payload.body, e.source]),
        [['b', service]],
      );
      assert.deepEqual(
        (await storedIn(resourceTopic)).map((e) => [e.payload.body, e.source]),
        [['c', service]],
      );
      assert.deepEqual(
        (await storedIn(host)).map((e) => [e.payload.body, e.source]),
        [['d', host]],
      );
    });

    test('without logagg.topic and service.name the topic is "otlp"; without service.name and host.name the source is "otlp"', async () => {
      const marker = uniqueTopic('default');
      await send(logs([], [{ body: str(marker) }]));
      const stored = (await storedIn('otlp')).filter((e) => e.payload.body === marker);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]?.source, 'otlp');
    });

    test('event_id is log.record.uid when set: a retry of the same uid is a duplicate even with another body', async () => {
      const topic = uniqueTopic('uid');
      const first = await send(
        logs([kv('service.name', str(topic))], [{ body: str('one'), attributes: [kv('log.record.uid', str('01J0UID'))] }]),
      );
      const again = await send(
        logs([kv('service.name', str(topic))], [{ body: str('two'), attributes: [kv('log.record.uid', str('01J0UID'))] }]),
      );
      assert.deepEqual([first.status, again.status], [200, 200]);
      const stored = await storedIn(topic);
      assert.deepEqual(
        stored.map((e) => [e.event_id, e.payload.body]),
        [['01J0UID', 'one']],
      );
      assert.deepEqual(await counts(topic), [2, 1, 1]);
    });

    test('without a uid, event_id is a sha256 of the record: the same record again is a duplicate however it is encoded', async () => {
      const topic = uniqueTopic('hash');
      const record = {
        timeUnixNano: T0,
        severityNumber: 9,
        body: str('same'),
        attributes: [kv('a', { intValue: '5' }), kv('b', str('x'))],
      };
      const reencoded = {
        severityNumber: 9,
        timeUnixNano: Number(T0),
        body: str('same'),
        attributes: [kv('b', str('x')), kv('a', { intValue: 5 })],
      };
      await send(logs([kv('service.name', str(topic))], [record]));
      await send(logs([kv('service.name', str(topic))], [reencoded]));
      // Number(T0) is not exact as a double, so the re-encoded record differs in time: use the exact one too.
      await send(logs([kv('service.name', str(topic))], [{ ...reencoded, timeUnixNano: T0 }]));
      const stored = await storedIn(topic);
      assert.match(stored[0]?.event_id ?? '', /^[0-9a-f]{64}$/);
      assert.deepEqual(await counts(topic), [3, 2, 1]);
    });

    test('two identical records in one request, same nanosecond and no uid, are one event; any difference makes two', async () => {
      const topic = uniqueTopic('identical');
      const record = { timeUnixNano: T0, observedTimeUnixNano: T0, body: str('tick') };
      const reply = await send(
        logs(
          [kv('service.name', str(topic))],
          [record, record, { ...record, body: str('tock') }, { ...record, observedTimeUnixNano: '1700000000123456790' }],
        ),
      );
      assert.deepEqual(reply.body, {});
      assert.deepEqual(await counts(topic), [4, 3, 1]);
    });

    test('the timestamp is timeUnixNano, else observedTimeUnixNano, else the time of receipt', async () => {
      const topic = uniqueTopic('time');
      const before = Date.now();
      await send(
        logs(
          [kv('service.name', str(topic))],
          [
            { timeUnixNano: T0, observedTimeUnixNano: '1600000000000000000', body: str('time') },
            { timeUnixNano: '0', observedTimeUnixNano: '1600000000000001000', body: str('observed') },
            { body: str('receipt') },
          ],
        ),
      );
      const after = Date.now();
      const byBody = new Map((await storedIn(topic)).map((e) => [e.payload.body, e]));
      assert.equal(byBody.get('time')?.timestamp, '2023-11-14T22:13:20.123457Z');
      assert.equal(byBody.get('time')?.payload.time_unix_nano, T0);
      assert.equal(byBody.get('observed')?.timestamp, '2020-09-13T12:26:40.000001Z');
      const receipt = Date.parse(byBody.get('receipt')?.timestamp ?? '');
      assert.ok(receipt >= before && receipt <= after, `receipt time ${receipt} not in [${before}, ${after}]`);
    });

    test('the payload keeps the whole record: body, severity, attributes, trace ids, resource and scope', async () => {
      const topic = uniqueTopic('payload');
      const body = {
        kvlistValue: {
          values: [
            kv('msg', str('hi')),
            kv('n', { doubleValue: 1.5 }),
            kv('list', { arrayValue: { values: [{ boolValue: true }, { intValue: '9007199254740993' }, {}] } }),
          ],
        },
      };
      const record = {
        timeUnixNano: T0,
        severityNumber: 17,
        severityText: 'ERROR',
        body,
        attributes: [kv('http.status', { intValue: '500' }), kv('raw', { bytesValue: 'AAEC' })],
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        flags: 1,
        eventName: 'app.failure',
        unknownField: 'ignored',
      };
      await send(logs([kv('service.name', str(topic)), kv('host.name', str('h1'))], [record]));
      const [stored] = await storedIn(topic);
      assert.deepEqual(stored?.payload, {
        body: { msg: 'hi', n: 1.5, list: [true, '9007199254740993', null] },
        severity_number: 17,
        severity_text: 'ERROR',
        attributes: { 'http.status': 500, raw: 'AAEC' },
        event_name: 'app.failure',
        trace_id: '5b8efff798038103d269b633813fc60c',
        span_id: 'eee19b7ec3c1b174',
        flags: 1,
        time_unix_nano: T0,
        resource: { attributes: { 'service.name': topic, 'host.name': 'h1' } },
        scope: { name: 'test-scope', version: '1.2.3' },
      });
    });

    test('absent and empty fields are left out of the payload: scope, attributes, a time of "0"', async () => {
      const topic = uniqueTopic('bare');
      const bare = { body: str('bare'), attributes: [], timeUnixNano: '0', observedTimeUnixNano: '0' };
      const resourceLogs = (scope: Json | undefined) => ({
        resource: { attributes: [kv('logagg.topic', str(topic))] },
        scopeLogs: [{ ...(scope === undefined ? {} : { scope }), logRecords: [bare] }],
      });
      const request: Json = {
        resourceLogs: [
          resourceLogs(undefined),
          resourceLogs({ name: '', version: '', attributes: [] }),
          resourceLogs({ name: 'only-name' }),
        ],
      };
      assert.equal((await send(request)).status, 200);
      const payloads = (await storedIn(topic)).map((event) => event.payload);
      // The first two records are the same record (an empty scope is no scope): one event.
      assert.deepEqual(payloads, [
        { body: 'bare', resource: { attributes: { 'logagg.topic': topic } } },
        { body: 'bare', resource: { attributes: { 'logagg.topic': topic } }, scope: { name: 'only-name' } },
      ]);
    });

    test('records that cannot be events are rejected with partialSuccess, and the rest of the request is stored', async () => {
      const topic = uniqueTopic('partial');
      const reply = await send(
        logs(
          [kv('service.name', str(topic))],
          [
            { body: str('ok-1') },
            { body: str('long topic'), attributes: [kv('logagg.topic', str('x'.repeat(256)))] },
            { body: str('nul \u0000 inside') },
            { body: str('ok-2') },
            { body: str('number uid'), attributes: [kv('log.record.uid', { intValue: '7' })] },
          ],
        ),
      );
      assert.equal(reply.status, 200);
      assert.equal(reply.body.partialSuccess?.rejectedLogRecords, 3);
      assert.match(
        reply.body.partialSuccess?.errorMessage ?? '',
        /logRecords\/1: .*logRecords\/2: .*logRecords\/4: attribute log.record.uid must be a string/,
      );
      assert.deepEqual(
        (await storedIn(topic)).map((e) => e.payload.body),
        ['ok-1', 'ok-2'],
      );
      assert.deepEqual(await counts(topic), [2, 2, 0]);
      const none = await send(logs([kv('service.name', str(topic))], [{ body: str('a\u0000') }, { body: str('b\u0000') }]));
      assert.equal(none.status, 200);
      assert.equal(none.body.partialSuccess?.rejectedLogRecords, 2);
      assert.deepEqual(await counts(topic), [2, 2, 0]);
    });

    test('a body that does not decode gets 400 INVALID_ARGUMENT and nothing is stored; NDJSON gets 415', async () => {
      const topic = uniqueTopic('undecodable');
      assertStatus(await post(`${server.url}/v1/logs`, undefined, { raw: '{"resourceLogs": [' }), 400, 3, 'INVALID_JSON');
      const shapes: Json[] = [
        { resourceLogs: {} },
        logs([kv('service.name', str(topic))], [{ body: str('fine') }, { body: str('x'), timeUnixNano: 'yesterday' }]),
        logs([kv('service.name', str(topic))], [{ body: { intValue: 'twelve' } }]),
        logs([kv('service.name', str(topic))], [{ body: str('x'), attributes: {} }]),
      ];
      for (const body of shapes) assertStatus(await send(body), 400, 3, 'INVALID_OTLP');
      // The JSON path of the bad field is in the message (details stays empty: its entries would need an "@type").
      const bad = assertStatus(await send(shapes[1] as Json), 400, 3, 'INVALID_OTLP');
      assert.match(bad.message, /\/resourceLogs\/0\/scopeLogs\/0\/logRecords\/1\/timeUnixNano: must be an integer/);
      // NDJSON is POST /publish's own parser (its scope): here the route's own 415 words, not /publish's.
      const ndjson = assertStatus(
        await post(`${server.url}/v1/logs`, undefined, { raw: '{}\n', contentType: 'application/x-ndjson' }),
        415,
        3,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      assert.match(ndjson.message, /POST \/v1\/logs takes OTLP\/JSON \(application\/json\) or OTLP\/protobuf/);
      assert.equal(await counts(topic), undefined);
    });

    test('more records than MAX_BATCH_EVENTS get 413 and nothing is stored; a gzip body is accepted', async () => {
      const topic = uniqueTopic('otlp-limits');
      const records = Array.from({ length: 21 }, (_, i) => ({ body: str(`r${i}`) }));
      assertStatus(await send(logs([kv('service.name', str(topic))], records)), 413, 3, 'BATCH_TOO_LARGE');
      const gzipped = await fetch(`${server.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(logs([kv('service.name', str(topic))], records.slice(0, 20)))),
      });
      assert.equal(gzipped.status, 200);
      assert.deepEqual(await counts(topic), [20, 20, 0]);
    });
  });
}

describe('POST /v1/logs when the ingest queue is full', { timeout: 60_000 }, () => {
  // A long linger keeps the first request's records waiting in the queue, which they fill (MAX_QUEUE = 10).
  const server = serverForSuite('pglite', { maxQueue: 10, maxBatchEvents: 10, lingerMs: 1500 });

  test('the answer is 503 UNAVAILABLE (OVERLOADED) with Retry-After (OTLP exporters retry it), and the refused records are not stored', async () => {
    const topic = uniqueTopic('overloaded');
    const records = (label: string) => Array.from({ length: 10 }, (_, i) => ({ body: str(`${label}${i}`) }));
    const first = post(`${server.url}/v1/logs`, logs([kv('service.name', str(topic))], records('a')));
    await waitFor(async () => (await get<Stats>(`${server.url}/stats`)).body.pipeline.queued_events === 10, 10_000, 'the queue to fill');
    const refused = await post(`${server.url}/v1/logs`, logs([kv('service.name', str(topic))], records('b')));
    assertStatus(refused, 503, 14, 'OVERLOADED');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await first).status, 200);
    const counts = (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
    assert.deepEqual([counts?.received, counts?.unique_processed], [10, 10]);
  });
});
