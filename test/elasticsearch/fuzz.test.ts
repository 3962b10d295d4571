import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { Stats } from '../../src/schema/stats.js';
import { get } from '../helpers/events.js';
import { nameValue, payloadValue, timestampValue, toJsonText, wrongType } from '../helpers/hostile.js';
import { serverForSuite } from '../helpers/server.js';

const MAX_EVENTS = 40;
const BODY_LIMIT = 256 * 1024;

/** An action line: the four actions and some that are not, with hostile metadata. */
const actionValue = fc
  .oneof(
    {
      weight: 8,
      arbitrary: fc.record({ action: fc.constantFrom('create', 'index', 'delete', 'update'), index: nameValue, id: fc.option(nameValue) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ action: fc.constantFrom('upsert', '__proto__', '', 'create '), index: nameValue, id: fc.option(nameValue) }),
    },
  )
  .map(({ action, index, id }) => {
    const meta: Record<string, unknown> = { _index: index };
    if (id !== null) meta._id = id;
    return toJsonText({ [action]: meta });
  });

/** A document line: ECS-ish objects with hostile fields, other JSON values, and text that is not JSON. */
const documentLine = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        '@timestamp': fc.oneof(timestampValue, wrongType),
        host: fc.oneof(nameValue, fc.record({ name: nameValue })),
        payload: payloadValue,
      })
      .map(toJsonText),
  },
  { weight: 2, arbitrary: payloadValue.map(toJsonText) },
  { weight: 1, arbitrary: wrongType.map(toJsonText) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"x":1}}',
      '{"a":',
      '{"a":1}}',
      '\u0000',
      '{}'.repeat(3),
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) },
);

/** A body: pairs, then possibly cut anywhere, with stray blank lines and CRLFs. */
const bulkBody = fc
  .record({
    pairs: fc.array(fc.tuple(actionValue, documentLine, fc.boolean()), { maxLength: MAX_EVENTS + 5 }),
    cut: fc.option(fc.nat()),
    crlf: fc.boolean(),
  })
  .map(({ pairs, cut, crlf }) => {
    const text = pairs.map(([action, document, blank]) => `${action}\n${blank ? '\n' : ''}${document}\n`).join('');
    const body = crlf ? text.replaceAll('\n', '\r\n') : text;
    return cut === null ? body : body.slice(0, cut % (body.length + 1));
  });

// One server, PGlite: the decoder is what is fuzzed, not the store.
describe('POST /_bulk under hostile input', { timeout: 300_000 }, () => {
  const server = serverForSuite('pglite', { maxBatchEvents: MAX_EVENTS, bodyLimit: BODY_LIMIT });
  const unique = async () => (await get<Stats>(`${server.url}/stats?top=1`)).body.unique_processed;

  const check = async (body: string | Buffer, headers: Record<string, string> = {}): Promise<void> => {
    const before = await unique();
    const response = await fetch(`${server.url}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...headers },
      body,
    });
    const text = await response.text();
    assert.ok(response.status < 500, `${response.status} ${text.slice(0, 300)}`);
    const reply = JSON.parse(text) as { items?: Array<Record<string, { status: number }>>; error?: unknown };
    const created = (reply.items ?? []).filter((item) => Object.values(item)[0]?.status === 201).length;
    if (response.status !== 200) {
      assert.ok(reply.error, text.slice(0, 300));
      assert.equal(created, 0);
    } else {
      for (const item of reply.items ?? [])
        assert.ok([200, 201, 400, 409].includes(Object.values(item)[0]?.status ?? 0), JSON.stringify(item));
    }
    // What was stored is exactly what the answer called created.
    assert.equal((await unique()) - before, created);
  };

  test('random pairs, odd actions, bad documents and truncation: 4xx or per-item errors, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(bulkBody, async (body) => check(body)),
      { numRuns: 150 },
    );
  });

  test('bombs: a gzip body inflating past the limit, a nesting bomb, a body of newlines, invalid UTF-8', async () => {
    await check(gzipSync(Buffer.alloc(20 * BODY_LIMIT, '\n')), { 'content-encoding': 'gzip' });
    await check(`{"create":{"_index":"bomb"}}\n${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}\n`);
    await check('\n'.repeat(BODY_LIMIT - 1));
    await check(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]));
    await check(gzipSync(Buffer.from('not gzip')).subarray(0, 8), { 'content-encoding': 'gzip' });
  });
});
