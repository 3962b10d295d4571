import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runPublisher } from '../../src/cli/publish-run.js';
import { createSqlStore } from '../../src/store/index.js';
import { WORDS_SQL } from '../../src/store/words-sql.js';
import { createPgliteEngine } from '../../src/store/pglite.js';
import { startAggregator } from '../aggregator.js';
import { END_MS, explainMetric, metricFigures, p50 } from '../search-metric.js';
import { type BenchContext, figure, type Figure, POSTGRES, type Scenario } from '../scenario.js';

/*
 * Search (docs/query.md): a store of realistic events filled straight by SQL (generate_series into events, the
 * fastest honest way to a million rows), then GET /events?q= through the server: a rare word's first page and a
 * common word's newest 100. Ingest with the word index (migration 5) vs without it goes through the server, same run.
 */

/** The word index as migration 5 creates it: dropped before the fill and built once after it. */
const INDEX = 'events_line_words_idx';
const CREATE_INDEX = `CREATE INDEX ${INDEX} ON events USING gin (${WORDS_SQL})`;
/** The ts index as migration 9 creates it, likewise built after the fill. */
const TS_INDEX = 'events_ts_idx';
const CREATE_TS_INDEX = `CREATE INDEX ${TS_INDEX} ON events (tenant, ts) INCLUDE (topic, source)`;

const RARE = ['quokka', 'axolotl', 'pangolin', 'narwhal', 'okapi'];
const COMMON = ['GET', 'POST'];
// Words of the message: four drawn per row from 64, so each is in ~6% of rows; the verb ~45% (GET/POST/PUT...).
const WORDS = `request served cache miss hit retry upstream timeout connection reset user login logout session
  expired token refreshed payment accepted declined order created shipped cancelled invoice sent email queued
  worker started stopped job finished failed database query slow index scan lock wait deadlock detected replica
  lag disk full memory pressure gc pause thread pool exhausted rate limited throttled circuit open closed
  healthcheck ok degraded`.split(/\s+/);

/** INSERT of `count` events after the existing ones: message of varied words, a level, ids; rare words ~10 rows each. */
export function fillSql(count: number): string {
  const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]`;
  const rare = `ARRAY[${RARE.map((w) => `'${w}'`).join(',')}]`;
  return `
INSERT INTO events (tenant, topic, event_id, ts, source, payload)
SELECT 'default', 'bench-' || (i % 5), 'e' || i, now() - (${count} - i) * interval '3 ms', 'api-' || (i % 7),
  json_build_object(
    'message', (ARRAY['GET','POST','GET','POST','PUT','DELETE','PATCH','GET','POST','HEAD'])[1 + i % 10] || ' /api/v1/'
      || w[1 + (i * 7) % 64] || '/' || (i % 10007) || ' ' || w[1 + (i * 13 / 3) % 64] || ' ' || w[1 + (i * 31 / 7) % 64]
      || ' user ' || (i % 50021) || ' in ' || (i % 997) || 'ms ' || w[1 + (i / 11) % 64]
      || CASE WHEN i % 100003 < 5 THEN ' ' || (${rare})[1 + i % 100003] ELSE '' END,
    'level', (ARRAY['info','info','info','info','info','info','debug','debug','warn','error'])[1 + (i * 3) % 10],
    'trace_id', md5(i::text), 'user', json_build_object('id', i % 50021), 'metadata', json_build_object('amount', i % 100000)
  )
FROM generate_series(1, ${count}) AS i, (SELECT ${words} AS w) AS vocabulary`;
}

const NEWEST = 'limit=100&before=999999999999999';

async function searchFigures(ctx: BenchContext, url: string, label: string, probes: number): Promise<Figure[]> {
  const rare = await p50(url, probes, (i) => `/events?q=${RARE[i % RARE.length]}&${NEWEST}`);
  const common = await p50(url, probes, (i) => `/events?q=${COMMON[i % COMMON.length]}&${NEWEST}`);
  const twoWords = await p50(url, probes, (i) => `/events?q=${encodeURIComponent(`${RARE[i % RARE.length]} user`)}&${NEWEST}`);
  ctx.log(
    `${label}: rare word p50 ${rare.toFixed(2)} ms, common word p50 ${common.toFixed(2)} ms, rare + common p50 ${twoWords.toFixed(2)} ms`,
  );
  return [
    figure(`${label}: rare word, first page p50`, 'ms', [rare], { op: '<=', value: 50 }),
    figure(`${label}: common word, newest 100 p50`, 'ms', [common], { op: '<=', value: 20 }),
    figure(`${label}: rare word + common word p50`, 'ms', [twoWords]),
  ];
}

/** PostgreSQL: fill, size the index, check the rare word's plan uses it, then time the searches. */
export async function postgresSearch(ctx: BenchContext, stored: number, probes: number): Promise<Figure[]> {
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
  const db = new pg.Client({ connectionString: aggregator.databaseUrl });
  await db.connect();
  try {
    const started = performance.now();
    // Filled without the index, which is then built once: minutes faster than maintaining it row by row.
    await db.query(`DROP INDEX ${INDEX}; DROP INDEX ${TS_INDEX}`);
    await db.query(fillSql(stored));
    const filled = performance.now();
    await db.query("SET maintenance_work_mem = '256MB'");
    await db.query(CREATE_INDEX);
    const indexed = performance.now();
    await db.query(CREATE_TS_INDEX);
    await db.query('VACUUM ANALYZE events');
    ctx.log(
      `postgres: ${stored} events filled in ${((filled - started) / 1000).toFixed(1)} s (${Math.round(stored / ((filled - started) / 1000))} events/s), ` +
        `word index built in ${((indexed - filled) / 1000).toFixed(1)} s, ts index and VACUUM in ${((performance.now() - indexed) / 1000).toFixed(1)} s`,
    );
    const [sizes] = (
      await db.query<{ table: string; index: string; ts: string }>(
        `SELECT pg_total_relation_size('events')::text AS table, pg_relation_size('${INDEX}')::text AS index,
          pg_relation_size('${TS_INDEX}')::text AS ts`,
      )
    ).rows;
    const withIndex = Number(sizes?.table) / stored;
    const index = Number(sizes?.index) / stored;
    const tsIndex = Number(sizes?.ts) / stored;
    ctx.log(
      `postgres: disk per event ${withIndex.toFixed(0)} B with the indexes, ${(withIndex - index).toFixed(0)} B without the word index, ` +
        `${(withIndex - index - tsIndex).toFixed(0)} B without the word and ts indexes`,
    );
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT seq FROM events WHERE ${WORDS_SQL} @@ '${RARE[0]}'::tsquery ORDER BY seq DESC LIMIT 101`,
    );
    const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
    ctx.log(`postgres: rare word plan:\n${text}`);
    if (!text.includes(INDEX)) throw new Error('the rare word is not found through the word index');
    const common = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS) SELECT seq FROM events WHERE ${WORDS_SQL} @@ '${COMMON[0]?.toLowerCase()}'::tsquery ORDER BY seq DESC LIMIT 101`,
    );
    ctx.log(`postgres: common word plan:\n${common.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
    const endMs = Number((await db.query<{ end_ms: string }>(END_MS)).rows[0]?.end_ms);
    await explainMetric(ctx, db, endMs);
    const label = `postgres ${stored.toLocaleString('en')}`;
    return [
      ...(await searchFigures(ctx, aggregator.url, label, probes)),
      ...(await metricFigures(ctx, aggregator.url, label, Math.min(probes, 20), endMs)),
      figure(`${label}: disk per event with the indexes`, 'B', [withIndex]),
      figure(`${label}: disk per event without the word index`, 'B', [withIndex - index]),
      figure(`${label}: disk per event of the ts index`, 'B', [tsIndex]),
    ];
  } finally {
    await db.end();
    await aggregator.stop();
  }
}

/** The embedded store: the data directory filled in this process first, then served by the aggregator. */
async function embeddedSearch(ctx: BenchContext, stored: number, probes: number): Promise<Figure[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logagg-bench-search-'));
  try {
    const engine = await createPgliteEngine({ dataDir, sync: false, statementTimeoutMs: 3_600_000 });
    const started = performance.now();
    await createSqlStore(engine).migrate();
    await engine.exec(`DROP INDEX ${INDEX}; DROP INDEX ${TS_INDEX}`);
    await engine.exec(fillSql(stored));
    await engine.exec(CREATE_INDEX);
    await engine.exec(CREATE_TS_INDEX);
    await engine.exec('VACUUM ANALYZE events');
    const [end] = await engine.query<{ end_ms: string }>(END_MS, []);
    await engine.close();
    ctx.log(`pglite: ${stored} events filled and indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const aggregator = await startAggregator({ kind: 'pglite' }, ctx.entry, { DATA_DIR: dataDir }, ctx.nodeArgs);
    const label = `embedded ${stored.toLocaleString('en')}`;
    try {
      return [
        ...(await searchFigures(ctx, aggregator.url, label, probes)),
        ...(await metricFigures(ctx, aggregator.url, label, Math.min(probes, 10), Number(end?.end_ms))),
      ];
    } finally {
      await aggregator.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Events per second through the server: with the word and ts indexes, with the word index only, and with neither,
 * alternating, same run. The issue's ratio is with ÷ without (both are search indexes); with ÷ word index only is
 * the ts index's own cost.
 */
async function ingestRatio(ctx: BenchContext, events: number): Promise<Figure[]> {
  const variants = { with: 'the word and ts indexes', wordOnly: 'the word index only', without: 'neither index' } as const;
  const rates = { with: [] as number[], wordOnly: [] as number[], without: [] as number[] };
  for (let run = 0; run < ctx.runs; run++) {
    for (const variant of ['with', 'wordOnly', 'without'] as const) {
      const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
      try {
        if (variant !== 'with') {
          const db = new pg.Client({ connectionString: aggregator.databaseUrl });
          await db.connect();
          await db.query(variant === 'without' ? `DROP INDEX ${INDEX}; DROP INDEX ${TS_INDEX}` : `DROP INDEX ${TS_INDEX}`);
          await db.end();
        }
        const report = await runPublisher({
          url: aggregator.url,
          events,
          dupRate: 0,
          topics: 5,
          batch: 1000,
          concurrency: 8,
          seed: 42,
          payloadBytes: 100,
          topicPrefix: 'bench',
        });
        if (!report.ok) throw new Error(`ingest with ${variants[variant]} failed its verification`);
        rates[variant].push(report.eventsPerSecond);
        ctx.log(`ingest with ${variants[variant]}: ${Math.round(report.eventsPerSecond)} events/s`);
      } finally {
        await aggregator.stop();
      }
    }
  }
  const ratio = (over: number[]): number[] => rates.with.map((rate, i) => rate / (over[i] as number));
  return [
    figure('ingest with the word and ts indexes', 'events/s', rates.with),
    figure('ingest with the word index only', 'events/s', rates.wordOnly),
    figure('ingest with neither index', 'events/s', rates.without),
    figure('ingest with ÷ without the indexes', 'ratio', ratio(rates.without), { op: '>=', value: 0.8 }),
    figure('ingest with ÷ without the ts index', 'ratio', ratio(rates.wordOnly)),
  ];
}

export const searchScenario: Scenario = {
  id: 'search',
  title: 'Search (q=) at a million events',
  async run(ctx: BenchContext) {
    const stored = ctx.quick ? 20_000 : 1_000_000;
    const probes = ctx.quick ? 20 : 200;
    const ingested = ctx.quick ? 5_000 : 200_000;
    const figures = [
      ...(await postgresSearch(ctx, stored, probes)),
      ...(await embeddedSearch(ctx, stored, probes)),
      ...(await ingestRatio(ctx, ingested)),
    ];
    return {
      title: this.title,
      workload:
        `${stored.toLocaleString('en')} events (a message of varied words, a level, ids) filled by SQL on each store; ` +
        `${probes} sequential GET /events?q=…&limit=100&before=… per figure; ingest ${ingested.toLocaleString('en')} ` +
        'events (batches of 1,000, 8 connections, 100-byte content) through the server with and without the indexes; ' +
        'sum by (topic) (count_over_time({…}[1m])) over the hour ending at the newest event, step 60 s, 20 GETs (embedded 10) per figure',
      figures,
      verified: true,
    };
  },
};

/** The same on PostgreSQL at five million events (4.2 hours of them: the metric query's hour holds 1.2 million). */
export const search5mScenario: Scenario = {
  id: 'search-5m',
  title: 'Search (q=) and the metric query at five million events (PostgreSQL)',
  async run(ctx: BenchContext) {
    const stored = ctx.quick ? 50_000 : 5_000_000;
    const probes = ctx.quick ? 20 : 100;
    return {
      title: this.title,
      workload: `${stored.toLocaleString('en')} events filled by SQL; ${probes} sequential GETs per search figure, 20 per metric figure`,
      figures: await postgresSearch(ctx, stored, probes),
      verified: true,
    };
  },
};

/** The ingest ratio alone (the search scenario's last part), for more runs than the whole scenario can afford. */
export const searchIngestScenario: Scenario = {
  id: 'search-ingest',
  title: 'Ingest with the search indexes (word and ts) ÷ without them',
  async run(ctx: BenchContext) {
    const ingested = ctx.quick ? 5_000 : 200_000;
    return {
      title: this.title,
      workload: `${ingested.toLocaleString('en')} events (batches of 1,000, 8 connections, 100-byte content) through the server, fresh database each, the three variants alternating`,
      figures: await ingestRatio(ctx, ingested),
      verified: true,
    };
  },
};
