import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { kept, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';
import { bulk, ndjson, storedIn, summary, topicCounts } from './es.js';

for (const kind of storeKinds()) {
  describe(`POST /_bulk [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { maxBatchEvents: 50 });

    test('one item per action in order: created, a duplicate create is 409, an existing index is a noop; bad items alone fail', async () => {
      const topic = uniqueTopic('es');
      const body = ndjson([
        [{ create: { _index: topic, _id: 'a' } }, { '@timestamp': '2025-10-21T10:00:00.123Z', message: 'one', host: { name: 'web-1' } }],
        [{ index: { _index: topic, _id: 'b' } }, { timestamp: 1761040800000, message: 'two', host: 'web-2' }],
        [{ create: { _index: topic, _id: 'a' } }, { message: 'a again, in the same request' }],
        [{ index: { _index: topic, _id: 'c' } }, { '@timestamp': 'yesterday' }],
        [{ delete: { _index: topic, _id: 'a' } }, null],
        [{ update: { _index: topic, _id: 'a' } }, { doc: { message: 'changed' } }],
        [{ create: { _index: topic, _id: 'x'.repeat(256) } }, { message: 'id too long' }],
        [{ create: { _index: topic, _id: 'd' } }, { message: 'nul \u0000 in text' }],
      ]);
      const first = await bulk(server.url, `${body}{"create":{"_index":"${topic}","_id":"e"}}\n[1,2]\n`);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('x-elastic-product'), 'Elasticsearch');
      assert.equal(first.body.errors, true);
      assert.deepEqual(summary(first.body), [
        ['create', 201, 'created'],
        ['index', 201, 'created'],
        ['create', 409, 'version_conflict_engine_exception'],
        ['index', 400, 'document_parsing_exception'],
        ['delete', 400, 'illegal_argument_exception'],
        ['update', 400, 'illegal_argument_exception'],
        ['create', 400, 'mapper_parsing_exception'],
        ['create', 400, 'mapper_parsing_exception'],
        ['create', 400, 'mapper_parsing_exception'],
      ]);
      assert.deepEqual(first.body.items[0], {
        create: { _index: topic, _id: 'a', _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 }, status: 201 },
      });
      const stored = await storedIn(server.url, topic);
      assert.deepEqual(
        stored.map((e) => [e.event_id, e.timestamp, e.source, e.payload.message]),
        [
          ['a', '2025-10-21T10:00:00.123Z', 'web-1', 'one'],
          ['b', '2025-10-21T10:00:00Z', 'web-2', 'two'],
        ],
      );
      assert.deepEqual(stored[0]?.payload, { '@timestamp': '2025-10-21T10:00:00.123Z', message: 'one', host: { name: 'web-1' } });

      // The shipper's retry of the same request: nothing new is stored, index answers noop, create 409.
      const again = await bulk(server.url, body);
      assert.deepEqual(summary(again.body).slice(0, 3), [
        ['create', 409, 'version_conflict_engine_exception'],
        ['index', 200, 'noop'],
        ['create', 409, 'version_conflict_engine_exception'],
      ]);
      // Counted: a, b and the copy of a in each request; the refused items are not events.
      assert.deepEqual(await topicCounts(server.url, topic), kept(6, 2));
    });

    test('index actions on existing ids only: errors is false, so a whole-chunk retry (Fluent Bit) ends', async () => {
      const topic = uniqueTopic('es');
      const body = ndjson([
        [{ index: { _id: '1' } }, { message: 'one' }],
        [{ index: { _id: '2' } }, { message: 'two' }],
      ]);
      const first = await bulk(server.url, body, {}, `/${topic}/_bulk`);
      assert.deepEqual(summary(first.body), [
        ['index', 201, 'created'],
        ['index', 201, 'created'],
      ]);
      assert.equal(first.body.errors, false);
      const again = await bulk(server.url, body, {}, `/${topic}/_bulk`);
      assert.equal(again.body.errors, false);
      assert.deepEqual(summary(again.body), [
        ['index', 200, 'noop'],
        ['index', 200, 'noop'],
      ]);
      assert.deepEqual(await topicCounts(server.url, topic), kept(4, 2));
    });

    test('no _id: a sha256 of index and key-sorted document, the same on a retry whatever the key order', async () => {
      const topic = uniqueTopic('es');
      const one = await bulk(
        server.url,
        ndjson([[{ create: { _index: topic } }, { b: 1, a: { y: 2, x: 1 }, '@timestamp': '2025-01-01T00:00:00Z' }]]),
      );
      const two = await bulk(
        server.url,
        ndjson([[{ create: { _index: topic } }, { '@timestamp': '2025-01-01T00:00:00Z', a: { x: 1, y: 2 }, b: 1 }]]),
      );
      const id = one.body.items[0]?.create?._id;
      assert.match(String(id), /^[0-9a-f]{64}$/);
      assert.equal(two.body.items[0]?.create?._id, id);
      assert.deepEqual(summary(two.body), [['create', 409, 'version_conflict_engine_exception']]);
      const stored = await storedIn(server.url, topic);
      assert.deepEqual(
        stored.map((e) => [e.event_id, e.source]),
        [[id, 'elasticsearch']],
      );
    });

    test('a broken action line, an unknown action or a body cut after an action refuses the request; nothing is stored', async () => {
      const topic = uniqueTopic('es');
      const good = ndjson([[{ create: { _index: topic, _id: '1' } }, { m: 1 }]]);
      for (const tail of ['{"create":{"_index":', '{"upsert":{}}\n{}\n', `{"create":{"_index":"${topic}"}}\n`, '[1]\n{}\n']) {
        const reply = await bulk(server.url, good + tail);
        assert.equal(reply.status, 400, tail);
        assert.equal((reply.body as unknown as { error: { type: string } }).error.type, 'x_content_parse_exception');
      }
      assert.deepEqual(await storedIn(server.url, topic), []);
    });

    test('content types: NDJSON, JSON and the 8/9 compatibility types; gzip bodies; others are 415', async () => {
      const topic = uniqueTopic('es');
      const types = [
        'application/x-ndjson',
        'application/json',
        'application/vnd.elasticsearch+x-ndjson; compatible-with=9',
        'application/vnd.elasticsearch+x-ndjson;compatible-with=8',
        'application/vnd.elasticsearch+json; compatible-with=8',
      ];
      for (const [i, type] of types.entries()) {
        const reply = await bulk(server.url, ndjson([[{ create: { _index: topic, _id: String(i) } }, { type }]]), { 'content-type': type });
        assert.deepEqual(summary(reply.body), [['create', 201, 'created']], type);
      }
      const gzipped = await bulk(server.url, gzipSync(ndjson([[{ create: { _index: topic, _id: 'gz' } }, { m: 'gzip' }]])), {
        'content-encoding': 'gzip',
      });
      assert.deepEqual(summary(gzipped.body), [['create', 201, 'created']]);
      const text = await bulk(server.url, ndjson([[{ create: { _index: topic, _id: 't' } }, {}]]), { 'content-type': 'text/plain' });
      assert.equal(text.status, 415);
      assert.equal((await storedIn(server.url, topic)).length, types.length + 1);
    });

    test('more actions than MAX_BATCH_EVENTS: 413, nothing stored', async () => {
      const topic = uniqueTopic('es');
      const pairs: Array<[unknown, unknown]> = Array.from({ length: 51 }, (_, i) => [{ create: { _index: topic, _id: String(i) } }, {}]);
      const reply = await bulk(server.url, ndjson(pairs));
      assert.equal(reply.status, 413);
      assert.deepEqual(await storedIn(server.url, topic), []);
    });
  });
}
