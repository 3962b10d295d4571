import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import type { Event, StoredEvent } from '../../src/schema/event.js';
import type { PublishResult } from '../../src/schema/publish.js';
import type { Stats } from '../../src/schema/stats.js';
import { counters, get, kept, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { spawnServer, waitFor } from '../helpers/process.js';
import { startServer } from '../helpers/server.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

for (const kind of storeKinds()) {
  describe(`restarts [${kind}]`, { timeout: 180_000 }, () => {
    test('after a restart, events and counters are still there and old events are still duplicates', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const topic = uniqueTopic('restart');
      const first = await startServer(location);
      await post(`${first.url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '2'), makeEvent(topic, '1')]);
      await first.stop();

      const second = await startServer(location);
      t.after(() => second.stop());
      const again = await post<PublishResult>(`${second.url}/publish`, makeEvent(topic, '2'));
      assert.deepEqual(again.body, { received: 1, unique: 0, duplicates: 1 });
      const stats = (await get<Stats>(`${second.url}/stats?top=100`)).body;
      assert.deepEqual(counters(stats.per_topic[topic]), kept(4, 2));
    });

    test('after kill -9 under load, every acknowledged event is stored exactly once and the counters balance', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const topic = uniqueTopic('kill');
      const server = await spawnServer(location);
      const acked = new Set<string>();
      let sent = 0;
      let stop = false;
      const senders = Array.from({ length: 8 }, async (_, worker) => {
        for (let round = 0; !stop; round++) {
          const events: Event[] = Array.from({ length: 20 }, (_, i) => makeEvent(topic, `w${worker}-r${round}-${i}`));
          sent += events.length;
          try {
            const reply = await post<PublishResult>(`${server.url}/publish`, events);
            if (reply.status === 200) for (const event of events) acked.add(event.event_id);
          } catch {
            return; // the connection died with the server: these events were never acknowledged
          }
        }
      });
      const killAfter = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (acked.size >= 1000) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
      await killAfter;
      server.child.kill('SIGKILL');
      stop = true;
      await server.exited;
      await Promise.all(senders);
      assert.ok(acked.size >= 1000);

      const restarted = await spawnServer(location);
      t.after(async () => {
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      });
      const stored = new Set<string>();
      let next: string | undefined = `${restarted.url}/events?topic=${topic}&limit=10000`;
      while (next) {
        const page: Response = await fetch(next);
        for (const event of (await page.json()) as StoredEvent[]) {
          assert.ok(!stored.has(event.event_id), `stored twice: ${event.event_id}`);
          stored.add(event.event_id);
        }
        const link = page.headers.get('link');
        next = link ? `${restarted.url}${/<([^>]+)>/.exec(link)?.[1]}` : undefined;
      }
      for (const id of acked) assert.ok(stored.has(id), `acknowledged but lost: ${id}`);
      const stats = (await get<Stats>(`${restarted.url}/stats?top=100`)).body;
      assert.equal(stats.per_topic[topic]?.unique_processed, stored.size);
      assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
      assert.ok(sent >= stored.size);

      // Re-sending everything acknowledged (what a retrying publisher does) adds only duplicates.
      const resend = await post<PublishResult | ErrorBody>(
        `${restarted.url}/publish`,
        [...acked].slice(0, 500).map((id) => makeEvent(topic, id)),
      );
      assert.deepEqual(resend.body, { received: 500, unique: 0, duplicates: 500 });
    });
  });
}

describe('shutdown and ownership', { timeout: 120_000 }, () => {
  test('SIGTERM under load answers in-flight requests, commits what is queued and exits 0', async (t) => {
    const location = await freshStore('pglite');
    t.after(() => location.destroy());
    const topic = uniqueTopic('sigterm');
    const server = await spawnServer(location, { BATCH_LINGER_MS: '50' });
    const acked = new Set<string>();
    let inFlight = 0;
    const senders = Array.from({ length: 20 }, async (_, worker) => {
      for (let round = 0; ; round++) {
        const events = Array.from({ length: 10 }, (_, i) => makeEvent(topic, `w${worker}-r${round}-${i}`));
        inFlight++;
        try {
          const reply = await post<PublishResult>(`${server.url}/publish`, events);
          if (reply.status !== 200) return;
          for (const event of events) acked.add(event.event_id);
        } catch {
          return;
        } finally {
          inFlight--;
        }
      }
    });
    await waitFor(async () => acked.size >= 500 && inFlight > 0, 30_000, 'load to build up');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.output());
    await Promise.all(senders);

    const restarted = await startServer(location);
    t.after(() => restarted.stop());
    const stored = (await get<StoredEvent[]>(`${restarted.url}/events?topic=${topic}&limit=10000`)).body;
    const ids = new Set(stored.map((e) => e.event_id));
    for (const id of acked) assert.ok(ids.has(id), `acknowledged but lost: ${id}`);
  });

  test('a second process on the same DATA_DIR refuses to start with DATA_DIR_LOCKED', async (t) => {
    const location = await freshStore('pglite');
    t.after(() => location.destroy());
    const owner = await spawnServer(location);
    t.after(async () => {
      owner.child.kill('SIGTERM');
      await owner.exited;
    });
    await assert.rejects(spawnServer(location), /Data directory .* is in use by process \d+/);
  });
});
