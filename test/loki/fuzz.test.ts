import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateRawSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import snappyjs from 'snappyjs';
import { PushDecodeError, TooManyEntriesError } from '../../src/inlets/loki/decode.js';
import { LabelError, parseLabelString } from '../../src/inlets/loki/labels.js';
import { decodeProtobufPush } from '../../src/inlets/loki/proto.js';
import { SnappyError, snappyUncompress } from '../../src/inlets/loki/snappy.js';
import type { Stats } from '../../src/schema/stats.js';
import { get } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { encodePush, push, snappy } from './loki.js';

const LIMIT = 1 << 20;
/** snappyjs 0.7.0 loops forever on this body (a literal whose 4-byte length is negative sends it backwards). */
const SNAPPYJS_HANG = Buffer.from([0x64, 0xfc, 0xfa, 0xff, 0xff, 0xff]);

const validPush = fc
  .array(
    fc.record({
      labels: fc.constantFrom('{job="fuzz"}', '{job="fuzz", host="h"}', '{job="a\\"b"}'),
      entries: fc.array(
        fc.record({ timestamp: fc.record({ seconds: fc.nat(2_000_000_000), nanos: fc.nat(999_999_999) }), line: fc.string() }),
        {
          maxLength: 4,
        },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((streams) => encodePush(streams));

/** Corruptions of a valid body: truncated, a byte changed, bytes inserted. */
function mutated(bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(bytes, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('truncate', 'flip', 'insert'))
    .map(([body, at, byte, how]) => {
      if (body.length === 0) return Buffer.from([byte]);
      const i = at % body.length;
      if (how === 'truncate') return body.subarray(0, i);
      const copy = Buffer.from(body);
      if (how === 'flip') {
        copy[i] = byte;
        return copy;
      }
      return Buffer.concat([copy.subarray(0, i), Buffer.from([byte]), copy.subarray(i)]);
    });
}

describe('Loki decoders under hostile input', () => {
  test('snappy: any bytes decode or throw SnappyError, and always return; what snappyjs compresses comes back whole', () => {
    assert.throws(() => snappyUncompress(SNAPPYJS_HANG, LIMIT), SnappyError);
    assert.throws(
      () => snappyUncompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), LIMIT),
      /over the limit/,
      'a 4 GiB header is refused unread',
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated(fc.uint8Array({ maxLength: 300 }).map((b) => snappy(b)))),
        (bytes) => {
          try {
            snappyUncompress(bytes, LIMIT);
          } catch (err) {
            assert.ok(err instanceof SnappyError, String(err));
          }
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.boolean(), (bytes, repetitive) => {
        const data = repetitive ? Buffer.from(Array.from(bytes, (b) => b % 3)) : Buffer.from(bytes);
        assert.deepEqual(snappyUncompress(snappy(data), LIMIT), data);
      }),
      { numRuns: 500 },
    );
  });

  test('protobuf: malformed, truncated or corrupted PushRequests throw PushDecodeError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          mutated(validPush),
        ),
        (bytes) => {
          try {
            decodeProtobufPush(bytes, 50);
          } catch (err) {
            assert.ok(err instanceof PushDecodeError || err instanceof TooManyEntriesError, String(err));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('label strings: anything throws LabelError or parses; quoted values written as JSON strings read back exactly', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        try {
          parseLabelString(text);
        } catch (err) {
          assert.ok(err instanceof LabelError, String(err));
        }
      }),
      { numRuns: 3000 },
    );
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, fc.string({ unit: 'grapheme' })), { selector: ([n]) => n, maxLength: 5 }), (pairs) => {
        const text = `{${pairs.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
        assert.deepEqual(parseLabelString(text), pairs);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('POST /loki/api/v1/push under hostile bodies', () => {
  const server = serverForSuite('pglite', { bodyLimit: 1 << 20 });
  const received = async () => (await get<Stats>(`${server.url}/stats`)).body.received;

  /** The body is answered 204 or 4xx, never 5xx, and a refused one stores nothing. */
  async function refusedOrStored(body: Uint8Array, contentType: string, headers: Record<string, string> = {}): Promise<number> {
    const before = await received();
    const reply = await push(server.url, body, contentType, headers);
    assert.ok(reply.status === 204 || (reply.status >= 400 && reply.status < 500), `${reply.status} ${reply.text}`);
    if (reply.status !== 204) assert.equal(await received(), before, 'a refused body stores nothing');
    return reply.status;
  }

  test('corrupted protobuf, snappy and JSON bodies: 4xx, never 5xx, nothing stored', async () => {
    assert.equal(await refusedOrStored(SNAPPYJS_HANG, 'application/x-protobuf'), 400);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutated(validPush.map((b) => snappy(b))).map((b) => ['application/x-protobuf', b] as const),
          validPush.chain((b) => mutated(fc.constant(b))).map((b) => ['application/x-protobuf', snappy(b)] as const),
          mutated(fc.constant(Buffer.from('{"streams":[{"stream":{"job":"fuzz"},"values":[["1","a"],["2","b",{"k":"v"}]]}]}'))).map(
            (b) => ['application/json', b] as const,
          ),
        ),
        async ([type, body]) => {
          await refusedOrStored(body, type);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('bombs and broken compression: gzip, deflate and snappy that inflate past BODY_LIMIT get 413; truncated ones 400', async () => {
    const zeros = Buffer.alloc(8 << 20);
    assert.equal(await refusedOrStored(gzipSync(zeros), 'application/json', { 'content-encoding': 'gzip' }), 413);
    assert.equal(await refusedOrStored(deflateRawSync(zeros), 'application/json', { 'content-encoding': 'deflate' }), 413);
    assert.equal(await refusedOrStored(snappy(zeros), 'application/x-protobuf'), 413);
    assert.equal(await refusedOrStored(gzipSync(snappy(zeros)), 'application/x-protobuf', { 'content-encoding': 'gzip' }), 413);
    const good = gzipSync(JSON.stringify({ streams: [{ stream: { job: 'x' }, values: [['1', 'a']] }] }));
    assert.equal(await refusedOrStored(good.subarray(0, good.length - 6), 'application/json', { 'content-encoding': 'gzip' }), 400);
    assert.equal(await refusedOrStored(Buffer.from('not gzip'), 'application/json', { 'content-encoding': 'gzip' }), 400);
    assert.equal(
      await refusedOrStored(Buffer.from(snappyjs.compress(Buffer.from('not a protobuf at all'))), 'application/x-protobuf'),
      400,
    );
  });
});
