import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LogaggError } from '../../src/errors.js';
import { LINE_FIELDS } from '../../src/query/line.js';
import type { LineOp, Predicate } from '../../src/query/predicate.js';
import type { Engine } from '../../src/store/engine.js';
import { createSqlStore } from '../../src/store/index.js';
import { compilePredicate, LINE_SQL, translateQueryError } from '../../src/store/predicate-sql.js';
import { makeEvent } from '../helpers/events.js';
import { type OpenEngine, openEngine, storeKinds } from '../helpers/stores.js';

/** The fixed data set: event_id → (source, payload). Topic 'p' unless the id says otherwise. */
const EVENTS: Array<[id: string, source: string, payload: object]> = [
  ['1', 'api-1', { message: 'Connection Timeout after 30s', level: 'error', user: { id: 42 }, amount: 1500 }],
  ['2', 'api-2', { msg: 'timeout reading body', level: 'ERROR', amount: '999.5' }],
  ['3', 'worker', { message: 'rate is 50% of quota', level: 'info', amount: 'lots' }],
  ['4', 'worker', { message: 'file a_b.txt written', level: 'info', user: { id: '42' } }],
  ['5', 'api-10', { message: 42, content: "l'école est fermée", level: 'warn' }],
  ['6', 'api-1', { status: 500, path: '/orders' }],
  ['7', 'api-1', { log: 'from a log field', level: 'debug' }],
  ['8', 'api-1', { message: 'a\\b and [brackets]', amount: 1e3 }],
];

const all = (...of: Predicate[]): Predicate => ({ kind: 'all', of });
const line = (op: LineOp, value: string): Predicate => ({ kind: 'line', op, value });
const field = (path: string[], op: 'eq' | 'ieq' | 'lt' | 'le' | 'gt' | 'ge', value: string): Predicate => ({
  kind: 'field',
  path,
  op,
  value,
});

const CASES: Array<[name: string, predicate: Predicate, ids: string[]]> = [
  ['contains is case-sensitive', line('contains', 'Timeout'), ['1']],
  ['icontains ignores case', line('icontains', 'TIMEOUT'), ['1', '2']],
  ['icontains folds non-ASCII letters', line('icontains', "L'ÉCOLE"), ['5']],
  ['% is taken literally', line('contains', '50%'), ['3']],
  ['_ is taken literally', line('contains', 'a_b'), ['4']],
  ['a backslash is taken literally', line('contains', 'a\\b'), ['8']],
  ['the line falls back to the JSON text without a message-like string', line('contains', '"/orders"'), ['6']],
  ['a later line field when no earlier one is there', line('contains', 'from a log'), ['7']],
  ['a word is whole and ignores case', line('word', 'TIMEOUT'), ['1', '2']],
  ['a word is not a part of one', line('word', 'time'), []],
  ['a word with a digit is one word', line('word', '30'), []],
  ['30s is', line('word', '30s'), ['1']],
  ['a prefix completes a word', line('prefix', 'TIME'), ['1', '2']],
  ['a one-letter word is whole', line('word', 'a'), ['4', '7', '8']],
  ['_ separates words', line('word', 'b'), ['4', '8']],
  ['a word with punctuation matches that text at word boundaries', line('word', 'a_b'), ['4']],
  ['a word with punctuation is not a part of one', line('word', 'a_b.t'), []],
  ['a word with punctuation at its start', line('word', '/orders'), ['6']],
  ['a non-ASCII word ignores case', line('word', 'ÉCOLE'), ['5']],
  ['an apostrophe separates words', line('word', "L'ÉCOLE"), ['5']],
  ['a backslash separates words', line('word', 'a\\b'), ['8']],
  ['a word of punctuation only is a substring', line('word', '%'), ['3']],
  ['regex', line('regex', '^(Connection|timeout) '), ['1', '2']],
  ['iregex', line('iregex', 'time\\w+ (after|reading)'), ['1', '2']],
  ['label eq', { kind: 'label', name: 'source', op: 'eq', value: 'api-1' }, ['1', '6', '7', '8']],
  ['label regex matches the whole value', { kind: 'label', name: 'source', op: 'regex', value: 'api-[0-9]' }, ['1', '2', '6', '7', '8']],
  ['field eq is exact', field(['level'], 'eq', 'error'), ['1']],
  ['field ieq ignores case', field(['level'], 'ieq', 'error'), ['1', '2']],
  ['a nested field compares as text', field(['user', 'id'], 'eq', '42'), ['1', '4']],
  ['gt reads numbers and numeric strings, skips the rest', field(['amount'], 'gt', '999'), ['1', '2', '8']],
  ['le', field(['amount'], 'le', '1000'), ['2', '8']],
  ['not keeps events without the field', { kind: 'not', of: field(['level'], 'ieq', 'error') }, ['3', '4', '5', '6', '7', '8']],
  ['all of nothing is everything', all(), ['1', '2', '3', '4', '5', '6', '7', '8']],
  ['any of nothing is nothing', { kind: 'any', of: [] }, []],
  [
    'all and any nest',
    all(line('icontains', 'timeout'), { kind: 'any', of: [field(['amount'], 'ge', '1500'), field(['level'], 'eq', 'x')] }),
    ['1'],
  ],
  ['no match is an empty result', line('icontains', 'nowhere-to-be-found'), []],
];

for (const kind of storeKinds()) {
  describe(`compilePredicate [${kind}]`, { timeout: 120_000 }, () => {
    let opened: OpenEngine;
    let engine: Engine;
    before(async () => {
      opened = await openEngine(kind);
      engine = opened.engine;
      const store = createSqlStore(engine);
      await store.migrate();
      await store.insertBatch(EVENTS.map(([id, source, payload]) => makeEvent('p', id, { source, payload })));
    });
    after(() => opened.close());

    const matching = async (predicate: Predicate): Promise<string[]> => {
      const params: unknown[] = [];
      const where = compilePredicate(predicate, params);
      const rows = await engine.query<{ event_id: string }>(`SELECT event_id FROM events WHERE ${where} ORDER BY seq`, params);
      return rows.map((row) => row.event_id);
    };

    for (const [name, predicate, ids] of CASES) {
      test(`${name}: ${ids.join(',') || 'none'}`, async () => assert.deepEqual(await matching(predicate), ids));
    }

    test('the line is the first of LINE_FIELDS holding a string, in that order', async () => {
      const rows = await engine.query<{ line: string }>(
        `SELECT ${LINE_SQL} AS line FROM (VALUES ($1::json), ($2::json), ($3::json)) AS v(payload)`,
        [
          JSON.stringify(Object.fromEntries([...LINE_FIELDS].reverse().map((f) => [f, `from ${f}`]))),
          JSON.stringify({ [LINE_FIELDS[0]]: 1, [LINE_FIELDS[LINE_FIELDS.length - 1] as string]: 'last' }),
          '{"level": "x"}',
        ],
      );
      assert.deepEqual(
        rows.map((r) => r.line),
        [`from ${LINE_FIELDS[0]}`, 'last', '{"level": "x"}'],
      );
      for (const name of LINE_FIELDS) {
        const [row] = await engine.query<{ line: string }>(`SELECT ${LINE_SQL} AS line FROM (VALUES ($1::json)) AS v(payload)`, [
          JSON.stringify({ other: 'no', [name]: `is ${name}` }),
        ]);
        assert.equal(row?.line, `is ${name}`, `logagg_line reads ${name}: a change to LINE_FIELDS needs a new migration`);
      }
    });

    test('a regex PostgreSQL refuses becomes INVALID_QUERY with its reason', async () => {
      const err = await matching(line('regex', 'a(b')).then(
        () => assert.fail('the regex was accepted'),
        (e: unknown) => translateQueryError(e),
      );
      assert.ok(err instanceof LogaggError);
      assert.equal(err.code, 'INVALID_QUERY');
      assert.match(err.message, /parentheses/);
    });

    test('a numeric comparison with a value that is not a number is INVALID_QUERY before any SQL', () => {
      assert.throws(() => compilePredicate(field(['amount'], 'gt', '1e99999'), []), { code: 'INVALID_QUERY' });
      assert.throws(() => compilePredicate(field(['amount'], 'gt', 'abc'), []), { code: 'INVALID_QUERY' });
    });

    test(
      'a search on the embedded store first gathers statistics and merges the index pending list',
      { skip: kind !== 'pglite' },
      async () => {
        const stats = async () =>
          (await engine.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'events'"))[0]?.n;
        assert.equal(await stats(), 0, 'nothing analyzed the table yet');
        const page = await createSqlStore(engine).queryEvents('default', { after: 0, limit: 10 }, line('icontains', 'timeout'));
        assert.equal(page.count, 2);
        assert.ok(((await stats()) ?? 0) > 0, 'the search analyzed the table');
      },
    );

    for (const predicate of [
      line('word', 'timeout'),
      line('prefix', 'time'),
      line('contains', 'a Timeout after'),
      line('icontains', 'x "y" z'),
    ]) {
      test(`${predicate.kind === 'line' ? predicate.op : ''} can use the word index`, async () => {
        const params: unknown[] = [];
        const where = compilePredicate(all(predicate, line('regex', 'Conn.*out')), params);
        const plan = await engine.transaction(async (query) => {
          await query('SET LOCAL enable_seqscan = off');
          return query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT seq FROM events WHERE ${where}`, params);
        });
        assert.match(plan.map((row) => row['QUERY PLAN']).join('\n'), /events_line_words_idx/);
      });
    }

    test('a needle without a whole word inside it is not looked up in the index', () => {
      const params: unknown[] = [];
      assert.doesNotMatch(compilePredicate(line('contains', 'Timeout'), params), /logagg_words/);
      assert.doesNotMatch(compilePredicate(line('contains', 'a b'), params), /logagg_words/, 'a is maybe the end of a word, b its start');
    });
  });
}
