import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import type { Event } from '../../src/schema/event.js';
import type { Stats, TopicsPage } from '../../src/schema/stats.js';
import { get, makeEvent, post } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

// More topics than one /topics request reads (10,000), so a rare q must hand back a cursor, not scan them all.
const TOPICS = 10_200;
const name = (i: number): string => `many.${String(i).padStart(5, '0')}`;

for (const kind of storeKinds()) {
  describe(`GET /stats and GET /topics with ${TOPICS.toLocaleString('en')} topics [${kind}]`, { timeout: 300_000 }, () => {
    const server = serverForSuite(kind);

    /** Every page from after= to next=null, with the requests it took. */
    const allPages = async (query: string): Promise<{ names: string[]; pages: TopicsPage[] }> => {
      const names: string[] = [];
      const pages: TopicsPage[] = [];
      let after: string | null = '';
      while (after !== null) {
        const cursor: string = after === '' ? '' : `&after=${encodeURIComponent(after)}`;
        const reply = await get<TopicsPage>(`${server.url}/topics?${query}${cursor}`);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        pages.push(reply.body);
        names.push(...reply.body.topics.map((entry) => entry.topic));
        assert.ok(pages.length < 1000, 'paging does not end');
        after = reply.body.next;
      }
      return { names, pages };
    };

    test('setup: every topic gets copies, topic i gets 1 + (i mod 7) copies of one event, so duplicates too', async () => {
      const events: Event[] = [];
      for (let i = 0; i < TOPICS; i++) {
        for (let copy = 0; copy <= i % 7; copy++) events.push(makeEvent(name(i), 'only'));
      }
      for (let i = 0; i < events.length; i += 5000) {
        const reply = await post(`${server.url}/publish`, events.slice(i, i + 5000));
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
      }
    });

    test('/stats is bounded: totals over every topic, exact after duplicates, and only the top N listed', async () => {
      let received = 0;
      for (let i = 0; i < TOPICS; i++) received += 1 + (i % 7);
      const reply = await get<Stats>(`${server.url}/stats?top=5`);
      assert.equal(reply.status, 200);
      const stats = reply.body;
      assert.equal(stats.topic_count, TOPICS);
      assert.equal(stats.received, received);
      assert.equal(stats.unique_processed, TOPICS);
      assert.equal(stats.duplicate_dropped, received - TOPICS);
      assert.equal(stats.stored, TOPICS);
      assert.equal(stats.topics.length, 5);
      assert.deepEqual(Object.keys(stats.per_topic).sort(), [...stats.topics].sort());
      // The top five by copies received: the ones with 7 copies, first by name.
      for (const topic of stats.topics) assert.equal(stats.per_topic[topic]?.received, 7);
      assert.deepEqual(stats.topics, [6, 13, 20, 27, 34].map(name));
      // The default lists 20, and a body far below the 64 KiB the issue allows at any topic count.
      const plain = await fetch(`${server.url}/stats`);
      const text = await plain.text();
      assert.equal((JSON.parse(text) as Stats).topics.length, 20);
      assert.ok(text.length < 16 * 1024, `/stats is ${text.length} bytes`);
    });

    test('/stats?topic= lists named topics whatever their rank; unknown names are left out', async () => {
      const stats = (await get<Stats>(`${server.url}/stats?top=0&topic=${name(0)}&topic=${name(1)}&topic=no.such.topic`)).body;
      assert.deepEqual([...stats.topics].sort(), [name(0), name(1)]);
      assert.equal(stats.per_topic[name(0)]?.received, 1);
      assert.equal(stats.per_topic[name(1)]?.duplicate_dropped, 1);
      assert.equal(stats.topic_count, TOPICS);
      const both = (await get<Stats>(`${server.url}/stats?top=1&topic=${name(0)}`)).body;
      assert.deepEqual(both.topics, [name(6), name(0)]);
    });

    test('/topics pages cover every topic exactly once, in pages of at most limit', async () => {
      const { names, pages } = await allPages('limit=1000');
      assert.equal(names.length, TOPICS);
      assert.equal(new Set(names).size, TOPICS);
      for (const page of pages) assert.ok(page.topics.length <= 1000);
      assert.equal(pages.length, Math.ceil(TOPICS / 1000));
      const first = (await get<TopicsPage>(`${server.url}/topics`)).body;
      assert.equal(first.topics.length, 100);
      assert.deepEqual(first.topics[0], { ...first.topics[0], topic: name(0), received: 1, unique_processed: 1, stored: 1 });
    });

    test('/topics?q= matches a substring ignoring case, and a rare match costs bounded requests', async () => {
      const { names } = await allPages(`q=${encodeURIComponent('MANY.0012')}&limit=50`);
      assert.deepEqual(
        names,
        Array.from({ length: 10 }, (_, i) => name(120 + i)),
      );
      // One match past the first 10,000 names: the first request reads its budget, finds nothing, says where to go on.
      const first = (await get<TopicsPage>(`${server.url}/topics?q=10150`)).body;
      assert.deepEqual(first.topics, []);
      assert.notEqual(first.next, null);
      const { names: rare, pages } = await allPages('q=10150');
      assert.deepEqual(rare, [name(10150)]);
      assert.equal(pages.length, 2);
      assert.deepEqual((await allPages('q=nothing-like-this')).names, []);
    });

    test('bad parameters are refused with a message naming the parameter and its range', async () => {
      const refused = async (path: string, needle: string) => {
        const reply = await get<ErrorBody>(`${server.url}${path}`);
        assert.equal(reply.status, 422, `${path}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.error, 'VALIDATION_FAILED');
        assert.match(reply.body.message, new RegExp(needle), path);
      };
      await refused('/topics?limit=0', 'limit must be >= 1');
      await refused('/topics?limit=1001', 'limit must be <= 1000');
      await refused('/topics?limit=many', 'limit must be integer');
      await refused('/topics?limit=1e400', 'limit must be an integer from 1 to 1000');
      await refused('/topics?after=', 'after');
      await refused(`/topics?q=${'x'.repeat(256)}`, 'q');
      await refused('/stats?top=101', 'top must be <= 100');
      await refused('/stats?top=-1', 'top must be >= 0');
      await refused('/stats?top=1e400', 'top must be an integer from 0 to 100');
      await refused(`/stats?${Array.from({ length: 101 }, (_, i) => `topic=t${i}`).join('&')}`, 'topic');
    });
  });
}
