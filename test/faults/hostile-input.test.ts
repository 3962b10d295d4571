import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Stats, TopicsPage } from '../../src/schema/stats.js';
import {
  assertRefusal,
  eventsOf,
  eventValue,
  type Expected,
  expectedPublish,
  nameOk,
  nastyChar,
  ownEntries,
  publishBody,
  refusal,
  type Reply,
  send,
  sqlString,
  timestampOk,
  timestampValue,
  toJsonText,
} from '../helpers/hostile.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshStore, type StoreLocation, storeKinds } from '../helpers/stores.js';

// Small limits make oversized bodies and batches cheap to send.
const LIMITS = { bodyLimit: 128 * 1024, maxBatchEvents: 20 };
// Longer URLs pass Node's 16 KiB header limit: hostile-wire.test.ts covers that.
const MAX_URL = 12_000;
// FC_SEED=<seed> replays a run; fast-check prints the seed and path of any failure.
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

function assertAnswer(reply: Reply, expected: Expected): void {
  const shown = JSON.stringify(reply.body).slice(0, 300);
  if ('received' in expected) {
    assert.equal(reply.status, 200, shown);
    assert.equal((reply.body as { received: number }).received, expected.received, shown);
    return;
  }
  assertRefusal(reply);
  assert.deepEqual({ status: reply.status, error: (reply.body as { error: string }).error }, expected, shown);
}

const encodeQuery = (params: [string, string][]) =>
  params.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value.toWellFormed())}`).join('&');

/** Query values: valid ones, and negative, huge, float, hex, SQL, nasty and long ones. */
const queryValue = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 4, arbitrary: valid },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '-1',
        '0',
        '1.5',
        '1e3',
        '1e400',
        '10001',
        '99999999999999999999',
        '0x10',
        ' 1',
        '+1',
        '',
        'NaN',
        'Infinity',
        'null',
        '[]',
        '%00',
        '\0',
      ),
    },
    { weight: 1, arbitrary: sqlString },
    { weight: 1, arbitrary: fc.string({ unit: nastyChar, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 254, max: 600 }), fc.constantFrom('x', '𝒳')).map(([n, c]) => c.repeat(n)) },
  );

/** Some of these keys, each absent, once or repeated; plus unknown keys. */
const queryParams = (domains: Record<string, fc.Arbitrary<string>>) =>
  fc
    .tuple(
      ...Object.entries(domains).map(([key, valid]) =>
        fc.array(queryValue(valid), { maxLength: 2 }).map((values) => values.map((value): [string, string] => [key, value])),
      ),
      fc.array(
        fc.tuple(
          fc.constantFrom('foo', '__proto__', 'constructor', 'limit[]', 'topic[0]', "'; DROP TABLE events;--"),
          fc.string({ maxLength: 5 }),
        ),
        { maxLength: 2 },
      ),
    )
    .map((groups) => groups.flat());

/** The oracle for a query: every known key at most once and valid. */
const queryOk = (params: [string, string][], rules: Record<string, (value: string) => boolean>) =>
  Object.entries(rules).every(([key, ok]) => {
    const values = params.filter(([k]) => k === key).map(([, v]) => v.toWellFormed());
    return values.length === 0 || (values.length === 1 && ok(values[0] as string));
  });

const validTimestamp = fc.constantFrom(
  '2025-10-21T10:00:00Z',
  '2025-10-21T17:00:00.5+07:00',
  '0001-01-01T00:00:00Z',
  '9999-12-31t23:59:59z',
);
const EVENTS_RULES: Record<string, (value: string) => boolean> = {
  topic: (v) => nameOk(v),
  source: (v) => nameOk(v),
  since: (v) => timestampOk(v, false),
  until: (v) => timestampOk(v, false),
  limit: (v) => /^(?:[1-9][0-9]{0,3}|10000)$/.test(v),
  after: (v) => /^[0-9]{1,15}$/.test(v),
};
// A NUL in the stream's topic has its own test below.
const STREAM_RULES: Record<string, (value: string) => boolean> = { topic: (v) => nameOk(v), after: (v) => /^[0-9]{1,15}$/.test(v) };

const validEvent = (topic: string, eventId: string) =>
  ownEntries([
    ['topic', topic],
    ['event_id', eventId],
    ['timestamp', '2025-10-21T10:00:00Z'],
    ['source', 's'],
    ['payload', {}],
  ]);

/** One server per store, the cases run against it, and what must hold after every batch of cases. */
class Harness {
  server!: TestServer;
  location!: StoreLocation;
  cases = 0;
  private received = 0;
  private readonly keys = new Set<string>();
  private readonly topics = new Set<string>();

  constructor(readonly scale: number) {}

  get url(): string {
    return this.server.url;
  }

  /** Records what an accepted body must have added to /stats. */
  accepted(body: string): void {
    const events = eventsOf(body) as { topic: string; event_id: string }[];
    this.received += events.length;
    for (const { topic, event_id } of events) {
      this.keys.add(JSON.stringify([topic, event_id]));
      this.topics.add(topic);
    }
  }

  /** contentType null sends none: a Uint8Array body keeps fetch from adding one. */
  publish(body: string | Uint8Array, contentType: string | null = 'application/json'): Promise<Reply> {
    const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
    return send(`${this.url}/publish`, { method: 'POST', headers, body });
  }

  async run<T>(arbitrary: fc.Arbitrary<T>, runs: number, predicate: (value: T) => Promise<void>): Promise<void> {
    const numRuns = Math.max(10, Math.round(runs * this.scale));
    await fc.assert(fc.asyncProperty(arbitrary, predicate), { numRuns, seed: SEED, includeErrorInReport: true });
    this.cases += numRuns;
    await this.assertUnharmed();
  }

  async waitForSubscribers(count: number): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const metrics = await (await fetch(`${this.url}/metrics`)).text();
      const now = Number(/^logagg_stream_subscribers (\d+)$/m.exec(metrics)?.[1]);
      if (now === count) return;
      assert.ok(Date.now() < deadline, `${now} stream subscribers, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** The process answers, and /stats holds exactly what the accepted requests sent: refusals counted nowhere. */
  async assertUnharmed(): Promise<void> {
    assert.equal((await fetch(`${this.url}/health`)).status, 200);
    const stats = (await send(`${this.url}/stats`)).body as Stats;
    assert.equal(stats.received, this.received);
    assert.equal(stats.unique_processed, this.keys.size);
    assert.equal(stats.duplicate_dropped, this.received - this.keys.size);
    assert.equal(stats.topic_count, this.topics.size);
    // /stats lists the top topics only: every topic is read from GET /topics, page by page.
    const topics = new Set<string>();
    for (let after: string | null = ''; after !== null;) {
      const page = (await send(`${this.url}/topics?limit=1000${after === '' ? '' : `&after=${encodeURIComponent(after)}`}`))
        .body as TopicsPage;
      for (const entry of page.topics) topics.add(entry.topic);
      after = page.next;
    }
    assert.deepEqual(topics, this.topics);
  }
}

/** Runs the body, then asserts both outcomes were generated, so no property passes by refusing everything. */
async function bothOutcomes(run: (tally: { ok: number; refused: number }) => Promise<void>): Promise<void> {
  const tally = { ok: 0, refused: 0 };
  await run(tally);
  assert.ok(tally.ok > 0 && tally.refused > 0, `accepted ${tally.ok}, refused ${tally.refused}`);
}

for (const kind of storeKinds()) {
  // The second store runs fewer cases: the properties are about the HTTP edge, the store only has to survive them.
  const h = new Harness(kind === 'pglite' ? 1 : 0.4);

  describe(`hostile input [${kind}]`, { timeout: 240_000 }, () => {
    before(async () => {
      h.location = await freshStore(kind);
      h.server = await startServer(h.location, LIMITS);
    });
    after(async () => {
      await h.server.stop();
      await h.location.destroy();
      console.log(`hostile input [${kind}]: ${h.cases} generated cases`);
    });

    test('malformed, truncated and wrongly shaped JSON bodies get 400 or 422, never a 5xx', async () => {
      const mutated = fc.tuple(
        publishBody(eventValue, 3),
        fc.nat(),
        fc.constantFrom('truncate', 'insert', 'append', 'quote', 'comma', 'literal'),
        fc.constantFrom('x', '}', ']', ',', ':', '"', '\\', '/*', 'NaN', 'Infinity', 'undefined', '\0', "'"),
      );
      const body = fc.oneof(
        {
          weight: 6,
          arbitrary: mutated.map(([text, at, how, junk]) => {
            const i = at % Math.max(1, text.length);
            if (how === 'truncate') return text.slice(0, i);
            if (how === 'insert') return text.slice(0, i) + junk + text.slice(i);
            if (how === 'append') return text + junk;
            if (how === 'quote') return text.replace('"', "'");
            if (how === 'comma') return text.replace(/[}\]]$/, ',$&');
            return text.replace(/:("[^"]*"|\{\})/, `:${junk}`);
          }),
        },
        { weight: 2, arbitrary: fc.json() },
        { weight: 1, arbitrary: fc.string({ unit: nastyChar, maxLength: 30 }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '',
            ' ',
            '\ufeff',
            'null',
            '[]',
            '{}',
            '[[]]',
            '{"events":null}',
            '{"events":[],"x":1}',
            '"x"',
            '1e400',
            '[1e400]',
          ),
        },
      );
      await h.run(body, 300, async (text) => {
        const expected = expectedPublish(text, LIMITS);
        assertAnswer(await h.publish(text), expected);
        if (expected.status === 200) h.accepted(text);
      });
    });

    test('events with hostile field values are stored when valid and refused whole with 422 otherwise', async () => {
      await bothOutcomes((tally) =>
        h.run(publishBody(eventValue, 4), 450, async (text) => {
          const expected = expectedPublish(text, LIMITS);
          assertAnswer(await h.publish(text), expected);
          if (expected.status === 200) h.accepted(text);
          tally[expected.status === 200 ? 'ok' : 'refused']++;
        }),
      );
    });

    test('SQL-looking strings in every field are stored and read back verbatim', async () => {
      let n = 0;
      const event = fc.record({ topic: sqlString, event_id: sqlString, source: sqlString, key: sqlString, value: sqlString });
      await h.run(event, 150, async ({ topic, event_id, source, key, value }) => {
        const id = `${++n}.${event_id}`;
        const text = toJsonText(
          ownEntries([
            ['topic', topic],
            ['event_id', id],
            ['timestamp', '2025-10-21T10:00:00Z'],
            ['source', source],
            ['payload', ownEntries([[key, value]])],
          ]),
        );
        assertAnswer(await h.publish(text), { status: 200, received: 1 });
        h.accepted(text);
        const stored = (
          await send(
            `${h.url}/events?${encodeQuery([
              ['topic', topic],
              ['source', source],
              ['limit', '10000'],
            ])}`,
          )
        ).body as Record<string, unknown>[];
        const found = stored.find((e) => e.event_id === id);
        assert.deepEqual(found && { topic: found.topic, source: found.source, payload: found.payload }, {
          topic,
          source,
          payload: ownEntries([[key, value]]),
        });
      });
    });

    test('timestamps at the edges are stored in UTC when storable RFC 3339 and refused with 422 otherwise', async () => {
      let n = 0;
      await bothOutcomes((tally) =>
        h.run(timestampValue, 400, async (timestamp) => {
          const topic = `ts.${++n}`;
          const text = toJsonText(
            ownEntries([
              ['topic', topic],
              ['event_id', 'e'],
              ['timestamp', timestamp],
              ['source', 's'],
              ['payload', {}],
            ]),
          );
          const expected = timestampOk(timestamp) ? { status: 200 as const, received: 1 } : refusal('VALIDATION_FAILED');
          assertAnswer(await h.publish(text), expected);
          if (expected.status !== 200) return void tally.refused++;
          tally.ok++;
          h.accepted(text);
          const [stored] = (await send(`${h.url}/events?topic=${topic}`)).body as { timestamp: string }[];
          assert.match(stored?.timestamp ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/, timestamp);
        }),
      );
    });

    test('__proto__, constructor and prototype keys, NUL and unpaired surrogates at any depth are refused or kept inert', async () => {
      const key = fc.constantFrom('__proto__', 'constructor', 'prototype', '\0', 'a\0b', '\ud800', '\udc00x', 'ok');
      const value = fc.oneof(
        fc.constantFrom<unknown>({}, 1, 'x', '\0', '\udfff', null),
        fc.constant(null).map(() => ownEntries([['prototype', { polluted: true }]])),
      );
      let n = 0;
      const placed = fc
        .tuple(key, value, fc.nat({ max: 6 }), fc.constantFrom('payload', 'top', 'envelope', 'field'))
        .map(([k, v, depth, where]) => {
          let nested: unknown = ownEntries([[k, v]]);
          for (let i = 0; i < depth; i++) nested = ownEntries([['n', nested]]);
          const event = validEvent(`poison.${where}`, String(++n));
          if (where === 'payload') event.payload = nested;
          if (where === 'top') Object.defineProperty(event, k, { value: v, enumerable: true });
          if (where === 'field') event.source = k;
          return toJsonText(
            where === 'envelope'
              ? ownEntries([
                  ['events', [event]],
                  [k, v],
                ])
              : event,
          );
        });
      const rawNul = fc
        .tuple(publishBody(eventValue, 2), fc.nat())
        .map(([text, at]) => text.slice(0, at % text.length) + '\0' + text.slice(at % text.length));
      await bothOutcomes((tally) =>
        h.run(fc.oneof(placed, rawNul), 200, async (text) => {
          const expected = expectedPublish(text, LIMITS);
          assertAnswer(await h.publish(text), expected);
          if (expected.status === 200) h.accepted(text);
          tally[expected.status === 200 ? 'ok' : 'refused']++;
        }),
      );
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    test('bodies nested up to 10,000 levels get 422 and payloads deeper than 64 levels are refused', async () => {
      const nesting = fc.tuple(
        fc.constantFrom(63, 64, 65, 66, 1000, 10_000),
        fc.constantFrom('payload', 'top-array', 'top-object', 'field', 'envelope'),
        fc.boolean(),
      );
      await h.run(nesting, 40, async ([depth, where, arrays]) => {
        // A JSON value of exactly `depth` nested containers.
        const nest = (levels: number, inArrays: boolean) =>
          inArrays ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
        const event = (payload: string, source = '"s"') =>
          `{"topic":"deep.${where}","event_id":"${depth}.${arrays}","timestamp":"2025-10-21T10:00:00Z","source":${source},"payload":${payload}}`;
        const text = {
          payload: event(arrays ? `{"a":${nest(depth - 1, true)}}` : nest(depth, false)),
          'top-array': nest(depth, true),
          'top-object': nest(depth, false),
          field: event('{}', nest(depth, arrays)),
          envelope: `{"events":[${nest(depth, arrays)}]}`,
        }[where];
        const expected = expectedPublish(text, LIMITS);
        assertAnswer(await h.publish(text), expected);
        if (expected.status === 200) h.accepted(text);
      });
    });

    test('batches over MAX_BATCH_EVENTS and bodies over BODY_LIMIT get 413 and store nothing', async () => {
      let n = 0;
      const sizes = fc.tuple(
        fc.integer({ min: 0, max: 2 * LIMITS.maxBatchEvents }),
        fc.integer({ min: -2000, max: 2 * LIMITS.bodyLimit }),
        fc.boolean(),
        fc.boolean(),
      );
      await bothOutcomes((tally) =>
        h.run(sizes, 60, async ([count, padding, envelope, chunked]) => {
          const events = Array.from({ length: count }, (_, i) => validEvent(`size.${++n}`, String(i)));
          if (events[0]) events[0].payload = { pad: 'p'.repeat(Math.max(0, padding)) };
          const text = toJsonText(envelope ? { events } : events);
          const body = chunked ? new Blob([text]).stream() : text;
          const reply = await send(`${h.url}/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            duplex: 'half',
          } as RequestInit);
          const expected = expectedPublish(text, LIMITS);
          assertAnswer(reply, expected);
          if (expected.status === 200) h.accepted(text);
          tally[expected.status === 200 ? 'ok' : 'refused']++;
        }),
      );
    });

    test('wrong and missing content types get 415; application/json with or without a UTF-8 charset is parsed', async () => {
      const json = [
        'application/json',
        'application/json; charset=utf-8',
        'application/json;charset=UTF-8',
        'Application/JSON',
        'application/json ; charset=utf-8',
      ];
      const other = [
        'text/plain',
        'text/json',
        'application/jsonp',
        'application/json-patch+json',
        'application/vnd.api+json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'application/xml',
        'text/html; charset=utf-8',
        '',
        ';',
        'json',
        '*/*',
        'application/*',
      ];
      let n = 0;
      const body = fc.oneof(
        fc.constant(null).map(() => toJsonText(validEvent('ctype', String(++n)))),
        publishBody(eventValue, 2),
      );
      await h.run(fc.tuple(fc.constantFrom<string | null>(...json, ...other, null), body), 200, async ([contentType, text]) => {
        const isJson = contentType !== null && json.includes(contentType);
        const reply = await h.publish(contentType === null ? new TextEncoder().encode(text) : text, contentType);
        const expected = isJson ? expectedPublish(text, LIMITS) : refusal('UNSUPPORTED_MEDIA_TYPE');
        assertAnswer(reply, expected);
        if (expected.status === 200) h.accepted(text);
      });
    });

    test('query-string abuse on GET /events gets 422 or a page that honours the filters, never a 5xx', async () => {
      const params = queryParams({
        topic: fc.constantFrom('ctype', 'ts.1', "x'); DROP TABLE events;--", 'none'),
        source: fc.constantFrom('s', 'none'),
        since: validTimestamp,
        until: validTimestamp,
        limit: fc.integer({ min: 1, max: 10_000 }).map(String),
        after: fc.integer({ min: 0, max: 999_999_999_999_999 }).map(String),
      });
      const raw = fc.string({
        unit: fc.constantFrom(
          '%',
          '&',
          '=',
          '+',
          '#',
          ';',
          '?',
          '[',
          ']',
          'limit',
          'after',
          'topic',
          '0',
          '-',
          '\u00e9',
          'ff',
          '%00',
          '%ZZ',
          '%E0%A4',
        ),
        maxLength: 12,
      });
      await bothOutcomes((tally) =>
        h.run(fc.oneof({ weight: 4, arbitrary: params }, { weight: 1, arbitrary: raw }), 350, async (query) => {
          const url = `${h.url}/events?${typeof query === 'string' ? query : encodeQuery(query)}`;
          fc.pre(url.length < MAX_URL);
          const reply = await send(url);
          if (reply.status !== 200) assertRefusal(reply);
          assert.ok(reply.status === 200 || reply.status === 422, `status ${reply.status}`);
          tally[reply.status === 200 ? 'ok' : 'refused']++;
          if (typeof query === 'string') return;
          assert.equal(reply.status === 200, queryOk(query, EVENTS_RULES), JSON.stringify(reply.body).slice(0, 300));
          if (reply.status !== 200) return;
          const page = reply.body as { topic: string; seq: number }[];
          const filter = Object.fromEntries(query.map(([key, value]) => [key, value.toWellFormed()]));
          assert.ok(page.length <= Number(filter.limit ?? 1000));
          assert.ok(page.every((e) => (filter.topic === undefined || e.topic === filter.topic) && e.seq > Number(filter.after ?? 0)));
        }),
      );
    });

    test('query-string abuse on GET /events/stream gets 422 or a stream, never a 5xx', async () => {
      const params = queryParams({
        topic: fc.constantFrom('ctype', 'none'),
        after: fc.integer({ min: 0, max: 999_999_999_999_999 }).map(String),
      }).filter((query) => !query.some(([key, value]) => key === 'topic' && value.includes('\0')));
      const lastEventId = fc.option(fc.oneof(fc.constantFrom('-1', '1e400', '99999999999999999999', "1'--"), fc.nat().map(String)));
      await bothOutcomes((tally) =>
        h.run(fc.tuple(params, lastEventId), 120, async ([query, id]) => {
          const abort = new AbortController();
          const headers: Record<string, string> = id === null ? {} : { 'last-event-id': id };
          const url = `${h.url}/events/stream?${encodeQuery(query)}`;
          fc.pre(url.length < MAX_URL);
          const response = await fetch(url, { headers, signal: abort.signal });
          try {
            assert.equal(response.status === 200, queryOk(query, STREAM_RULES), `status ${response.status}`);
            if (response.status !== 200) {
              assertRefusal({
                status: response.status,
                contentType: response.headers.get('content-type') ?? '',
                body: await response.json(),
              });
              return void tally.refused++;
            }
            tally.ok++;
            assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
            // Hang up only once subscribed: an earlier hang-up leaks the subscriber (see hostile-wire.test.ts).
            await h.waitForSubscribers(1);
          } finally {
            abort.abort();
          }
          await h.waitForSubscribers(0);
        }),
      );
    });

    test('a NUL in the /events/stream topic gets 422 instead of a stream that ends at once', async () => {
      for (const topic of ['\0', 'a\0b']) {
        // Read to the end rather than hang up early: an early hang-up leaks a subscriber (see hostile-wire.test.ts).
        const response = await fetch(`${h.url}/events/stream?${encodeQuery([['topic', topic]])}`, { signal: AbortSignal.timeout(5_000) });
        const body = await response.text();
        assert.equal(response.status, 422, `${JSON.stringify(topic)}: ${body}`);
      }
      await h.waitForSubscribers(0);
    });
  });
}
