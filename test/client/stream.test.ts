import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { subscribe } from '../../src/client/index.js';
import type { StoredEvent } from '../../src/schema/event.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';
import { freshStore } from '../helpers/stores.js';

describe('client subscribe()', { timeout: 60_000 }, () => {
  test('follows the stream across a server restart: every event once, in seq order', async (t) => {
    const location = await freshStore('pglite');
    t.after(() => location.destroy());
    let server = await startServer(location);
    const port = Number(new URL(server.url).port);
    const topic = uniqueTopic('tail');
    const received: StoredEvent[] = [];
    const stop = new AbortController();
    let reconnects = 0;
    const following = subscribe({
      url: server.url,
      topic,
      after: 0,
      signal: stop.signal,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
      onEvent: (event) => received.push(event),
      onReconnect: () => reconnects++,
    });
    await post(`${server.url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '2')]);
    await waitFor(async () => received.length === 2, 10_000, 'the first two events');
    await server.stop();
    server = await startServer(location, { port });
    t.after(() => server.stop());
    await post(`${server.url}/publish`, [makeEvent(topic, '3'), makeEvent(topic, '2')]);
    await waitFor(async () => received.length >= 3, 15_000, 'the event after the restart');
    stop.abort();
    await following;
    assert.ok(reconnects >= 1);
    assert.deepEqual(
      received.map((e) => e.event_id),
      ['1', '2', '3'],
    );
    assert.deepEqual(
      received.map((e) => e.seq),
      [...received.map((e) => e.seq)].sort((a, b) => a - b),
    );
  });
});
