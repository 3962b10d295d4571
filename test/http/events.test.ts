import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import type { StoredEvent } from '../../src/schema/event.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

/** The target of the Link header's rel="next" or rel="prev" entry, if there is one. */
function linkTo(reply: { headers: Headers }, rel: 'next' | 'prev'): string | undefined {
  const link = reply.headers.get('link') ?? '';
  return new RegExp(`<([^>]+)>; rel="${rel}"`).exec(link)?.[1];
}

for (const kind of storeKinds()) {
  describe(`GET /events [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    const events = (query: string) => get<StoredEvent[]>(`${server.url}/events?${query}`);

    test('the topic filter returns only that topic, in commit order', async () => {
      const wanted = uniqueTopic('wanted');
      const other = uniqueTopic('other');
      await post(`${server.url}/publish`, [makeEvent(wanted, 'a'), makeEvent(other, 'b'), makeEvent(wanted, 'c')]);
      const reply = await events(`topic=${wanted}`);
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(
        reply.body.map((e) => e.event_id),
        ['a', 'c'],
      );
      assert.ok((reply.body[0]?.seq ?? 0) < (reply.body[1]?.seq ?? 0));
    });

    test('without filters every topic is listed, each event with its fields, seq and received_at', async () => {
      const a = uniqueTopic('all-a');
      const b = uniqueTopic('all-b');
      await post(`${server.url}/publish`, [makeEvent(a, '1'), makeEvent(b, '2')]);
      const reply = await events('limit=10000');
      const mine = reply.body.filter((e) => e.topic === a || e.topic === b);
      assert.equal(mine.length, 2);
      assert.deepEqual(Object.keys(mine[0] ?? {}).sort(), ['event_id', 'payload', 'received_at', 'seq', 'source', 'timestamp', 'topic']);
      assert.deepEqual(mine[0]?.payload, makeEvent(a, '1').payload);
      assert.equal(mine[0]?.source, 'payment-gateway-A');
    });

    test('pages follow the Link rel="next" cursor until the last page, with no gap and no repeat', async () => {
      const topic = uniqueTopic('pages');
      await post(
        `${server.url}/publish`,
        Array.from({ length: 25 }, (_, i) => makeEvent(topic, `p${String(i).padStart(2, '0')}`)),
      );
      const seen: string[] = [];
      let next: string | undefined = `${server.url}/events?topic=${topic}&limit=10`;
      let pages = 0;
      while (next) {
        const reply: Awaited<ReturnType<typeof events>> = await get<StoredEvent[]>(next);
        seen.push(...reply.body.map((e) => e.event_id));
        pages++;
        const target = linkTo(reply, 'next');
        next = target === undefined ? undefined : `${server.url}${target}`;
      }
      assert.equal(pages, 3);
      assert.deepEqual(
        seen,
        Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, '0')}`),
      );
    });

    test('an exactly full last page has no next link', async () => {
      const topic = uniqueTopic('exact');
      await post(
        `${server.url}/publish`,
        Array.from({ length: 4 }, (_, i) => makeEvent(topic, `e${i}`)),
      );
      const first = await events(`topic=${topic}&limit=2`);
      assert.equal(linkTo(first, 'prev'), undefined, 'the first page has nothing before it');
      const after = /after=(\d+)/.exec(linkTo(first, 'next') ?? '')?.[1];
      assert.ok(after);
      const second = await events(`topic=${topic}&limit=2&after=${after}`);
      assert.equal(second.body.length, 2);
      assert.equal(linkTo(second, 'next'), undefined);
      assert.ok(linkTo(second, 'prev'));
    });

    test('rel="prev" pages back from the end to the start, each page in ascending order, no gap and no repeat', async () => {
      const topic = uniqueTopic('back');
      const ids = Array.from({ length: 25 }, (_, i) => `b${String(i).padStart(2, '0')}`);
      await post(
        `${server.url}/publish`,
        ids.map((id) => makeEvent(topic, id)),
      );
      // Forward to the last page, then back along rel="prev".
      let reply = await events(`topic=${topic}&limit=10`);
      for (let next = linkTo(reply, 'next'); next !== undefined; next = linkTo(reply, 'next')) {
        reply = await get<StoredEvent[]>(`${server.url}${next}`);
      }
      const pages: string[][] = [reply.body.map((e) => e.event_id)];
      for (let prev = linkTo(reply, 'prev'); prev !== undefined; prev = linkTo(reply, 'prev')) {
        reply = await get<StoredEvent[]>(`${server.url}${prev}`);
        pages.unshift(reply.body.map((e) => e.event_id));
        assert.ok(linkTo(reply, 'next'), 'a page reached going back links forward again');
      }
      assert.deepEqual(
        pages.map((p) => p.length),
        [10, 10, 5],
      );
      assert.deepEqual(pages.flat(), ids);
      const b05 = (await events(`topic=${topic}&limit=10`)).body[5]?.seq;
      const before = await events(`topic=${topic}&limit=3&before=${b05}`);
      assert.deepEqual(
        before.body.map((e) => e.event_id),
        ['b02', 'b03', 'b04'],
        'before= returns the newest events below it, ascending',
      );
    });

    test('source, since and until filter on the event fields', async () => {
      const topic = uniqueTopic('time');
      await post(`${server.url}/publish`, [
        makeEvent(topic, 'early', { timestamp: '2025-01-01T00:00:00Z', source: 'svc-a' }),
        makeEvent(topic, 'mid', { timestamp: '2025-06-01T00:00:00Z', source: 'svc-b' }),
        makeEvent(topic, 'late', { timestamp: '2025-12-01T00:00:00+02:00', source: 'svc-a' }),
      ]);
      const ids = async (query: string) => (await events(`topic=${topic}&${query}`)).body.map((e) => e.event_id);
      assert.deepEqual(await ids('source=svc-a'), ['early', 'late']);
      assert.deepEqual(await ids('since=2025-06-01T00:00:00Z'), ['mid', 'late']);
      assert.deepEqual(await ids('until=2025-06-01T00:00:00Z'), ['early']);
      assert.deepEqual(await ids('since=2025-02-01T00:00:00Z&until=2025-11-30T23:00:00Z'), ['mid', 'late']);
    });

    test('bad query values get 422 with a JSON error', async () => {
      for (const query of [
        'limit=0',
        'limit=10001',
        'limit=-5',
        'limit=abc',
        'after=-1',
        'after=1e400',
        'after=x',
        'since=yesterday',
        'until=2025-01-01',
        "topic=' OR 1=1 --&limit=1.5",
      ]) {
        const reply = await get<ErrorBody>(`${server.url}/events?${query}`);
        assert.equal(reply.status, 422, query);
        assert.equal(reply.body.error, 'VALIDATION_FAILED');
      }
    });

    test('SQL-looking filter values are data, not SQL', async () => {
      const reply = await events(`topic=${encodeURIComponent("x' OR '1'='1")}`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, []);
    });
  });
}
