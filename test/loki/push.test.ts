import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, kept, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { push, pushJson, pushProto, storedIn } from './loki.js';

const NS = '1761040800123456789';

for (const kind of storeKinds()) {
  describe(`POST /loki/api/v1/push (${kind})`, () => {
    const server = serverForSuite(kind);
    const stats = async (topic: string) => counters((await get<Stats>(`${server.url}/stats?topic=${topic}`)).body.per_topic[topic]);

    test('JSON: entries become events (topic, source, labels, line, metadata, exact ns); a re-push is all duplicates', async () => {
      const topic = uniqueTopic('loki-json');
      const body = {
        streams: [
          {
            stream: { job: 'api', service_name: topic, host: 'web-1' },
            values: [
              [NS, 'GET /a 200', { trace_id: 'abc' }],
              ['1761040800123456790', 'GET /b 500'],
            ],
          },
          { stream: { service_name: topic, env: 'prod' }, values: [['5', 'no source label']] },
        ],
      };
      assert.equal((await pushJson(server.url, body)).status, 204);
      const events = await storedIn(server.url, topic);
      assert.equal(events.length, 3);
      const first = events.find((e) => e.payload.line === 'GET /a 200');
      assert.ok(first);
      assert.equal(first.source, 'web-1');
      assert.equal(first.timestamp, '2025-10-21T10:00:00.123456Z', 'truncated to the microsecond the store keeps');
      assert.deepEqual(first.payload, {
        line: 'GET /a 200',
        labels: { host: 'web-1', job: 'api', service_name: topic },
        ts_ns: NS,
        structured_metadata: { trace_id: 'abc' },
      });
      assert.match(first.event_id, /^[0-9a-f]{64}$/);
      assert.equal(events.find((e) => e.payload.ts_ns === '5')?.source, 'loki', 'no source label: the default');
      const retry = await pushJson(server.url, body);
      assert.equal(retry.status, 204);
      assert.deepEqual(await stats(topic), kept(6, 3));
      assert.equal((await storedIn(server.url, topic)).length, 3);
    });

    test('protobuf (snappy) decodes to the same events as JSON: the same entry in either encoding is one event', async () => {
      const topic = uniqueTopic('loki-proto');
      const reply = await pushProto(server.url, [
        {
          labels: `{service_name="${topic}", host="h\\"1\\u00e9", job=\`raw\\n\`}`,
          entries: [
            { timestamp: { seconds: 1761040800, nanos: 123456789 }, line: 'línea ✓', structuredMetadata: [{ name: 'user', value: '42' }] },
            { timestamp: { seconds: 1761040801, nanos: 0 }, line: 'second' },
          ],
        },
      ]);
      assert.equal(reply.status, 204, reply.text);
      const events = await storedIn(server.url, topic);
      assert.equal(events.length, 2);
      const first = events[0];
      assert.deepEqual(first?.payload, {
        line: 'línea ✓',
        labels: { host: 'h"1é', job: 'raw\\n', service_name: topic },
        ts_ns: NS,
        structured_metadata: { user: '42' },
      });
      assert.equal(first?.source, 'h"1é');
      // The same entry as JSON, labels in another order: a duplicate of the protobuf one.
      const json = { streams: [{ stream: { job: 'raw\\n', service_name: topic, host: 'h"1é' }, values: [[NS, 'línea ✓']] }] };
      assert.equal((await pushJson(server.url, json)).status, 204);
      assert.deepEqual(await stats(topic), kept(3, 2));
    });

    test('gzip, deflate (zlib and raw, as Loki reads it) and Content-Encoding: snappy are read', async () => {
      const topic = uniqueTopic('loki-enc');
      const body = (n: number) => JSON.stringify({ streams: [{ stream: { topic }, values: [[String(n), `line ${n}`]] }] });
      assert.equal((await push(server.url, gzipSync(body(1)), 'application/json', { 'content-encoding': 'gzip' })).status, 204);
      assert.equal((await push(server.url, deflateSync(body(2)), 'application/json', { 'content-encoding': 'deflate' })).status, 204);
      assert.equal((await push(server.url, deflateRawSync(body(3)), 'application/json', { 'content-encoding': 'deflate' })).status, 204);
      const proto = await pushProto(
        server.url,
        [{ labels: `{topic="${topic}"}`, entries: [{ timestamp: { seconds: 0, nanos: 4 }, line: 'line 4' }] }],
        {
          'content-encoding': 'snappy',
        },
      );
      assert.equal(proto.status, 204);
      assert.deepEqual((await storedIn(server.url, topic)).map((e) => e.payload.line).sort(), ['line 1', 'line 2', 'line 3', 'line 4']);
      const br = await push(server.url, body(5), 'application/json', { 'content-encoding': 'br' });
      assert.equal(br.status, 415);
    });

    test('bad input is 400 in plain text, as Loki answers, and nothing of the request is stored', async () => {
      const topic = uniqueTopic('loki-bad');
      const good = [String(1), 'fine'];
      const bodies: unknown[] = [
        { streams: [{ stream: { topic }, values: [good, ['-1', 'negative time']] }] },
        { streams: [{ stream: { topic }, values: [good, [1, 'number time']] }] },
        { streams: [{ stream: { topic }, values: [good, ['9223372036854775808', 'past int64']] }] },
        { streams: [{ stream: { topic }, values: [good, ['2', 'nul \u0000 in line']] }] },
        { streams: [{ stream: { topic, 'bad-name': 'x' }, values: [good] }] },
        { streams: [{ stream: {}, values: [good] }] },
        { streams: [{ stream: { topic }, values: [good, ['3', 'meta', { n: 1 }]] }] },
        { streams: {} },
      ];
      for (const body of bodies) {
        const reply = await pushJson(server.url, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/);
        assert.match(reply.text, /^INVALID_LOKI: /);
      }
      for (const labels of [`{topic="${topic}"`, `{topic=~"${topic}"}`, `{topic="${topic}", topic="x"}`, `{topic="\\q"}`, '{}']) {
        const reply = await pushProto(server.url, [{ labels, entries: [{ timestamp: { seconds: 1, nanos: 0 }, line: 'x' }] }]);
        assert.equal(reply.status, 400, labels);
      }
      assert.equal((await push(server.url, 'not snappy', 'application/x-protobuf')).status, 400);
      assert.equal((await push(server.url, '{"streams": [', 'application/json')).status, 400);
      assert.equal((await push(server.url, 'a line', 'text/plain')).status, 415);
      assert.deepEqual(await storedIn(server.url, topic), []);
    });

    test('more entries than MAX_BATCH_EVENTS: 413, nothing stored', async () => {
      const topic = uniqueTopic('loki-many');
      const values = Array.from({ length: 10_001 }, (_, i) => [String(i), 'x']);
      const reply = await pushJson(server.url, { streams: [{ stream: { topic }, values }] });
      assert.equal(reply.status, 413);
      assert.deepEqual(await storedIn(server.url, topic), []);
    });
  });
}

describe('POST /loki/api/v1/push with API_KEY', () => {
  const server = serverForSuite('pglite', { apiKey: 's3cret' });
  const body = (topic: string) => ({ streams: [{ stream: { topic }, values: [['1', 'x']] }] });
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  test('the key as bearer, as the password of basic auth (Promtail/Alloy basic_auth), or X-API-Key; else 401', async () => {
    const topic = uniqueTopic('loki-key');
    assert.equal((await pushJson(server.url, body(topic))).status, 401);
    assert.equal((await pushJson(server.url, body(topic), { authorization: basic('s3cret', 'wrong') })).status, 401);
    assert.equal((await pushJson(server.url, body(topic), { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await pushJson(server.url, body(topic), { authorization: 'Bearer s3cret' })).status, 204);
    assert.equal((await pushJson(server.url, body(topic), { authorization: basic('tenant-1', 's3cret') })).status, 204);
    assert.equal((await pushJson(server.url, body(topic), { 'x-api-key': 's3cret' })).status, 204);
    const events = (await get<unknown[]>(`${server.url}/events?topic=${topic}`, { authorization: 'Bearer s3cret' })).body;
    assert.equal(events.length, 1);
  });
});
