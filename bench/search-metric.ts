import type pg from 'pg';
import { planLog } from '../src/query/logql/pipeline.js';
import { parseLogql } from '../src/query/logql/parse.js';
import { countScanSql } from '../src/store/logql-sql.js';
import { withoutMarks } from '../src/store/visible-sql.js';
import { probe } from './drive.js';
import { type BenchContext, figure, type Figure } from './scenario.js';

/*
 * The LogQL metric query of issue 16 §5 for the search scenarios (bench/scenarios/search.bench.ts): timed through
 * the Loki API on a filled store, and its statement explained on PostgreSQL.
 */

/** p50 of `probes` sequential GETs of path(i) on one keep-alive connection, in ms. */
export const p50 = async (url: string, probes: number, path: (i: number) => string): Promise<number> =>
  (await probe(url, probes, path)).p50;

/** The metric query of issue 16 §5 over the hour ending at endMs, step 60 s (Grafana sends whole milliseconds). */
const METRIC_SELECTORS = [
  ['every stream', '{service_name=~".+"}'],
  ['one topic', '{topic="bench-1"}'],
  ['a topic regex', '{topic=~"bench-.+"}'],
] as const;

function metricPath(selector: string, endMs: number): string {
  const query = `sum by (topic) (count_over_time(${selector}[1m]))`;
  const endNs = BigInt(endMs) * 1_000_000n;
  const search = new URLSearchParams({ query, start: (endNs - 3_600_000_000_000n).toString(), end: endNs.toString(), step: '60000ms' });
  return `/loki/api/v1/query_range?${search}`;
}

export async function metricFigures(ctx: BenchContext, url: string, label: string, probes: number, endMs: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [name, selector] of METRIC_SELECTORS) {
    const ms = await p50(url, probes, () => metricPath(selector, endMs));
    ctx.log(`${label}: sum by (topic) (count_over_time(${selector}[1m])) over one hour p50 ${ms.toFixed(1)} ms`);
    figures.push(
      figure(
        `${label}: sum by (topic) count_over_time [1m], one hour, ${name} p50`,
        'ms',
        [ms],
        name === 'every stream' ? { op: '<=', value: 300 } : undefined,
      ),
    );
  }
  return figures;
}

/** Just after the newest event, in whole milliseconds: the end of the metric query's hour. */
export const END_MS = 'SELECT (floor(extract(epoch FROM max(ts)) * 1000) + 1)::text AS end_ms FROM events';

/** Where the metric query's time goes: EXPLAIN ANALYZE of the statement the store runs for it (every stream). */
export async function explainMetric(ctx: BenchContext, db: pg.Client, endMs: number): Promise<void> {
  const expr = parseLogql(`count_over_time(${METRIC_SELECTORS[0][1]}[1m])`);
  if (expr.kind !== 'range') throw new Error('the metric query is not a range aggregation');
  const plan = planLog(expr.log);
  if (plan.where === false) throw new Error('the metric selector matches nothing');
  const endNs = BigInt(endMs) * 1_000_000n;
  const startNs = endNs - 3_600_000_000_000n;
  const statement = countScanSql('default', {
    where: plan.where,
    levels: undefined,
    startNs: startNs.toString(),
    stepNs: '60000000000',
    rangeNs: '60000000000',
    fromUs: ((startNs - 60_000_000_000n) / 1000n).toString(),
    toUs: (endNs / 1000n).toString(),
    bytes: false,
    columns: ['topic'],
  });
  const explained = await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS) ${withoutMarks(statement.text)}`,
    statement.params,
  );
  ctx.log(`postgres: metric query plan:\n${explained.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
}
