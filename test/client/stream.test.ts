import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { subscribe } from '../../src/client/index.js';
import type { StoredEvent } from '../../src/schema/event.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';
import { freshStore } from '../helpers/stores.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPgCluster } from '../helpers/pg-cluster.js';

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

  test('a stream the store fails at open: onReconnect is told STORE_UNAVAILABLE, and events flow once it is back', async (t) => {
    // A cluster of the test's own: stopping the shared one would fail whatever else runs on this machine.
    const cluster = await startPgCluster();
    t.after(() => cluster.destroy());
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-client-down-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await startServer({ databaseUrl: cluster.url, dataDir, destroy: async () => {} });
    t.after(() => server.stop());
    const topic = uniqueTopic('tail-down');
    const received: StoredEvent[] = [];
    const reasons: string[] = [];
    const stop = new AbortController();
    cluster.stop();
    const following = subscribe({
      url: server.url,
      topic,
      after: 0,
      signal: stop.signal,
      retry: { baseDelayMs: 50, maxDelayMs: 500 },
      onEvent: (event) => received.push(event),
      onReconnect: ({ error }) => reasons.push(error instanceof Error ? error.message : String(error)),
    });
    try {
      await waitFor(async () => reasons.length >= 1, 10_000, 'the stream to end with a reason');
      assert.match(reasons[0] ?? '', /^the server ended the stream: STORE_UNAVAILABLE /);
    } finally {
      cluster.start();
    }
    await waitFor(
      async () => (await post(`${server.url}/publish`, [makeEvent(topic, 'back')])).status === 200,
      30_000,
      'the store to return',
    );
    await waitFor(async () => received.length >= 1, 15_000, 'the event published after the outage');
    stop.abort();
    await following;
    assert.deepEqual(
      received.map((e) => e.event_id),
      ['back'],
    );
  });
});
