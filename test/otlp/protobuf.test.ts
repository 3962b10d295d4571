import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeExportLogsResponse, decodeStatus, encodeExportLogsRequest } from '../../src/inlets/otlp/proto.js';
import type { StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { type Json, kv, logs, str } from './otlp.js';

type OtlpEvent = Omit<StoredEvent, 'payload'> & { payload: Record<string, unknown> };

const T0 = '1700000000123456789';

/** POSTs bytes as OTLP/HTTP protobuf; the answer's bytes and content type. */
export async function postProtobuf(
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; bytes: Uint8Array }> {
  const response = await fetch(`${url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', ...headers },
    body,
  });
  return { status: response.status, type: response.headers.get('content-type'), bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** A record using every field and value type, in OTLP/JSON. */
function richRecord(marker: string): Json {
  return {
    timeUnixNano: T0,
    observedTimeUnixNano: '1700000000123456999',
    severityNumber: 17,
    severityText: 'ERROR',
    body: {
      kvlistValue: {
        values: [
          kv('msg', str(marker)),
          kv('n', { doubleValue: 1.5 }),
          kv('big', { intValue: '-9007199254740993' }),
          kv('list', { arrayValue: { values: [{ boolValue: false }, { intValue: '7' }, {}, { bytesValue: 'AAEC' }] } }),
        ],
      },
    },
    attributes: [kv('http.status', { intValue: '500' }), kv('empty', str(''))],
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    flags: 1,
    eventName: 'app.failure',
  };
}

for (const kind of storeKinds()) {
  describe(`POST /v1/logs in OTLP/protobuf [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { maxBatchEvents: 20 });
    const storedIn = async (topic: string) => (await get<OtlpEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;
    const counts = async (topic: string) => {
      const c = (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
      return c && [c.received, c.unique_processed, c.duplicate_dropped];
    };

    test('a record sent as protobuf is stored as the same event as when sent as JSON: same event_id, same payload', async () => {
      const topic = uniqueTopic('pb-same');
      const request = logs([kv('service.name', str(topic)), kv('host.name', str('h1'))], [richRecord('one')]);
      const answer = await postProtobuf(server.url, encodeExportLogsRequest(request));
      assert.equal(answer.status, 200);
      assert.equal(answer.type, 'application/x-protobuf');
      assert.deepEqual(decodeExportLogsResponse(answer.bytes), {});
      const [fromProtobuf] = await storedIn(topic);
      // The same record as JSON, twice (with numbers in both proto3 JSON spellings): duplicates of the protobuf one.
      assert.equal((await post(`${server.url}/v1/logs`, request)).status, 200);
      const respelled = logs([kv('service.name', str(topic)), kv('host.name', str('h1'))], [{ ...richRecord('one'), flags: '1' }]);
      assert.equal((await post(`${server.url}/v1/logs`, respelled)).status, 200);
      assert.deepEqual(await counts(topic), [3, 1, 2]);
      assert.match(fromProtobuf?.event_id ?? '', /^[0-9a-f]{64}$/);
      assert.deepEqual(fromProtobuf?.payload, {
        body: { msg: 'one', n: 1.5, big: '-9007199254740993', list: [false, 7, null, 'AAEC'] },
        severity_number: 17,
        severity_text: 'ERROR',
        attributes: { 'http.status': 500, empty: '' },
        event_name: 'app.failure',
        trace_id: '5b8efff798038103d269b633813fc60c',
        span_id: 'eee19b7ec3c1b174',
        flags: 1,
        time_unix_nano: T0,
        observed_time_unix_nano: '1700000000123456999',
        resource: { attributes: { 'service.name': topic, 'host.name': 'h1' } },
        scope: { name: 'test-scope', version: '1.2.3' },
      });
      assert.equal(fromProtobuf?.timestamp, '2023-11-14T22:13:20.123457Z');
    });

    test('rejected records get partial_success in protobuf and the rest are stored; gzip bodies are read', async () => {
      const topic = uniqueTopic('pb-partial');
      const request = logs(
        [kv('service.name', str(topic))],
        [{ body: str('ok-1') }, { body: str('nul \u0000') }, { body: str('ok-2'), attributes: [kv('log.record.uid', { intValue: '7' })] }],
      );
      const answer = await postProtobuf(server.url, gzipSync(encodeExportLogsRequest(request)), { 'content-encoding': 'gzip' });
      assert.equal(answer.status, 200);
      const response = decodeExportLogsResponse(answer.bytes);
      assert.equal(response.partialSuccess?.rejectedLogRecords, 2);
      assert.match(
        response.partialSuccess?.errorMessage ?? '',
        /logRecords\/1: .*logRecords\/2: attribute log.record.uid must be a string/,
      );
      assert.deepEqual(
        (await storedIn(topic)).map((e) => e.payload.body),
        ['ok-1'],
      );
    });

    test('errors are a google.rpc.Status in protobuf: 400 INVALID_ARGUMENT, 413 past MAX_BATCH_EVENTS; nothing stored', async () => {
      const topic = uniqueTopic('pb-errors');
      const good = encodeExportLogsRequest(logs([kv('service.name', str(topic))], [{ body: str('x') }]));
      const truncated = await postProtobuf(server.url, good.subarray(0, good.length - 2));
      assert.equal(truncated.status, 400);
      assert.equal(truncated.type, 'application/x-protobuf');
      const status = decodeStatus(truncated.bytes);
      assert.equal(status.code, 3);
      assert.match(status.message, /^INVALID_OTLP: Not an OTLP\/protobuf logs request/);
      // A string field holding bytes that are not UTF-8 (proto3 requires UTF-8): refused, not replaced by U+FFFD.
      const badUtf8 = Buffer.from(good);
      const at = badUtf8.indexOf(Buffer.from('x'));
      badUtf8[at] = 0xff;
      assert.equal((await postProtobuf(server.url, badUtf8)).status, 400);
      const many = logs(
        [kv('service.name', str(topic))],
        Array.from({ length: 21 }, (_, i) => ({ body: str(`r${i}`) })),
      );
      const tooMany = await postProtobuf(server.url, encodeExportLogsRequest(many));
      assert.equal(tooMany.status, 413);
      assert.match(decodeStatus(tooMany.bytes).message, /^BATCH_TOO_LARGE: /);
      assert.equal(await counts(topic), undefined);
    });
  });
}
