import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_QUERY_LENGTH, MAX_TERMS } from '../../src/query/search/parse.js';
import type { ErrorBody } from '../../src/schema/error.js';
import type { StoredEvent } from '../../src/schema/event.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';
import { storeKinds } from '../helpers/stores.js';

/** The fixed data set, published in this order: event_id → source, payload. */
const EVENTS: Array<[id: string, source: string, payload: Record<string, unknown>]> = [
  ['e1', 'api', { message: 'Payment declined for order 42', level: 'error', order: { id: 42 }, metadata: { amount: 1500 } }],
  ['e2', 'api', { message: 'payment accepted', level: 'info', order: { id: 43 }, metadata: { amount: 20 } }],
  ['e3', 'worker', { msg: 'Retrying payment after timeout', level: 'warn', metadata: { amount: '2000' } }],
  ['e4', 'worker', { message: 'Café crème commandé — naïve façade', level: 'info' }],
  ['e5', 'api', { message: 'user said "hello world" loudly', level: 'debug' }],
  ['e6', 'api', { status: 500, path: '/checkout' }],
  ['e7', 'worker', { message: '日本語のログ メッセージ', level: 'INFO' }],
  ['e8', 'web', { message: 'GET /api/v1/orders?id=7 by user-42 (a.b@c.com) <b>timed out</b>', level: 'trace' }],
];
const ALL = EVENTS.map(([id]) => id);

/** q → the event_ids it must return, in commit order. */
const QUERIES: Array<[q: string, ids: string[]]> = [
  ['payment', ['e1', 'e2', 'e3']],
  ['PAYMENT declined', ['e1']],
  ['"payment declined"', ['e1']],
  ['"declined payment"', []],
  ['payment -declined', ['e2', 'e3']],
  ['payment -"payment accepted"', ['e1', 'e3']],
  ['level:error', ['e1']],
  ['level:info', ['e2', 'e4', 'e7']],
  ['-level:info', ['e1', 'e3', 'e5', 'e6', 'e8']],
  ['payload.order.id:42', ['e1']],
  ['order.id:43', ['e2']],
  ['metadata.amount:>1000', ['e1', 'e3']],
  ['metadata.amount:<=20', ['e2']],
  ['metadata.amount:>=2000 timeout', ['e3']],
  ['source:worker', ['e3', 'e4', 'e7']],
  ['source:worker payment', ['e3']],
  ['source:"api" -level:debug -level:error', ['e2', 'e6']],
  // Words are whole: a word is not a part of a longer one; word* completes one.
  ['time', []],
  ['timeout', ['e3']],
  ['time*', ['e3', 'e8']],
  ['TIMED', ['e8']],
  ['pay* -declined', ['e2', 'e3']],
  ['"time"', ['e3', 'e8']],
  // Punctuation separates words: a word inside a path, an address or a tag is found; a word with punctuation
  // matches that text with word boundaries at its ends.
  ['orders', ['e8']],
  ['/api/v1', ['e8']],
  ['api/v1/orders', ['e8']],
  ['user-42', ['e8']],
  ['USER-4', []],
  ['42', ['e1', 'e8']],
  ['a.b@c.com', ['e8']],
  ['b', ['e8']],
  ['user', ['e5', 'e8']],
  ['CAFÉ CRÈME', ['e4']],
  ['façade', ['e4']],
  ['NAÏVE', ['e4']],
  // No word segmentation for scripts without spaces: 日本語のログ is one word; a phrase finds a part of it.
  ['日本語', []],
  ['日本語のログ', ['e7']],
  ['"日本語"', ['e7']],
  ['"hello world"', ['e5']],
  ['"\\"hello world\\""', ['e5']],
  ['"lo wor"', ['e5']],
  ['checkout', ['e6']],
  ['"\\"status\\":500"', ['e6']],
  ['50%', []],
  ['nothing-like-this', []],
  ['12:30', []],
  ['   ', ALL],
];

for (const kind of storeKinds()) {
  describe(`GET /events?q= [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    const topic = uniqueTopic('search');
    const search = (query: string) => get<StoredEvent[]>(`${server.url}/events?topic=${topic}&${query}`);
    const ids = (events: StoredEvent[]) => events.map((e) => e.event_id);
    before(async () => {
      const reply = await post(
        `${server.url}/publish`,
        EVENTS.map(([id, source, payload]) => makeEvent(topic, id, { source, payload })),
      );
      assert.equal(reply.status, 200);
    });

    for (const [q, expected] of QUERIES) {
      test(`q=${q} → ${expected.join(',') || 'nothing'}`, async () => {
        const reply = await search(`q=${encodeURIComponent(q)}`);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.deepEqual(ids(reply.body), expected);
      });
    }

    test('topic: in q is the topic filter', async () => {
      const reply = await get<StoredEvent[]>(`${server.url}/events?q=${encodeURIComponent(`topic:${topic} payment`)}`);
      assert.deepEqual(ids(reply.body), ['e1', 'e2', 'e3']);
    });

    test('pages of a search follow both cursors, and the Link header keeps q', async () => {
      const q = encodeURIComponent('payment -"nothing like this"');
      const first = await search(`q=${q}&limit=2&before=999999999999999`);
      assert.deepEqual(ids(first.body), ['e2', 'e3']);
      const link = first.headers.get('link') ?? '';
      assert.doesNotMatch(link, /rel="next"/);
      const prev = /<([^>]+)>; rel="prev"/.exec(link)?.[1];
      assert.equal(new URL(`${server.url}${prev}`).searchParams.get('q'), 'payment -"nothing like this"');
      const older = await get<StoredEvent[]>(`${server.url}${prev}`);
      assert.deepEqual(ids(older.body), ['e1']);
      assert.match(older.headers.get('link') ?? '', /rel="next"/);
      assert.doesNotMatch(older.headers.get('link') ?? '', /rel="prev"/);
      const forward = await search(`q=${q}&limit=1&after=${older.body[0]?.seq}`);
      assert.deepEqual(ids(forward.body), ['e2']);
    });

    const refused = async (q: string, position: number, words: RegExp) => {
      const reply = await get<ErrorBody>(`${server.url}/events?q=${encodeURIComponent(q)}`);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'INVALID_QUERY');
      assert.match(reply.body.message, words);
      assert.deepEqual(reply.body.details?.[0], {
        parameter: 'q',
        position,
        message: (reply.body.details?.[0] as { message: string }).message,
      });
    };

    test('a phrase without its closing quote is a 400 naming where it opened', () =>
      refused('error "timed out', 6, /position 6: .*closing quote/));
    test('a field without a value is a 400 naming the position of the value', () => refused('x level:', 8, /level: needs a value/));
    test('a numeric comparison with no number is a 400', () => refused('amount:>abc', 7, /needs a number/));
    test('a lone - is a 400', () => refused('a - b', 2, /lone/));
    test(`a q over ${MAX_QUERY_LENGTH} characters is a 400`, () =>
      refused('a'.repeat(MAX_QUERY_LENGTH + 1), MAX_QUERY_LENGTH, /longer than/));
    test(`more than ${MAX_TERMS} terms is a 400 at the first one too many`, () => {
      const q = Array.from({ length: MAX_TERMS + 1 }, (_, i) => `w${i}`).join(' ');
      return refused(q, q.indexOf(`w${MAX_TERMS}`), /terms/);
    });

    test('any q is answered 200 or 400 INVALID_QUERY, never a 500', async () => {
      const piece = fc.oneof(
        fc.constantFrom('"', '-', ':', ':>', ':<=', '\\', ' ', '%', '_', '.', 'payload.', 'level', 'topic:', '42', 'é', '日', '\u{1F600}'),
        fc.string({ maxLength: 4 }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(piece, { maxLength: 12 }), async (pieces) => {
          const q = pieces.join('');
          const response = await fetch(`${server.url}/events?topic=${topic}&q=${encodeURIComponent(q)}`);
          const body = (await response.json()) as ErrorBody | StoredEvent[];
          if (response.status === 200) return;
          assert.equal(response.status, 400, `q=${JSON.stringify(q)}: ${JSON.stringify(body)}`);
          assert.equal((body as ErrorBody).error, 'INVALID_QUERY');
        }),
        { numRuns: 150 },
      );
    });
  });

  describe(`GET /events/stream?q= [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);

    test('a subscriber follows a search: only matching events, live and from its catch-up', async (t) => {
      const topic = uniqueTopic('live-search');
      const q = encodeURIComponent('payment -declined');
      await post(`${server.url}/publish`, [
        makeEvent(topic, 'old-hit', { payload: { message: 'payment old' } }),
        makeEvent(topic, 'old-miss', { payload: { message: 'payment declined' } }),
      ]);
      const stream = await openStream(`${server.url}/events/stream?topic=${topic}&q=${q}&after=0`);
      t.after(() => stream.close());
      await post(`${server.url}/publish`, [
        makeEvent(topic, 'miss', { payload: { message: 'nothing' } }),
        makeEvent(topic, 'hit', { payload: { msg: 'Payment ok' } }),
        makeEvent(topic, 'miss-2', { payload: { message: 'payment declined again' } }),
      ]);
      await post(`${server.url}/publish`, [makeEvent(topic, 'hit-2', { payload: { message: 'PAYMENT retried' } })]);
      const events = await stream.waitFor(3);
      assert.deepEqual(
        events.map((e) => e.data.event_id),
        ['old-hit', 'hit', 'hit-2'],
      );
      // Nothing else arrives: the last event published after them is a match, so anything out of order would show.
      await post(`${server.url}/publish`, [
        makeEvent(topic, 'miss-3', { payload: { message: 'x' } }),
        makeEvent(topic, 'hit-3', { payload: { message: 'payment 3' } }),
      ]);
      const more = await stream.waitFor(4);
      assert.deepEqual(
        more.map((e) => e.data.event_id),
        ['old-hit', 'hit', 'hit-2', 'hit-3'],
      );
    });

    test('a stream with a q that cannot be answered is refused with 400 before it opens', async () => {
      const reply = await get<ErrorBody>(`${server.url}/events/stream?q=${encodeURIComponent('"open')}`);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'INVALID_QUERY');
      assert.deepEqual(reply.body.details?.[0], { parameter: 'q', position: 0, message: 'the phrase opened here has no closing quote' });
    });
  });
}
