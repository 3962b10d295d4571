import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import pino from 'pino';
import pinoLoki from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, kept, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { type LokiEvent } from './loki.js';

const KEY = 'loki-test-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const LINES = 200;
const T0 = Date.parse('2025-10-21T10:00:00.000Z');

/** pino → pino-loki (JSON, basic auth with the key as password), flushed by ending the transport. */
async function viaPinoLoki(url: string, topic: string): Promise<void> {
  const transport = pinoLoki({
    host: url,
    labels: { service_name: topic },
    basicAuth: { username: 'tenant-1', password: KEY },
    batching: { interval: 0.05 },
  });
  let i = 0;
  // Fixed times: the second run sends the very same entries (a shipper's retry).
  const logger = pino({ timestamp: () => `,"time":${T0 + i}` }, transport);
  for (i = 0; i < LINES; i++) logger.info({ n: i }, `pino line ${i}`);
  transport.end();
  await once(transport, 'close');
}

/** winston → winston-loki: protobuf + snappy (its default) or JSON; basic auth with the key as password. */
async function viaWinstonLoki(url: string, topic: string, json: boolean): Promise<void> {
  const transport = new LokiTransport({
    host: url,
    labels: { service_name: topic, host: 'winston-host' },
    json,
    basicAuth: `tenant-1:${KEY}`,
    interval: 0.05,
    replaceTimestamp: false,
    gracefulShutdown: false,
    onConnectionError: (err: unknown) => assert.fail(`winston-loki could not push: ${String(err)}`),
  });
  // The protobuf run must really be protobuf: winston-loki falls back to JSON when its snappy binding is missing.
  assert.equal(
    (transport as unknown as { batcher: { contentType: string } }).batcher.contentType,
    json ? 'application/json' : 'application/x-protobuf',
  );
  const logger = winston.createLogger({ transports: [transport] });
  for (let i = 0; i < LINES; i++) logger.info({ message: `winston line ${i}`, timestamp: new Date(T0 + i).toISOString() });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await transport.flush();
  await transport.close();
}

describe('real Loki clients push to logagg', () => {
  const server = serverForSuite('pglite', { apiKey: KEY });
  const topicStats = async (topic: string) =>
    counters((await get<Stats>(`${server.url}/stats?topic=${topic}`, AUTH)).body.per_topic[topic]);
  const stored = async (topic: string) => (await get<LokiEvent[]>(`${server.url}/events?topic=${topic}&limit=10000`, AUTH)).body;

  test('pino-loki (JSON): every entry stored once; the same entries pushed again are all duplicates', async () => {
    const topic = uniqueTopic('pino-loki');
    await viaPinoLoki(server.url, topic);
    const events = await stored(topic);
    assert.equal(events.length, LINES);
    assert.equal(new Set(events.map((e) => e.payload.line)).size, LINES);
    assert.equal(events[0]?.source, hostname(), 'pino adds hostname, a LOKI_SOURCE_LABELS label');
    assert.equal(events[0]?.payload.labels.level, 'info');
    await viaPinoLoki(server.url, topic);
    assert.deepEqual(await topicStats(topic), kept(2 * LINES, LINES));
  });

  for (const json of [false, true]) {
    test(`winston-loki (${json ? 'JSON' : 'protobuf + snappy'}): every entry stored once; a re-push is all duplicates`, async () => {
      const topic = uniqueTopic(json ? 'winston-json' : 'winston-proto');
      await viaWinstonLoki(server.url, topic, json);
      const events = await stored(topic);
      assert.equal(events.length, LINES);
      assert.equal(new Set(events.map((e) => e.payload.line.trim())).size, LINES);
      const first = events.find((e) => e.payload.line.startsWith('winston line 0 '));
      assert.equal(first?.timestamp, '2025-10-21T10:00:00Z');
      assert.equal(first?.payload.ts_ns, `${T0}000000`);
      assert.equal(first?.source, 'winston-host');
      await viaWinstonLoki(server.url, topic, json);
      assert.deepEqual(await topicStats(topic), kept(2 * LINES, LINES));
    });
  }
});
