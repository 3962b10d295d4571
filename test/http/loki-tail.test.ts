import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { PublishResult } from '../../src/schema/publish.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { LINES, LOKI_EVENTS, ns } from '../helpers/loki-data.js';
import { serverForSuite, startServer } from '../helpers/server.js';
import { freshStore, storeKinds } from '../helpers/stores.js';
import { openTail, type TailClient } from '../helpers/tail.js';

const API_KEY = 'loki-tail-key';
const BASIC = { authorization: `Basic ${Buffer.from(`grafana:${API_KEY}`).toString('base64')}` };
const nowNs = () => (BigInt(Date.now()) * 1_000_000n).toString();
const line = (message: string, extra: Record<string, unknown> = {}) => ({ payload: { message, ...extra } });

for (const kind of storeKinds()) {
  describe(`GET /loki/api/v1/tail (WebSocket) [${kind}]`, { timeout: 180_000 }, () => {
    const server = serverForSuite(kind, { apiKey: API_KEY });
    const tailUrl = (query: string, params = `start=${nowNs()}`) =>
      `${server.url}/loki/api/v1/tail?query=${encodeURIComponent(query)}&${params}`;
    const tail = (query: string, params?: string, headers: Record<string, string> = BASIC) => openTail(tailUrl(query, params), headers);
    const publish = async (events: ReturnType<typeof makeEvent>[]) => {
      const reply = await post<PublishResult>(`${server.url}/publish`, events, { headers: BASIC });
      assert.equal(reply.status, 200);
    };
    before(() => publish(LOKI_EVENTS));

    test("past entries first (the newest `limit` since start, oldest first), then live ones, each once, in Loki's shape", async (t) => {
      const topic = uniqueTopic('tail');
      const client = await tail(`{topic=~"shop|${topic.replace(/\./g, '\\\\.')}"}`, `start=${ns(0)}&limit=3`);
      t.after(() => client.close());
      await client.waitFor(3);
      // The first message: the past entries, one stream per entry, as Loki's querier sends them; no dropped_entries.
      assert.deepEqual(client.messages[0], {
        streams: ['e5', 'e6', 'e7'].map((id) => ({
          stream: {
            detected_level: { e5: 'info', e6: 'warn', e7: 'debug' }[id],
            service_name: id === 'e7' ? 'worker' : 'api',
            source: id === 'e7' ? 'worker' : 'api',
            topic: 'shop',
          },
          values: [[ns(id === 'e7' ? 90 : 60), LINES[id]]],
        })),
      });
      await publish([
        makeEvent(topic, 'a', line('live a')),
        makeEvent(uniqueTopic('other'), 'x', line('live x')),
        makeEvent(topic, 'b', line('live b')),
      ]);
      await publish([makeEvent(topic, 'a', line('live a')), makeEvent(topic, 'c', line('live c', { level: 'error' }))]);
      await client.waitFor(6);
      const live = client.entries().slice(3);
      assert.deepEqual(
        live.map((e) => e.line),
        ['live a', 'live b', 'live c'],
      );
      assert.deepEqual(live[2]?.labels, { detected_level: 'error', service_name: 'payment-gateway-A', source: 'payment-gateway-A', topic });
      assert.equal(live[2]?.ns, (BigInt(Date.parse('2025-10-21T10:00:00.000Z')) * 1_000_000n).toString());
      for (const message of client.messages) assert.deepEqual(Object.keys(message), ['streams']);
    });

    test('with categorize-labels: stream labels only, structured metadata and parsed labels in a third element, flags echoed', async (t) => {
      const headers = { ...BASIC, 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
      const client = await tail('{topic="shop"} |= "status=500" | logfmt', `start=${ns(0)}&limit=1`, headers);
      t.after(() => client.close());
      await client.waitFor(1);
      assert.deepEqual(client.messages[0], {
        streams: [
          {
            stream: { service_name: 'api', source: 'api', topic: 'shop' },
            values: [[ns(60), LINES.e6, { structuredMetadata: { detected_level: 'warn' }, parsed: { duration: '1.5s', status: '500' } }]],
          },
        ],
        encodingFlags: ['categorize-labels'],
      });
    });

    test('the label selector, line filters and pipeline stages are applied to live entries', async (t) => {
      const topic = uniqueTopic('filter');
      const leveled = await tail(`{topic="${topic}"} |= "keep" | detected_level="error"`);
      const plain = await tail(`{topic="${topic}"} |= "keep" | logfmt | n > 1`);
      t.after(() => [leveled, plain].forEach((c) => c.close()));
      await publish([
        makeEvent(topic, '1', line('keep n=1', { level: 'error' })),
        makeEvent(topic, '2', line('keep n=2', { level: 'info' })),
        makeEvent(topic, '3', line('drop n=3', { level: 'error' })),
        makeEvent(uniqueTopic('elsewhere'), '4', line('keep n=4', { level: 'error' })),
        makeEvent(topic, '5', line('keep n=5', { level: 'error' })),
      ]);
      await leveled.waitFor(2);
      await plain.waitFor(2);
      // A marker after the data: once it arrives, nothing else can still be on its way.
      await publish([makeEvent(topic, 'end', line('keep n=9 end', { level: 'error' }))]);
      await leveled.waitFor(3);
      await plain.waitFor(3);
      assert.deepEqual(
        leveled.entries().map((e) => e.line),
        ['keep n=1', 'keep n=5', 'keep n=9 end'],
      );
      assert.deepEqual(
        plain.entries().map((e) => e.line),
        ['keep n=2', 'keep n=5', 'keep n=9 end'],
      );
      assert.deepEqual(plain.entries()[0]?.labels, {
        detected_level: 'info',
        n: '2',
        service_name: 'payment-gateway-A',
        source: 'payment-gateway-A',
        topic,
      });
    });

    test('entries committed while the past entries are read are neither lost nor repeated', async (t) => {
      const topic = uniqueTopic('handoff');
      const at = (i: number) => ({ timestamp: new Date(Date.now() - 60_000 + i).toISOString() });
      await publish(Array.from({ length: 300 }, (_, i) => makeEvent(topic, `old${i}`, { ...at(i), ...line(`old ${i}`) })));
      const writer = (async () => {
        for (let i = 0; i < 20; i++) {
          const batch = Array.from({ length: 10 }, (_, j) =>
            makeEvent(topic, `new${i}-${j}`, { ...line(`new ${i}-${j}`), timestamp: new Date().toISOString() }),
          );
          await publish(batch);
        }
      })();
      const client = await tail(`{topic="${topic}"}`, `start=${BigInt(Date.now() - 120_000) * 1_000_000n}&limit=5000`);
      t.after(() => client.close());
      await writer;
      await client.waitFor(500, 30_000);
      const lines = client.entries().map((e) => e.line);
      assert.equal(new Set(lines).size, lines.length, 'an entry was repeated');
      assert.equal(lines.length, 500);
      const news = lines.filter((l) => l.startsWith('new '));
      assert.deepEqual(
        news,
        Array.from({ length: 200 }, (_, k) => `new ${Math.floor(k / 10)}-${k % 10}`),
        'live entries out of commit order',
      );
    });

    test('a query that does not parse, or bad parameters, are a 400 before the upgrade; a metric query is closed with 1011', async () => {
      const refused = async (url: string) =>
        openTail(url, BASIC).then(
          () => assert.fail('upgraded'),
          (err: { status: number; body: string }) => ({ status: err.status, body: JSON.parse(err.body) as Record<string, unknown> }),
        );
      const syntax = await refused(tailUrl('{topic="shop"'));
      assert.equal(syntax.status, 400);
      assert.equal(syntax.body.error, 'LOGQL_INVALID');
      assert.match(String(syntax.body.message), /^parse error at line 1, col \d+: syntax error: unexpected/);
      const delay = await refused(tailUrl('{topic="shop"}', 'delay_for=6'));
      assert.deepEqual([delay.status, delay.body.error, delay.body.message], [400, 'BAD_REQUEST', "delay_for can't be greater than 5"]);
      const limit = await refused(tailUrl('{topic="shop"}', 'limit=0'));
      assert.deepEqual([limit.status, limit.body.message], [400, 'limit must be a positive value']);
      const metric = await tail('count_over_time({topic="shop"}[1m])');
      assert.deepEqual(await metric.closed, { code: 1011, reason: 'only log selector is supported' });
      // A plain GET is no WebSocket: Loki's gorilla/websocket answers 400 too.
      const plain = await fetch(tailUrl('{topic="shop"}'), { headers: BASIC });
      assert.equal(plain.status, 400);
      assert.match(((await plain.json()) as { message: string }).message, /not using the websocket protocol/);
    });

    test('with API_KEY: refused with 401 before the upgrade without the key; basic auth or X-API-Key opens it', async () => {
      const denied = await openTail(tailUrl('{topic="shop"}'), {}).then(
        () => assert.fail('upgraded without a key'),
        (err: { status: number; body: string }) => err,
      );
      assert.equal(denied.status, 401);
      assert.equal((JSON.parse(denied.body) as { error: string }).error, 'UNAUTHORIZED');
      const offers: Array<Record<string, string>> = [
        BASIC,
        { 'x-api-key': API_KEY },
        // The data is the default tenant's: naming it is the same as naming none (another tenant would see nothing).
        { authorization: `Bearer ${API_KEY}`, 'x-scope-orgid': 'default' },
      ];
      for (const headers of offers) {
        const client = await tail('{topic="shop"}', `start=${ns(0)}&limit=1`, headers);
        await client.waitFor(1);
        assert.equal(client.entries()[0]?.line, LINES.e7);
        client.close();
      }
    });

    test('a client that stops reading is cut off without slowing ingest', async () => {
      const topic = uniqueTopic('slow');
      const client: TailClient = await tail(`{topic="${topic}"}`);
      client.socket.pause();
      // 24 MB: more than the 4 MiB limit plus what the kernel's socket buffers take on loopback (about 10 MB).
      const blob = 'x'.repeat(2000);
      for (let i = 0; i < 24; i++) {
        await publish(Array.from({ length: 500 }, (_, j) => makeEvent(topic, `s${i}-${j}`, line(`${i}-${j} ${blob}`))));
      }
      client.socket.resume();
      const closed = await client.closed;
      assert.ok([1006, 1011].includes(closed.code), `closed with ${closed.code}`);
      assert.ok(client.entries().length < 12_000, `the tail was not cut off (${client.entries().length} entries)`);
    });

    test("at most 100 tails: the next one is closed with 1011 and Loki's message", async (t) => {
      const clients = await Promise.all(Array.from({ length: 100 }, () => tail('{topic="nothing-here"}')));
      t.after(() => clients.forEach((c) => c.close()));
      const extra = await tail('{topic="nothing-here"}');
      assert.deepEqual(await extra.closed, {
        code: 1011,
        reason: 'max concurrent tail requests limit exceeded, count > limit (101 > 100)',
      });
    });
  });
}

describe('GET /loki/api/v1/tail and shutdown', { timeout: 60_000 }, () => {
  test('stopping the server closes open tails with 1001 and does not wait for them', async () => {
    const location = await freshStore('pglite');
    const server = await startServer(location);
    try {
      const client = await openTail(`${server.url}/loki/api/v1/tail?query=${encodeURIComponent('{topic="x"}')}`);
      await server.stop();
      assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
    } finally {
      await location.destroy();
    }
  });
});
