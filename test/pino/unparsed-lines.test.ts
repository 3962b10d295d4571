import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { StoredEvent } from '../../src/schema/event.js';
import logaggTransport from '../../src/pino/index.js';
import { startFaultProxy } from '../client/fault-proxy.js';
import { get, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';

// The transport's stream driven in this process (the worker tests are in transport.test.ts): pino writes only
// JSON, so a line that is not JSON comes from something else writing to the transport, which is what this does.
describe('logagg/pino lines that are not JSON', { timeout: 60_000 }, () => {
  const server = serverForSuite('pglite');

  test('go through the same backpressure as JSON lines: none refused with a full queue, all stored in order', async (t) => {
    const topic = uniqueTopic('pino-unparsed');
    // One request at a time, each 20 ms late, and room for two events: the queue is full while the lines arrive.
    const proxy = await startFaultProxy(t, server.url, (_n, path) =>
      path.startsWith('/publish') ? { kind: 'delay', ms: 20 } : { kind: 'forward' },
    );
    const stream = logaggTransport({ url: proxy.url, topic, maxQueue: 2, batchMax: 1, lingerMs: 0, concurrency: 1 });
    const lines = Array.from({ length: 8 }, (_, n) =>
      n % 2 === 0 ? JSON.stringify({ level: 30, time: Date.now(), n }) : `plain text ${n}`,
    );
    for (const line of [...lines, 'null']) stream.write(`${line}\n`);
    stream.end();
    await once(stream, 'close');
    const rows = (await get<StoredEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}&limit=100`)).body;
    const payloads = rows.sort((a, b) => a.seq - b.seq).map((row) => row.payload as { n?: number; unparsed?: string; time?: number });
    // One request at a time, so the commit order is the order the lines were written in.
    const expected = [...lines.map((line, n) => (n % 2 === 0 ? `json ${n}` : line)), 'null'];
    assert.deepEqual(
      payloads.map((payload) => payload.unparsed ?? `json ${payload.n}`),
      expected,
    );
    assert.equal(typeof payloads.at(-1)?.time, 'number', 'a JSON null is kept as text, with a time');
  });
});
