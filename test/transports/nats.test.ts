import assert from 'node:assert/strict';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { headers } from '@nats-io/transport-node';
import { createPipeline, type Pipeline } from '../../src/ingest/index.js';
import type { Event, StoredEvent } from '../../src/schema/event.js';
import type { Stats, TopicCounts } from '../../src/schema/stats.js';
import { createStore, type Store } from '../../src/store/index.js';
import { type NatsTransport, type RejectedMessage, startNatsTransport } from '../../src/inlets/nats/index.js';
import { get, makeEvent, uniqueTopic } from '../helpers/events.js';
import { NATS_URL, type ScratchStream, scratchStream } from '../helpers/nats.js';
import { spawnServer, waitFor } from '../helpers/process.js';
import { freshStore, type StoreKind, type StoreLocation, storeKinds } from '../helpers/stores.js';

interface Rig {
  store: Store;
  pipeline: Pipeline;
  transport: NatsTransport;
  rejected: RejectedMessage[];
}

type Defer = (cleanup: () => Promise<unknown>) => void;

/** A real store and pipeline with the transport on a scratch stream; closed at the end, transport first. */
async function startRig(defer: Defer, location: StoreLocation, nats: ScratchStream, lingerMs = 2, tenant?: string): Promise<Rig> {
  const store = await createStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, workers: 2 });
  await store.migrate();
  const pipeline = createPipeline(store, { batchMax: 1000, lingerMs, workers: store.writers, maxQueue: 50_000 });
  const rejected: RejectedMessage[] = [];
  const transport = await startNatsTransport(pipeline, {
    url: NATS_URL,
    stream: nats.stream,
    subjects: nats.subjects,
    durable: nats.durable,
    nakBackoff: { initialMs: 50, maxMs: 400 },
    ...(tenant === undefined ? {} : { tenant }),
    onRejected: (r) => rejected.push(r),
  });
  defer(async () => {
    await transport.close();
    await pipeline.close();
    await store.close();
  });
  return { store, pipeline, transport, rejected };
}

/** A fresh store and stream; `defer` queues cleanups that run last-in first-out (t.after hooks run in order). */
async function scratch(t: TestContext, kind: StoreKind): Promise<{ location: StoreLocation; nats: ScratchStream; defer: Defer }> {
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const defer: Defer = (cleanup) => cleanups.push(cleanup);
  const location = await freshStore(kind);
  defer(() => location.destroy());
  const nats = await scratchStream();
  defer(() => nats.destroy());
  return { location, nats, defer };
}

/** Resolves once the consumer has nothing left to deliver or to be acked. */
async function consumerIdle(nats: ScratchStream, total: number): Promise<void> {
  await waitFor(
    async () => {
      const info = await nats.consumerInfo();
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq === total;
    },
    30_000,
    `the consumer to ack all ${total} messages`,
  );
}

/** Publishes one event on `<prefix>.<topic>` whose X-Scope-OrgID header names `tenant`. */
function publishAs(nats: ScratchStream, tenant: string, topic: string, id: string, msgID: string) {
  const named = headers();
  named.set('X-Scope-OrgID', tenant);
  const body = new TextEncoder().encode(JSON.stringify(makeEvent(topic, id)));
  return nats.js.publish(`${nats.subjects.slice(0, -1)}${topic}`, body, { msgID, headers: named });
}

/** The event ids a tenant holds in a topic, in seq order. */
async function idsOf(store: Store, tenant: string, topic: string): Promise<string[]> {
  return (JSON.parse((await store.queryEvents(tenant, { topic, after: 0, limit: 100 })).body) as StoredEvent[]).map((e) => e.event_id);
}

/** The three lifetime counters of a topic (no retention runs here), zero for a topic never seen. */
async function counts(store: Store, topic: string): Promise<TopicCounts> {
  const { received = 0, unique_processed = 0, duplicate_dropped = 0 } = (await store.topicCounts()).get(topic) ?? {};
  return { received, unique_processed, duplicate_dropped };
}

for (const kind of storeKinds()) {
  describe(`NATS JetStream transport [${kind}]`, { timeout: 120_000 }, () => {
    test('messages with Nats-Msg-Id = event_id are stored once each; a body without topic takes it from the subject', async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      const rig = await startRig(defer, location, nats);
      const topic = uniqueTopic('nats');
      for (let i = 0; i < 200; i++) {
        const { topic: _omitted, ...withoutTopic } = makeEvent(topic, `e${i}`);
        await nats.publish(topic, i % 2 === 0 ? makeEvent(topic, `e${i}`) : withoutTopic, `e${i}`);
      }
      // The same Nats-Msg-Id again inside the duplicate window: JetStream itself drops it.
      const again = await nats.publish(topic, makeEvent(topic, 'e0'), 'e0');
      assert.equal(again.duplicate, true);

      await consumerIdle(nats, 200);
      assert.deepEqual(await counts(rig.store, topic), { received: 200, unique_processed: 200, duplicate_dropped: 0 });
      const page = await rig.store.queryEvents('default', { topic, after: 0, limit: 1000 });
      const stored = JSON.parse(page.body) as StoredEvent[];
      assert.equal(new Set(stored.map((e) => e.event_id)).size, 200);
      assert.ok(stored.every((e) => e.topic === topic));
      assert.deepEqual(rig.rejected, []);
    });

    test('copies of an event under other msg ids are counted as duplicates and stored once', async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      const rig = await startRig(defer, location, nats);
      const topic = uniqueTopic('natsdup');
      for (let i = 0; i < 100; i++) await nats.publish(topic, makeEvent(topic, `e${i}`), `e${i}`);
      for (let i = 0; i < 100; i += 2) {
        await nats.publish(topic, makeEvent(topic, `e${i}`, { payload: { content: 'resent' } }), `e${i}-copy`);
      }
      await consumerIdle(nats, 150);
      assert.deepEqual(await counts(rig.store, topic), { received: 150, unique_processed: 100, duplicate_dropped: 50 });
      const page = await rig.store.queryEvents('default', { topic, after: 0, limit: 1000 });
      assert.equal(page.count, 100);
    });

    test('invalid messages are terminated, counted as rejected once each and never redelivered', async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      const rig = await startRig(defer, location, nats);
      const topic = uniqueTopic('natsbad');
      await nats.publishRaw(topic, '{"not json', 'bad-json');
      const { source: _missing, ...noSource } = makeEvent(topic, 'no-source');
      await nats.publish(topic, noSource, 'no-source');
      await nats.publish(topic, makeEvent('another.topic', 'mismatch'), 'mismatch');
      await nats.publish(topic, [makeEvent(topic, 'in-array')], 'array');
      await nats.publish(topic, makeEvent(topic, 'good'), 'good');

      await consumerIdle(nats, 5);
      const info = await nats.consumerInfo();
      // One delivery per message: consumer_seq counts every delivery, redeliveries included.
      assert.equal(info.delivered.consumer_seq, 5);
      assert.equal(info.num_redelivered, 0);
      assert.deepEqual(
        rig.rejected.map((r) => [r.code, r.seq]),
        [
          ['INVALID_JSON', 1],
          ['VALIDATION_FAILED', 2],
          ['VALIDATION_FAILED', 3],
          ['VALIDATION_FAILED', 4],
        ],
      );
      assert.match(rig.rejected[2]?.message ?? '', /subject/);
      assert.deepEqual(await counts(rig.store, topic), { received: 1, unique_processed: 1, duplicate_dropped: 0 });
    });

    test('NATS_TENANT=*: the X-Scope-OrgID header names the tenant; a header that is not a tenant name is terminated', async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      const rig = await startRig(defer, location, nats, 2, '*');
      const topic = uniqueTopic('natstenant');
      await publishAs(nats, 'acme', topic, 'same', 'acme-same');
      await publishAs(nats, 'globex', topic, 'same', 'globex-same');
      await publishAs(nats, '*', topic, 'bad', 'bad');
      await nats.publish(topic, makeEvent(topic, 'plain'), 'plain');

      await consumerIdle(nats, 4);
      const ids = (tenant: string) => idsOf(rig.store, tenant, topic);
      // The same key in two tenants is two events; no header is `default`'s.
      assert.deepEqual(await ids('acme'), ['same']);
      assert.deepEqual(await ids('globex'), ['same']);
      assert.deepEqual(await ids('default'), ['plain']);
      assert.deepEqual(
        rig.rejected.map((r) => [r.code, r.seq]),
        [['VALIDATION_FAILED', 3]],
      );
      assert.match(rig.rejected[0]?.message ?? '', /X-Scope-OrgID/);
    });

    test('NATS_TENANT pins one tenant: every message is its, and a header naming another is terminated', async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      const rig = await startRig(defer, location, nats, 2, 'acme');
      const topic = uniqueTopic('natspinned');
      await nats.publish(topic, makeEvent(topic, 'plain'), 'plain');
      await publishAs(nats, 'acme', topic, 'same', 'same');
      await publishAs(nats, 'globex', topic, 'other', 'other');
      await consumerIdle(nats, 3);
      const ids = (tenant: string) => idsOf(rig.store, tenant, topic);
      assert.deepEqual(await ids('acme'), ['plain', 'same']);
      assert.deepEqual(await ids('globex'), []);
      assert.deepEqual(await ids('default'), []);
      assert.deepEqual(
        rig.rejected.map((r) => [r.code, r.seq]),
        [['VALIDATION_FAILED', 3]],
      );
    });

    test("a message that would pass its tenant's max_topics is terminated as QUOTA_EXCEEDED, not redelivered", async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      const store = await createStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, workers: 2 });
      await store.migrate();
      const pipeline = createPipeline(store, {
        batchMax: 1000,
        lingerMs: 2,
        workers: store.writers,
        maxQueue: 50_000,
        topicLimit: () => 1,
      });
      const rejected: RejectedMessage[] = [];
      const transport = await startNatsTransport(pipeline, {
        url: NATS_URL,
        stream: nats.stream,
        subjects: nats.subjects,
        durable: nats.durable,
        nakBackoff: { initialMs: 50, maxMs: 400 },
        onRejected: (r) => rejected.push(r),
      });
      defer(async () => {
        await transport.close();
        await pipeline.close();
        await store.close();
      });
      const [first, second] = [uniqueTopic('natsquota-a'), uniqueTopic('natsquota-b')];
      await nats.publish(first, makeEvent(first, 'kept'), 'kept');
      await consumerIdle(nats, 1);
      await nats.publish(second, makeEvent(second, 'over'), 'over');
      await nats.publish(first, makeEvent(first, 'again'), 'again');
      await consumerIdle(nats, 3);
      const info = await nats.consumerInfo();
      assert.equal(info.num_redelivered, 0);
      assert.deepEqual(
        rejected.map((r) => [r.code, r.seq]),
        [['QUOTA_EXCEEDED', 2]],
      );
      assert.equal((await store.stats('default', 10, [])).topicCount, 1);
    });

    test('a message is acked only after its batch commits: acked never exceeds what the store counted', async (t) => {
      const { location, nats, defer } = await scratch(t, kind);
      // A long linger holds delivered messages uncommitted long enough to look at them.
      const rig = await startRig(defer, location, nats, 1500);
      const topic = uniqueTopic('natsack');
      await Promise.all(Array.from({ length: 50 }, (_, i) => nats.publish(topic, makeEvent(topic, `e${i}`), `e${i}`)));
      let sawHeld = false;
      await waitFor(
        async () => {
          const info = await nats.consumerInfo();
          // Read after the consumer info: anything acked by then was committed by then.
          const committed = (await counts(rig.store, topic)).received;
          const acked = info.delivered.consumer_seq - info.num_ack_pending;
          assert.ok(acked <= committed, `${acked} acked but only ${committed} committed`);
          if (info.num_ack_pending === 50 && committed === 0) sawHeld = true;
          return acked === 50;
        },
        30_000,
        'all 50 messages to be acked',
      );
      assert.ok(sawHeld, 'never saw delivered messages waiting for their commit');
      assert.deepEqual(await counts(rig.store, topic), { received: 50, unique_processed: 50, duplicate_dropped: 0 });
    });

    test(
      'while the store is unreachable nothing is acked; messages are redelivered and stored once when it returns',
      {
        skip: kind === 'pglite' ? 'needs a store reached over the network' : false,
      },
      async (t) => {
        const { location, nats, defer } = await scratch(t, kind);
        const proxy = await startProxy(new URL(location.databaseUrl as string));
        defer(() => proxy.close());
        const url = new URL(location.databaseUrl as string);
        url.host = `127.0.0.1:${proxy.port}`;
        const rig = await startRig(defer, { ...location, databaseUrl: url.toString() }, nats);
        const topic = uniqueTopic('natsout');

        await proxy.down();
        for (let i = 0; i < 100; i++) await nats.publish(topic, makeEvent(topic, `e${i}`), `e${i}`);
        await waitFor(async () => (await nats.consumerInfo()).delivered.consumer_seq >= 300, 30_000, 'redeliveries during the outage');
        const during = await nats.consumerInfo();
        assert.equal(during.ack_floor.stream_seq, 0);
        assert.equal(during.num_pending + during.num_ack_pending, 100);

        await proxy.up();
        await consumerIdle(nats, 100);
        assert.deepEqual(await counts(rig.store, topic), { received: 100, unique_processed: 100, duplicate_dropped: 0 });
        assert.deepEqual(rig.rejected, []);
      },
    );
  });
}

describe('NATS replicas', { timeout: 240_000 }, () => {
  test(
    'two replicas on one stream, one SIGKILLed mid-stream: every event stored once, counters exact',
    {
      skip: storeKinds().includes('postgres') ? false : 'replicas share PostgreSQL: set TEST_DATABASE_URL',
    },
    async (t) => {
      const { location, nats, defer } = await scratch(t, 'postgres');
      // A short ack_wait so the killed replica's unacked messages come back quickly.
      await nats.createConsumer({ ackWaitMs: 2000, maxAckPending: 2000 });
      const env = { NATS_URL, NATS_STREAM: nats.stream, NATS_SUBJECTS: nats.subjects, NATS_DURABLE: nats.durable, WORKERS: '2' };
      const victim = await spawnServer(location, env);
      defer(async () => victim.child.kill('SIGKILL') && (await victim.exited));
      const survivor = await spawnServer(location, env);
      defer(async () => survivor.child.kill('SIGTERM') && (await survivor.exited));

      const topics = Array.from({ length: 4 }, (_, i) => uniqueTopic(`replica${i}`));
      const distinct = 14_000;
      const messages: { topic: string; event: Event; msgID: string }[] = [];
      for (let i = 0; i < distinct; i++) {
        const topic = topics[i % 4] as string;
        messages.push({ topic, event: makeEvent(topic, `e${i}`), msgID: `e${i}` });
      }
      for (let i = 0; i < 6000; i++) {
        const original = messages[(i * 7919) % distinct] as (typeof messages)[number];
        messages.splice(distinct / 2 + i, 0, { ...original, msgID: `${original.msgID}-copy${i}` });
      }

      const figures = async (url: string): Promise<Stats> => (await get<Stats>(`${url}/stats?top=100`)).body;
      let published = 0;
      const publishing = (async () => {
        for (let start = 0; start < messages.length; start += 1000) {
          const chunk = messages.slice(start, start + 1000);
          await Promise.all(chunk.map((m) => nats.publish(m.topic, m.event, m.msgID)));
          published = start + chunk.length;
        }
      })();
      await waitFor(
        async () =>
          (await figures(victim.url)).pipeline.events_committed > 0 && (await figures(survivor.url)).pipeline.events_committed > 0,
        30_000,
        'both replicas to commit events from the stream (is NATS_URL wired in src/server.ts?)',
      );
      // Mid-stream: past 40% of the messages, while the consumer has messages delivered and not yet acked.
      let pendingAtKill = 0;
      await waitFor(
        async () => published >= messages.length * 0.4 && (pendingAtKill = (await nats.consumerInfo()).num_ack_pending) >= 100,
        30_000,
        'messages in flight past 40% of the stream',
      );
      // Freeze the victim first: the messages it holds can then be neither committed-and-acked nor dropped, so once
      // ack_wait passes they come back (num_redelivered). A replica caught holding none is thawed and frozen again.
      for (let attempt = 1; ; attempt++) {
        victim.child.kill('SIGSTOP');
        const heldSome = await waitFor(async () => (await nats.consumerInfo()).num_redelivered > 0, 5000, 'redelivery').then(
          () => true,
          () => false,
        );
        if (heldSome || attempt === 5) break;
        victim.child.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      victim.child.kill('SIGKILL');
      const killedAt = published;
      await publishing;
      assert.equal(await victim.exited, 'SIGKILL');

      await waitFor(async () => (await figures(survivor.url)).received >= messages.length, 60_000, 'the survivor to take every message');
      await consumerIdle(nats, messages.length);
      const stats = await figures(survivor.url);
      assert.equal(stats.unique_processed, distinct);
      assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
      for (const topic of topics) {
        const ids = new Set<string>();
        let after = 0;
        for (;;) {
          const page = await get<StoredEvent[]>(`${survivor.url}/events?topic=${topic}&limit=10000&after=${after}`);
          for (const event of page.body) ids.add(event.event_id);
          if (page.body.length < 10_000) break;
          after = (page.body.at(-1) as StoredEvent).seq;
        }
        assert.equal(ids.size, distinct / 4, `topic ${topic}`);
        assert.equal(stats.per_topic[topic]?.unique_processed, distinct / 4);
      }
      // Deliveries past one per message are the killed replica's unacked messages coming back to the survivor.
      const redeliveries = (await nats.consumerInfo()).delivered.consumer_seq - messages.length;
      const recounted = stats.received - messages.length;
      t.diagnostic(
        `published ${messages.length} (${distinct} distinct); SIGKILL after ${killedAt} published, ${pendingAtKill} unacked; ` +
          `redelivered ${redeliveries}, of which committed before the kill ${recounted}; received ${stats.received}, ` +
          `unique ${stats.unique_processed}, duplicates ${stats.duplicate_dropped}`,
      );
      assert.ok(redeliveries > 0, 'the killed replica held no unacked messages: the kill was not mid-stream');
      assert.ok(recounted >= 0 && recounted <= redeliveries);
      // A graceful stop with the transport attached: it settles its messages, drains and exits cleanly.
      survivor.child.kill('SIGTERM');
      assert.equal(await survivor.exited, 0);
    },
  );
});

/** A TCP proxy to the database that can be taken down (refusing and cutting connections) and brought back. */
async function startProxy(target: URL): Promise<{ port: number; down(): Promise<void>; up(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const next = createServer((client) => {
      const upstream = connectTcp(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    const address = next.address();
    if (typeof address === 'object' && address) port = address.port;
    server = next;
  };
  const down = async (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return { port, down, up: listen, close: down };
}
