import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { sql as search } from '../../src/store/migrations/004-search.js';
import { createSqlStore } from '../../src/store/index.js';
import { type OpenEngine, openEngine, storeKinds } from '../helpers/stores.js';

/*
 * Migration 6 replaces logagg_line with a cheaper body and keeps the word index built on the old one: that is
 * right only if both return the same line for every payload. Compared on both engines: random objects whose keys
 * are the six line keys and others, with values of every JSON type, and texts written with escapes in keys
 * (`\u006dessage`), duplicate keys, the key names inside string values and nested objects.
 */

const LINE_KEYS = ['message', 'msg', 'line', 'log', 'content', 'body'];
const key = fc.oneof(fc.constantFrom(...LINE_KEYS, 'level', 'Message', 'messages', 'x'), fc.string({ maxLength: 6 }));
const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(...LINE_KEYS.map((k) => `"${k}"`), '\\u0041', 'C:\\users', 'message'),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(key, tie('value'), { maxKeys: 3 })),
})).value;
const payload = fc.dictionary(key, value, { maxKeys: 6 });

/** JSON text of an object with some key characters written as \u escapes, as another serializer may write them. */
const escapedText = fc.tuple(payload, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })).map(([object, escapes]) => {
  const entries = Object.entries(object).map(([name, v], i) => {
    const quoted = JSON.stringify(name);
    const written = escapes[i % escapes.length]
      ? `"${[...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
      : quoted;
    return `${written}:${JSON.stringify(v)}`;
  });
  return `{${entries.join(',')}}`;
});

const CRAFTED = [
  '{"\\u006dessage":"escaped key"}',
  '{"msg":"a","\\u006dessage":"b"}',
  '{"message":1,"message":"second wins"}',
  '{"message":"first","message":2}',
  '{"message":{"message":"nested"},"body":"b"}',
  '{"level":"message","content":"c"}',
  '{"x":"\\"message\\"","log":"l"}',
  '{"x":"C:\\\\users","body":"b"}',
  '{"body":["not a string"],"content":"c"}',
  '{ "line" : "spaced" }',
  '{}',
];

for (const kind of storeKinds()) {
  describe(`logagg_line of migration 6 and of migration 4 [${kind}]`, { timeout: 120_000 }, () => {
    let opened: OpenEngine;
    before(async () => {
      opened = await openEngine(kind);
      await createSqlStore(opened.engine).migrate();
      const v4 = /CREATE FUNCTION logagg_line[\s\S]*?\$\$;/.exec(search)?.[0];
      assert.ok(v4, "migration 4's function is found");
      await opened.engine.exec(v4.replace('logagg_line', 'logagg_line_v4'));
    });
    after(() => opened.close());

    /** The texts whose lines differ between the two functions. */
    const differing = async (texts: readonly string[]): Promise<unknown[]> =>
      opened.engine.query(
        `SELECT t FROM unnest($1::text[]) AS t
          WHERE logagg_line(t::json) IS DISTINCT FROM logagg_line_v4(t::json)`,
        [texts],
      );

    test('crafted payloads: escaped keys, duplicate keys, key names in values', async () => {
      assert.deepEqual(await differing(CRAFTED), []);
      const lines = await opened.engine.query<{ line: string }>('SELECT logagg_line(t::json) AS line FROM unnest($1::text[]) AS t', [
        CRAFTED.slice(0, 3),
      ]);
      assert.deepEqual(
        lines.map((row) => row.line),
        ['escaped key', 'b', 'second wins'],
      );
    });

    test('random payloads, written plainly and with escaped keys', async () => {
      const plain = fc.sample(payload, { numRuns: 2000, seed: 6 }).map((object) => JSON.stringify(object));
      const escaped = fc.sample(escapedText, { numRuns: 2000, seed: 7 });
      assert.deepEqual(await differing([...plain, ...escaped]), []);
    });
  });
}
