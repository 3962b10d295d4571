import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import type { Event, StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

const ndjson = (lines: Array<Event | string>, eol = '\n'): string =>
  lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join(eol) + eol;

type Detail = { index?: number; line: number; path?: string; message: string };

for (const kind of storeKinds()) {
  describe(`POST /publish with NDJSON [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { maxBatchEvents: 20, bodyLimit: 64 * 1024 });
    const publish = <T = unknown>(body: string, contentType = 'application/x-ndjson') =>
      post<T>(`${server.url}/publish`, undefined, { raw: body, contentType });
    const topicCounts = async (topic: string) => {
      const counts = (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
      return (
        counts && { received: counts.received, unique_processed: counts.unique_processed, duplicate_dropped: counts.duplicate_dropped }
      );
    };
    const storedIn = async (topic: string) => (await get<StoredEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;

    test('one event per line is stored in line order, and copies in the body are counted as duplicates', async () => {
      const topic = uniqueTopic('ndjson');
      const reply = await publish(ndjson([makeEvent(topic, 'a'), makeEvent(topic, 'b'), makeEvent(topic, 'a'), makeEvent(topic, 'c')]));
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { received: 4, unique: 3, duplicates: 1 });
      const stored = await storedIn(topic);
      assert.deepEqual(
        stored.map((e) => e.event_id),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(stored[0]?.payload, makeEvent(topic, 'a').payload);
      assert.deepEqual(await topicCounts(topic), { received: 4, unique_processed: 3, duplicate_dropped: 1 });
    });

    test('blank lines, CRLF line ends and a missing final newline are all accepted', async () => {
      const topic = uniqueTopic('ndjson-blank');
      const body = `\n${JSON.stringify(makeEvent(topic, '1'))}\r\n  \r\n\t\n${JSON.stringify(makeEvent(topic, '2'))}`;
      assert.deepEqual((await publish(body)).body, { received: 2, unique: 2, duplicates: 0 });
    });

    test('application/ndjson, application/jsonl and a UTF-8 charset are read as NDJSON too', async () => {
      const topic = uniqueTopic('ndjson-types');
      const types = ['application/ndjson', 'application/jsonl', 'application/x-ndjson; charset=utf-8', 'Application/X-NDJSON'];
      for (const [i, contentType] of types.entries()) {
        const reply = await publish(ndjson([makeEvent(topic, `t${i}`), makeEvent(topic, `u${i}`)]), contentType);
        assert.deepEqual(reply.body, { received: 2, unique: 2, duplicates: 0 }, contentType);
      }
      const latin = await publish<ErrorBody>(ndjson([makeEvent(topic, 'latin')]), 'application/x-ndjson; charset=latin1');
      assert.equal(latin.status, 415);
      assert.equal(latin.body.error, 'UNSUPPORTED_MEDIA_TYPE');
    });

    test('an empty body or only blank lines is an empty batch: 200 with nothing received', async () => {
      for (const body of ['', '\n', '\r\n \n\n']) assert.deepEqual((await publish(body)).body, { received: 0, unique: 0, duplicates: 0 });
    });

    test('a line that is not JSON gets 400 naming that line (1-based, blank lines counted), and nothing is stored', async () => {
      const topic = uniqueTopic('ndjson-syntax');
      const body = ndjson([makeEvent(topic, '1'), '', '{"topic": "x", ', makeEvent(topic, '2')]);
      const reply = await publish<ErrorBody>(body);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'INVALID_JSON');
      assert.match(reply.body.message, /Line 3 /);
      assert.equal((reply.body.details?.[0] as Detail).line, 3);
      const proto = await publish<ErrorBody>(ndjson([makeEvent(topic, '1'), '{"__proto__": {"polluted": true}}']));
      assert.equal(proto.status, 400);
      assert.equal((proto.body.details?.[0] as Detail).line, 2);
      assert.equal(await topicCounts(topic), undefined);
    });

    test('bad events get 422 naming each bad line and its index among the events, and nothing is stored', async () => {
      const topic = uniqueTopic('ndjson-schema');
      const { event_id: _dropped, ...noId } = makeEvent(topic, 'x');
      const lines = [
        makeEvent(topic, '1'),
        '',
        makeEvent(topic, '2', { timestamp: 'yesterday' }),
        makeEvent(topic, '3'),
        JSON.stringify(noId),
        '[1, 2]',
      ];
      const reply = await publish<ErrorBody>(ndjson(lines));
      assert.equal(reply.status, 422);
      assert.equal(reply.body.error, 'VALIDATION_FAILED');
      const details = reply.body.details as Detail[];
      // A bad timestamp breaks two rules (format and pattern): one entry each, same line.
      const named = [...new Set(details.map((d) => JSON.stringify([d.line, d.index, d.path])))].map((d) => JSON.parse(d) as unknown);
      assert.deepEqual(named, [
        [3, 1, '/timestamp'],
        [5, 3, '/event_id'],
        [6, 4, ''],
      ]);
      assert.equal(await topicCounts(topic), undefined);
      assert.equal((await storedIn(topic)).length, 0);
    });

    test('each line is one event: an array or an {"events": [...]} envelope on a line is refused with 422', async () => {
      const topic = uniqueTopic('ndjson-envelope');
      const reply = await publish<ErrorBody>(ndjson([JSON.stringify({ events: [makeEvent(topic, '1')] })]));
      assert.equal(reply.status, 422);
      assert.equal((reply.body.details?.[0] as Detail).line, 1);
      assert.equal(await topicCounts(topic), undefined);
    });

    test('more lines than MAX_BATCH_EVENTS get 413 BATCH_TOO_LARGE, and a body over BODY_LIMIT 413 BODY_TOO_LARGE', async () => {
      const topic = uniqueTopic('ndjson-limits');
      const many = await publish<ErrorBody>(ndjson(Array.from({ length: 21 }, (_, i) => makeEvent(topic, `m${i}`))));
      assert.equal(many.status, 413);
      assert.equal(many.body.error, 'BATCH_TOO_LARGE');
      const twenty = await publish(ndjson(Array.from({ length: 20 }, (_, i) => makeEvent(topic, `m${i}`))));
      assert.deepEqual(twenty.body, { received: 20, unique: 20, duplicates: 0 });
      const big = await publish<ErrorBody>(ndjson([makeEvent(topic, 'big', { payload: { blob: 'x'.repeat(70 * 1024) } })]));
      assert.equal(big.status, 413);
      assert.equal(big.body.error, 'BODY_TOO_LARGE');
      assert.equal((await topicCounts(topic))?.received, 20);
    });
  });
}
