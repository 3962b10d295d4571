import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditPage, DeletionJob, DeletionJobsPage } from '../../src/schema/deletion.js';
import type { StoredEvent } from '../../src/schema/event.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';
import { storeKinds } from '../helpers/stores.js';
import { at, events, publish, topicStats } from '../helpers/deletion.js';

const ids = (rows: StoredEvent[]) => rows.map((row) => row.event_id).sort();

async function allEvents(url: string, topic: string, q?: string): Promise<StoredEvent[]> {
  const params = new URLSearchParams({ topic, limit: '10000', ...(q === undefined ? {} : { q }) });
  const reply = await get<StoredEvent[]>(`${url}/events?${params}`);
  assert.equal(reply.status, 200);
  return reply.body;
}

async function lokiLines(url: string, topic: string): Promise<number> {
  const start = BigInt(Date.parse(at(0)) - 60_000) * 1_000_000n;
  const end = BigInt(Date.parse(at(0)) + 3_600_000) * 1_000_000n;
  const search = new URLSearchParams({ query: `{topic="${topic}"}`, start: String(start), end: String(end), limit: '5000' });
  const reply = await get<{ data: { result: Array<{ values: unknown[] }> } }>(`${url}/loki/api/v1/query_range?${search}`);
  assert.equal(reply.status, 200);
  return reply.body.data.result.reduce((n, stream) => n + stream.values.length, 0);
}

for (const kind of storeKinds()) {
  describe(`POST /admin/delete with the runner stopped (the job stays queued) [${kind}]`, { timeout: 60_000 }, () => {
    const server = serverForSuite(kind, { hooks: { deletion: { off: true } } });

    test('rows the job matched are unreadable from the 202 on: /events, search, the stream catch-up and the Loki API', async () => {
      const topic = uniqueTopic('hide');
      await publish(server.url, events(topic, 30));
      const reply = await post<DeletionJob>(`${server.url}/admin/delete`, { topic, q: 'secret' });
      assert.equal(reply.status, 202, JSON.stringify(reply.body));
      assert.equal(reply.headers.get('location'), `/admin/delete/${reply.body.id}`);
      assert.equal(reply.body.state, 'queued');
      assert.equal(reply.body.matched, 10);
      assert.equal(reply.body.requested_by, 'anonymous');
      // Read at once, without waiting for anything.
      const left = await allEvents(server.url, topic);
      assert.equal(left.length, 20);
      assert.ok(left.every((row) => !JSON.stringify(row.payload).includes('secret')));
      assert.deepEqual(await allEvents(server.url, topic, 'secret'), []);
      assert.equal(await lokiLines(server.url, topic), 20);
      const histogram = await get<{ total: number }>(`${server.url}/events/histogram?topic=${encodeURIComponent(topic)}`);
      assert.equal(histogram.body.total, 20, 'the histogram counts no hidden row');
      const stream = await openStream(`${server.url}/events/stream?topic=${encodeURIComponent(topic)}&after=0`);
      try {
        const got = await stream.waitFor(20);
        await publish(server.url, [makeEvent(topic, 'after-the-job')]);
        await stream.waitFor(21);
        assert.equal(stream.events.length, 21);
        assert.ok(got.every((event) => Number(event.data.event_id.slice(1)) % 3 !== 0));
      } finally {
        stream.close();
      }
      // Nothing deleted yet: the counters still hold the rows, hidden.
      const stats = await topicStats(server.url, topic);
      assert.equal(stats?.stored, 31);
      assert.equal(stats?.deleted, 0);
    });

    test('a time range on the event timestamp and a topic pattern choose the rows', async () => {
      const prefix = uniqueTopic('pattern');
      await publish(server.url, [...events(`${prefix}.a`, 10), ...events(`${prefix}.b`, 10), ...events(`${prefix}x`, 10)]);
      const reply = await post<DeletionJob>(`${server.url}/admin/delete`, { topic: `${prefix}.*`, from: at(2), to: at(5) });
      assert.equal(reply.status, 202);
      assert.equal(reply.body.matched, 6);
      assert.deepEqual(ids(await allEvents(server.url, `${prefix}.a`)), ['e0', 'e1', 'e5', 'e6', 'e7', 'e8', 'e9']);
      assert.equal((await allEvents(server.url, `${prefix}x`)).length, 10);
    });

    test('bad input is refused and changes nothing: no job, no audit record', async () => {
      const before = (await get<DeletionJobsPage>(`${server.url}/admin/delete?limit=100`)).body.jobs.length;
      const auditBefore = (await get<AuditPage>(`${server.url}/admin/audit?limit=100`)).body.entries.length;
      const topic = uniqueTopic('bad');
      await publish(server.url, events(topic, 3));
      const cases: Array<[unknown, number, string]> = [
        [{}, 422, 'VALIDATION_FAILED'],
        [{ topic: '' }, 422, 'VALIDATION_FAILED'],
        [{ topic, from: 'yesterday' }, 422, 'VALIDATION_FAILED'],
        [{ topic, extra: 1 }, 422, 'VALIDATION_FAILED'],
        [{ topic, tenant: 'a|b' }, 422, 'VALIDATION_FAILED'],
        [{ topic, tenant: 'other' }, 400, 'BAD_REQUEST'],
        [{ topic, from: at(5), to: at(5) }, 400, 'BAD_REQUEST'],
        [{ topic, q: '"unclosed' }, 400, 'INVALID_QUERY'],
      ];
      for (const [body, status, code] of cases) {
        const reply = await post<{ error: string }>(`${server.url}/admin/delete`, body);
        assert.equal(reply.status, status, JSON.stringify(body));
        assert.equal(reply.body.error, code, JSON.stringify(body));
      }
      assert.equal((await get<DeletionJobsPage>(`${server.url}/admin/delete?limit=100`)).body.jobs.length, before);
      assert.equal((await get<AuditPage>(`${server.url}/admin/audit?limit=100`)).body.entries.length, auditBefore);
      assert.equal((await allEvents(server.url, topic)).length, 3);
      assert.equal((await get<{ error: string }>(`${server.url}/admin/delete/999999999`)).body.error, 'DELETION_NOT_FOUND');
    });

    test('every accepted deletion leaves an audit record, newest first, paged', async () => {
      const topic = uniqueTopic('audit');
      for (const q of ['one', 'two', 'three'])
        assert.equal((await post(`${server.url}/admin/delete`, { topic, q, tenant: 'default' })).status, 202);
      const first = (await get<AuditPage>(`${server.url}/admin/audit?limit=2`)).body;
      assert.deepEqual(
        first.entries.map((e) => [e.actor, e.action, e.params.topic, e.params.q]),
        [
          ['anonymous', 'deletion.accepted', topic, 'three'],
          ['anonymous', 'deletion.accepted', topic, 'two'],
        ],
      );
      assert.ok(first.next);
      const second = (await get<AuditPage>(`${server.url}/admin/audit?limit=1&before=${first.next}`)).body;
      assert.equal(second.entries[0]?.params.q, 'one');
      assert.ok(!Number.isNaN(Date.parse(second.entries[0]?.at ?? '')));
      const jobs = (await get<DeletionJobsPage>(`${server.url}/admin/delete?limit=3`)).body.jobs;
      assert.deepEqual(
        jobs.map((job) => job.request.q),
        ['three', 'two', 'one'],
      );
    });
  });
}
