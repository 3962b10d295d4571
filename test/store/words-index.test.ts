import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Predicate } from '../../src/query/predicate.js';
import { INDEXED_LINE_CHARS } from '../../src/query/words.js';
import type { Engine } from '../../src/store/engine.js';
import { createSqlStore } from '../../src/store/index.js';
import * as init from '../../src/store/migrations/001-init.js';
import * as retention from '../../src/store/migrations/002-retention.js';
import * as topics from '../../src/store/migrations/003-topics.js';
import * as search from '../../src/store/migrations/004-search.js';
import { compilePredicate, containsPattern, LINE_SQL } from '../../src/store/predicate-sql.js';
import { INSERT_MIGRATION_VERSION, MIGRATION_SETUP } from '../../src/store/sql.js';
import { makeEvent } from '../helpers/events.js';
import { type OpenEngine, openEngine, storeKinds } from '../helpers/stores.js';

/*
 * The word index (migration 5) as a prefilter must never drop a line the exact condition accepts: LogQL's `|=`
 * (LIKE) and a search phrase (ILIKE) are compared, on random lines and needles, with the same condition alone.
 * The pieces mix words, case, digits, non-ASCII letters (some whose case folding is odd), ASCII and non-ASCII
 * punctuation, whitespace, runs longer than the index's 250-character pieces and one line longer than what is indexed.
 */

const WORDS = ['error', 'Error', 'ERR', 'timeout', 'time', 'user', '42', '4', 'a', 'B', 'x1', '1e5', 'café', 'CAFÉ'];
const ODD = ['日本語', 'のログ', 'ß', 'SS', 'İ', 'i', '\u212A', 'k', 'Σ', 'ς', 'σ', '😀', 'e\u0301'];
const SEPARATORS = [' ', ' ', '-', '.', '/', '_', ':', '=', '<', '>', '"', "'", '\\', '%', '*', '(', '\t', '\n', '@', '&', '~'];
const OTHER = ['—', '、', '\u00a0', '\u3000', 'x'.repeat(260), 'ab'.repeat(140), `${'y'.repeat(250)}z`];
const piece = fc.constantFrom(...WORDS, ...ODD, ...SEPARATORS, ...OTHER);
const lineArb = fc.array(piece, { minLength: 1, maxLength: 14 }).map((pieces) => pieces.join(''));

const LONG_TAIL = 'needlezz';
const LINES = [
  ...fc.sample(lineArb, { numRuns: 300, seed: 16 }),
  `${'head '.repeat(INDEXED_LINE_CHARS / 5)}and ${LONG_TAIL} tail`,
  'GET /api/v1/orders?id=7 by user-42 (a.b@c.com) <b error x="y"> done',
];

const contains = (op: 'contains' | 'icontains', value: string): Predicate => ({ kind: 'line', op, value });

for (const kind of storeKinds()) {
  describe(`the word index as a prefilter [${kind}]`, { timeout: 300_000 }, () => {
    let opened: OpenEngine;
    let engine: Engine;
    before(async () => {
      opened = await openEngine(kind);
      engine = opened.engine;
      const store = createSqlStore(engine);
      await store.migrate();
      await store.insertBatch(LINES.map((line, i) => makeEvent('w', String(i), { payload: { message: line } })));
      await engine.exec('ANALYZE events');
    });
    after(() => opened.close());

    /** Row ids matching `where`; with `indexOnly` the planner may not walk the table, so the GIN index answers. */
    const ids = async (where: string, params: unknown[], indexOnly: boolean): Promise<string[]> =>
      engine.transaction(async (query) => {
        if (indexOnly) await query('SET LOCAL enable_seqscan = off');
        const rows = await query<{ event_id: string }>(`SELECT event_id FROM events WHERE ${where} ORDER BY seq`, params);
        return rows.map((row) => row.event_id);
      });

    const check = async (needle: string): Promise<void> => {
      for (const [op, like] of [
        ['contains', 'LIKE'],
        ['icontains', 'ILIKE'],
      ] as const) {
        const exact = await ids(`${LINE_SQL} ${like} $1::text`, [containsPattern(needle)], false);
        const params: unknown[] = [];
        const where = compilePredicate(contains(op, needle), params);
        for (const indexOnly of [false, true]) {
          assert.deepEqual(await ids(where, params, indexOnly), exact, `${op} ${JSON.stringify(needle)} (index only: ${indexOnly})`);
        }
      }
    };

    test('a substring of a line: the prefilter keeps every line the exact condition accepts', async () => {
      const substring = fc.tuple(fc.nat({ max: LINES.length - 1 }), fc.nat(), fc.nat({ max: 40 })).map(([i, from, length]) => {
        const line = LINES[i] as string;
        const start = from % line.length;
        return line.slice(start, start + 1 + length);
      });
      const cased = fc
        .tuple(substring, fc.constantFrom('same', 'upper', 'lower'))
        .map(([text, how]) => (how === 'upper' ? text.toUpperCase() : how === 'lower' ? text.toLowerCase() : text));
      await fc.assert(fc.asyncProperty(cased, check), { numRuns: 100, seed: 42 });
    });

    test('random needles', async () => {
      await fc.assert(fc.asyncProperty(lineArb, check), { numRuns: 60, seed: 7 });
    });

    test('a line longer than what is indexed is still found by a needle past the cut', async () => {
      const long = String(LINES.length - 2);
      for (const needle of [` ${LONG_TAIL} `, `and ${LONG_TAIL}`, ` ${LONG_TAIL.toUpperCase()} `]) {
        const params: unknown[] = [];
        const where = compilePredicate(contains('icontains', needle), params);
        assert.match(where, /logagg_words/, 'the needle is looked up in the index');
        assert.deepEqual(await ids(where, params, true), [long]);
      }
      // A search word is answered by the index alone, which holds the first 250,000 characters (docs/query.md).
      const params: unknown[] = [];
      assert.deepEqual(await ids(compilePredicate({ kind: 'line', op: 'word', value: LONG_TAIL }, params), params, true), []);
    });

    test('words inside a path, an address and a tag are words', async () => {
      const row = String(LINES.length - 1);
      for (const word of ['orders', 'id', 'C', 'error', 'x', 'Y', 'user-42', '/api/v1/', 'a.b@c.com']) {
        const params: unknown[] = [];
        assert.ok((await ids(compilePredicate({ kind: 'line', op: 'word', value: word }, params), params, true)).includes(row), word);
      }
    });
  });

  describe(`the planner and the word index [${kind}]`, { timeout: 120_000 }, () => {
    test('a rare word is found through the word index, without forcing the plan', async () => {
      const { engine, close } = await openEngine(kind);
      try {
        await createSqlStore(engine).migrate();
        await engine.exec(`INSERT INTO events (tenant, topic, event_id, ts, source, payload)
          SELECT 'default', 't', 'r' || i, now(), 's', json_build_object('message', 'GET /api/v1/orders/' || i || ' served in '
            || (i % 97) || 'ms' || CASE WHEN i = 7777 THEN ' quokka' ELSE '' END)
          FROM generate_series(1, 20000) AS i`);
        await engine.exec('ANALYZE events');
        const params: unknown[] = [];
        const where = compilePredicate({ kind: 'line', op: 'word', value: 'Quokka' }, params);
        const sql = `SELECT event_id FROM events WHERE ${where} ORDER BY seq DESC LIMIT 101`;
        const plan = await engine.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
        assert.match(plan.map((row) => row['QUERY PLAN']).join('\n'), /Bitmap Index Scan on events_line_words_idx/);
        assert.deepEqual(await engine.query(sql, params), [{ event_id: 'r7777' }]);
      } finally {
        await close();
      }
    });
  });

  describe(`migration 5 on a store with the trigram index [${kind}]`, { timeout: 120_000 }, () => {
    test('replaces the trigram index with the word index; events stored before are found by their words', async () => {
      const { engine, close } = await openEngine(kind);
      try {
        await engine.transaction(async (query, exec) => {
          await exec(MIGRATION_SETUP);
          for (const [version, name, sql] of [
            [1, 'init', init.sql],
            [2, 'retention', retention.sql],
            [3, 'topics', topics.sql],
            [4, 'search', search.sql],
          ] as const) {
            await exec(sql);
            await query(INSERT_MIGRATION_VERSION, [version, name]);
          }
        });
        const store = createSqlStore(engine);
        // Stored by a build of migration 4's time: its columns, no tenant yet.
        const old = makeEvent('t', 'old', { payload: { message: 'Disk full on /var/log' } });
        await engine.query('INSERT INTO events (topic, event_id, ts, source, payload) VALUES ($1, $2, $3, $4, $5)', [
          old.topic,
          old.event_id,
          old.timestamp,
          old.source,
          JSON.stringify(old.payload),
        ]);
        assert.equal((await store.migrate())[0], 5);
        const indexes = await engine.query<{ indexname: string }>(
          "SELECT indexname FROM pg_indexes WHERE tablename = 'events' AND indexname LIKE 'events_line%'",
        );
        assert.deepEqual(
          indexes.map((row) => row.indexname),
          ['events_line_words_idx'],
        );
        const page = await store.queryEvents('default', { after: 0, limit: 10 }, { kind: 'line', op: 'word', value: 'LOG' });
        assert.equal(page.count, 1);
        assert.deepEqual(
          (JSON.parse(page.body) as Array<{ event_id: string }>).map((e) => e.event_id),
          ['old'],
        );
      } finally {
        await close();
      }
    });
  });
}
