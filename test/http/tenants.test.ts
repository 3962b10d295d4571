import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Stats as StatsResponse } from '../../src/schema/stats.js';
import { hashKey } from '../../src/schema/keys.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';
import { storeKinds } from '../helpers/stores.js';

// FC_SEED=<seed> replays a run; fast-check prints the seed and path of any failure.
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

interface Stored {
  topic: string;
  event_id: string;
  source: string;
  payload: { owner: string; message: string };
}

interface LokiStreams {
  data: { result: Array<{ stream: Record<string, string>; values: Array<[string, string]> }> };
}

const as = (tenant: string): Record<string, string> => ({ 'x-scope-orgid': tenant });
const ns = (iso: string): string => `${BigInt(Date.parse(iso)) * 1_000_000n}`;
const T = '2025-10-21T10:00:00.000Z';

/** Every event of the tenant GET /events returns, all pages. */
async function allEvents(url: string, tenant: string, query = ''): Promise<Stored[]> {
  const out: Stored[] = [];
  let after = 0;
  for (;;) {
    const reply = await get<Array<Stored & { seq: number }>>(`${url}/events?after=${after}&limit=1000${query}`, as(tenant));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    out.push(...reply.body);
    if (reply.body.length < 1000) return out;
    after = (reply.body[reply.body.length - 1] as { seq: number }).seq;
  }
}

/** The lines of a Loki log query over the test's day, as the tenant. */
async function lokiLines(url: string, tenant: string, query: string): Promise<string[]> {
  const params = new URLSearchParams({ query, start: ns('2025-10-21T00:00:00Z'), end: ns('2025-10-22T00:00:00Z'), limit: '5000' });
  const reply = await get<LokiStreams>(`${url}/loki/api/v1/query_range?${params}`, as(tenant));
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.data.result.flatMap((s) => s.values.map(([, line]) => line));
}

for (const kind of storeKinds()) {
  describe(`tenants keep their data apart [${kind}]`, { timeout: 300_000 }, () => {
    const server = serverForSuite(kind);

    test('the same keys in two tenants are two events; each tenant reads and counts only its own', async () => {
      const topic = uniqueTopic('tenants');
      const batch = (owner: string, ids: string[]) =>
        ids.map((id) => makeEvent(topic, id, { timestamp: T, source: `src-${owner}`, payload: { owner, message: `hello from ${owner}` } }));
      assert.equal((await post(`${server.url}/publish`, batch('acme', ['1', '2', '3']), { headers: as('acme') })).status, 200);
      const globex = await post<{ unique: number }>(`${server.url}/publish`, batch('globex', ['1', '2', '2']), { headers: as('globex') });
      assert.equal(globex.status, 200);
      assert.equal(globex.body.unique, 2, "globex's ids are new to globex although acme used them");

      const acme = await allEvents(server.url, 'acme', `&topic=${topic}`);
      assert.deepEqual(
        acme.map((e) => [e.event_id, e.payload.owner]),
        [
          ['1', 'acme'],
          ['2', 'acme'],
          ['3', 'acme'],
        ],
      );
      const other = await allEvents(server.url, 'globex', `&topic=${topic}`);
      assert.deepEqual(
        other.map((e) => [e.event_id, e.payload.owner]),
        [
          ['1', 'globex'],
          ['2', 'globex'],
        ],
      );
      assert.deepEqual(await allEvents(server.url, 'default', `&topic=${topic}`), []);

      const stats = await get<StatsResponse>(`${server.url}/stats?topic=${topic}`, as('globex'));
      assert.equal(stats.body.received, 3);
      assert.equal(stats.body.unique_processed, 2);
      assert.equal(stats.body.topic_count, 1);
      const empty = await get<StatsResponse>(`${server.url}/stats`, as('initech'));
      assert.equal(empty.status, 200);
      assert.equal(empty.body.received, 0, "a tenant that never wrote has zero counters, not the default tenant's");

      assert.deepEqual(await allEvents(server.url, 'acme', `&q=${encodeURIComponent('globex')}`), []);
      assert.deepEqual((await lokiLines(server.url, 'acme', `{topic="${topic}"}`)).sort(), Array(3).fill('hello from acme'));
      const values = await get<{ data: string[] }>(
        `${server.url}/loki/api/v1/label/source/values?start=${ns('2025-10-21T00:00:00Z')}&end=${ns('2025-10-22T00:00:00Z')}`,
        as('acme'),
      );
      assert.ok(values.body.data.includes('src-acme') && !values.body.data.includes('src-globex'), JSON.stringify(values.body));
      const histogram = await get<{ total: number }>(`${server.url}/events/histogram?topic=${topic}`, as('globex'));
      assert.equal(histogram.body.total, 2);
      const topics = await get<{ topics: Array<{ topic: string }> }>(`${server.url}/topics?q=${topic}`, as('initech'));
      assert.deepEqual(topics.body.topics, []);
    });

    test("a Loki push lands in the header's tenant; a deletion in one tenant leaves the other's events", async () => {
      const topic = uniqueTopic('tenants-loki');
      const push = (tenant: string) =>
        fetch(`${server.url}/loki/api/v1/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...as(tenant) },
          body: JSON.stringify({ streams: [{ stream: { topic, source: 'shipper' }, values: [[ns(T), `line of ${tenant}`]] }] }),
        });
      assert.equal((await push('acme')).status, 204);
      assert.equal((await push('globex')).status, 204);
      assert.deepEqual(await lokiLines(server.url, 'acme', `{topic="${topic}"}`), ['line of acme']);

      const job = await post<{ id: string; matched: number }>(`${server.url}/admin/delete`, { topic }, { headers: as('globex') });
      assert.equal(job.status, 202, JSON.stringify(job.body));
      assert.equal(job.body.matched, 1);
      assert.deepEqual(await lokiLines(server.url, 'globex', `{topic="${topic}"}`), []);
      assert.deepEqual(await lokiLines(server.url, 'acme', `{topic="${topic}"}`), ['line of acme']);
      assert.equal((await get(`${server.url}/admin/delete/${job.body.id}`, as('acme'))).status, 404, "acme cannot see globex's job");
      const audit = await get<{ entries: unknown[] }>(`${server.url}/admin/audit`, as('initech'));
      assert.deepEqual(audit.body.entries, []);
      const named = await post(`${server.url}/admin/delete`, { topic, tenant: 'acme' }, { headers: as('globex') });
      assert.equal(named.status, 400, 'a body naming another tenant than the request acts for is refused');
    });

    test("the live stream and its catch-up hand a subscriber its own tenant's events only", async () => {
      const topic = uniqueTopic('tenants-stream');
      const publish = (tenant: string, id: string) =>
        post(`${server.url}/publish`, [makeEvent(topic, id, { payload: { owner: tenant, message: 'x' } })], { headers: as(tenant) });
      assert.equal((await publish('acme', 'before')).status, 200);
      assert.equal((await publish('globex', 'before')).status, 200);
      const stream = await openStream(`${server.url}/events/stream?topic=${topic}&after=0`, as('acme'));
      try {
        for (const id of ['g1', 'g2']) assert.equal((await publish('globex', id)).status, 200);
        assert.equal((await publish('acme', 'a1')).status, 200);
        const seen = await stream.waitFor(2);
        // Both of acme's, none of globex's, whose live events were committed between them.
        assert.deepEqual(
          seen.map((e) => e.data.event_id),
          ['before', 'a1'],
        );
        assert.equal((await publish('acme', 'a2')).status, 200);
        assert.deepEqual(
          (await stream.waitFor(3)).map((e) => (e.data as unknown as Stored).payload.owner),
          ['acme', 'acme', 'acme'],
        );
      } finally {
        stream.close();
      }
    });

    test('property: random publishes into random tenants; every read of a tenant holds and counts its own events only', async () => {
      let run = 0;
      const op = fc.record({
        tenant: fc.integer({ min: 0, max: 2 }),
        topic: fc.integer({ min: 0, max: 1 }),
        id: fc.integer({ min: 0, max: 4 }),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }), async (requests) => {
          run++;
          const prefix = uniqueTopic(`tp${run}`);
          const tenants = [0, 1, 2].map((t) => `t${run}-${t}-${randomBytes(3).toString('hex')}`);
          // The model: per tenant, the first copy of each (topic, id) and how many copies arrived.
          const model = tenants.map(() => ({ received: 0, kept: new Map<string, string>() }));
          for (const [r, request] of requests.entries()) {
            for (const tenant of [0, 1, 2]) {
              const mine = request.filter((o) => o.tenant === tenant);
              if (mine.length === 0) continue;
              const owner = tenants[tenant] as string;
              const events = mine.map((o, i) =>
                makeEvent(`${prefix}.${o.topic}`, `id${o.id}`, {
                  timestamp: T,
                  source: `src-${owner}`,
                  payload: { owner, message: `m ${owner} ${r} ${i}` },
                }),
              );
              const reply = await post(`${server.url}/publish`, events, { headers: as(owner) });
              assert.equal(reply.status, 200);
              const m = model[tenant] as (typeof model)[number];
              m.received += events.length;
              for (const e of events)
                if (!m.kept.has(`${e.topic}/${e.event_id}`)) m.kept.set(`${e.topic}/${e.event_id}`, JSON.stringify(e.payload));
            }
          }
          for (const [t, owner] of tenants.entries()) {
            const m = model[t] as (typeof model)[number];
            const events = await allEvents(server.url, owner);
            assert.deepEqual(
              new Map(events.map((e) => [`${e.topic}/${e.event_id}`, JSON.stringify(e.payload)])),
              m.kept,
              `GET /events as ${owner}`,
            );
            const stats = await get<StatsResponse>(`${server.url}/stats`, as(owner));
            assert.equal(stats.body.received, m.received);
            assert.equal(stats.body.unique_processed, m.kept.size);
            assert.equal(stats.body.topic_count, new Set([...m.kept.keys()].map((k) => k.split('/')[0])).size);
            const lines = await lokiLines(server.url, owner, `{topic=~"${prefix}.*"}`);
            assert.equal(lines.length, m.kept.size);
            assert.ok(
              lines.every((line) => line.startsWith(`m ${owner} `)),
              `Loki lines as ${owner}: ${lines.join(' | ')}`,
            );
            const histogram = await get<{ total: number }>(`${server.url}/events/histogram`, as(owner));
            assert.equal(histogram.body.total, m.kept.size);
          }
        }),
        { numRuns: 8, seed: SEED, includeErrorInReport: true },
      );
    });
  });
}

describe('keys bound to a tenant', { timeout: 120_000 }, () => {
  const secret = (): string => randomBytes(24).toString('base64url');
  const [acmeKey, globexKey] = [secret(), secret()];
  const keys = [`acme admin acme sha256:${hashKey(acmeKey)}`, `globex write globex sha256:${hashKey(globexKey)}`].join('; ');
  const server = serverForSuite(storeKinds()[0] ?? 'pglite', { keys });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  test("a bound key writes and reads its own tenant without a header, and never another's", async () => {
    const topic = uniqueTopic('bound');
    const event = makeEvent(topic, 'k1', { payload: { owner: 'globex', message: 'globex only' } });
    assert.equal((await post(`${server.url}/publish`, [event], { headers: bearer(globexKey) })).status, 200);
    const refused = await post(`${server.url}/publish`, [event], { headers: { ...bearer(globexKey), ...as('acme') } });
    assert.equal(refused.status, 403);
    const acme = await get<unknown[]>(`${server.url}/events?topic=${topic}`, bearer(acmeKey));
    assert.equal(acme.status, 200);
    assert.deepEqual(acme.body, [], "acme's key reads acme's events: none");
    assert.equal((await post(`${server.url}/publish`, [event], { headers: bearer(acmeKey) })).status, 200);
    const after = await get<StatsResponse>(`${server.url}/stats?topic=${topic}`, bearer(acmeKey));
    assert.equal(after.body.unique_processed, 1, "the same key is new to acme: globex's copy is not acme's");
  });
});
