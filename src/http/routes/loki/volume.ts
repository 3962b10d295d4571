import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../../errors.js';
import type { SampleExpr } from '../../../query/logql/ast.js';
import { evaluateMetric } from '../../../query/logql/evaluate.js';
import type { Series } from '../../../query/logql/series.js';
import { STREAM_LABELS, streamLabelValue } from '../../../query/logql/stream.js';
import { ErrorBodySchema } from '../../../schema/error.js';
import {
  LokiIndexStatsResponseSchema,
  LokiLabelsQuerySchema,
  LokiQueryResponseSchema,
  LokiVolumeQuerySchema,
} from '../../../schema/loki-read.js';
import type { LogqlReader, Store, StreamTotal } from '../../../store/index.js';
import { boundsUs, MAX_LABEL_VALUES, parseSelector } from './labels.js';
import { encodeMetric } from './encode.js';
import { parseBounds, parseSteps } from './params.js';

/** Loki's default number of volumes (limits.volume_max_series is larger; logagg keeps one bound). */
const DEFAULT_VOLUME_LIMIT = 100;

const bad = (message: string): LogaggError => new LogaggError('BAD_REQUEST', { message });

/** Per-stream totals of a selector in [start, end), refused (never cut short) past MAX_LABEL_VALUES streams. */
async function totals(
  reader: LogqlReader,
  query: { query?: string; start?: string; end?: string; since?: string },
): Promise<{
  rows: StreamTotal[];
  names: string[];
}> {
  const { where, names } = parseSelector(query.query);
  const [fromUs, toUs] = boundsUs(query);
  if (where === false) return { rows: [], names };
  const rows = await reader.streamTotals(where, fromUs, toUs, MAX_LABEL_VALUES + 1);
  if (rows.length > MAX_LABEL_VALUES) {
    throw new LogaggError('LOGQL_LIMIT', { message: `more than ${MAX_LABEL_VALUES} streams match; narrow the time range or the selector` });
  }
  return { rows, names };
}

function parseVolumeLimit(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_VOLUME_LIMIT;
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0) throw bad(`could not parse 'limit' parameter: ${JSON.stringify(value)}`);
  return Math.min(Number(value), MAX_LABEL_VALUES);
}

/** true for aggregateBy=labels, false for series (the default). */
function parseAggregateBy(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'series') return false;
  if (value === 'labels') return true;
  throw bad(`invalid aggregateBy '${value}': series or labels`);
}

/** targetLabels (comma-separated), else the labels the selector names, else every stream label. */
function targetsOf(targetLabels: string | undefined, names: string[]): string[] {
  const given = (targetLabels ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return given.length > 0 ? given : names.length > 0 ? names : [...STREAM_LABELS];
}

/** Bytes per group of streams: by the target labels together (series) or by each label and value (labels). */
export function volumes(
  rows: StreamTotal[],
  targets: string[],
  byLabels: boolean,
): Array<{ metric: Record<string, string>; bytes: bigint }> {
  const groups = new Map<string, { metric: Record<string, string>; bytes: bigint }>();
  const add = (metric: Record<string, string>, bytes: bigint) => {
    const key = JSON.stringify(metric);
    const group = groups.get(key) ?? { metric, bytes: 0n };
    group.bytes += bytes;
    groups.set(key, group);
  };
  for (const row of rows) {
    const labels = { topic: row.topic, source: row.source, level: 'unknown' as const };
    const pairs = targets.map((name) => [name, streamLabelValue(labels, name) ?? ''] as const).filter(([, value]) => value !== '');
    if (byLabels) for (const [name, value] of pairs) add({ [name]: value }, BigInt(row.bytes));
    else add(Object.fromEntries(pairs), BigInt(row.bytes));
  }
  // Largest first, as Loki answers; ties in label order so the answer is stable.
  return [...groups.values()].sort((a, b) =>
    a.bytes === b.bytes ? JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)) : a.bytes > b.bytes ? -1 : 1,
  );
}

/** /index/stats and /index/volume of the Loki API: what a selector holds, for Grafana and Logs Drilldown. */
export function lokiVolumeRoutes(fastify: FastifyInstance, store: Store): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/loki/api/v1/index/stats',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Streams, entries and bytes a selector holds (Loki API)',
        tags: ['loki'],
        querystring: LokiLabelsQuerySchema,
        response: { 200: LokiIndexStatsResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const { rows } = await totals(store.logql(request.tenant), request.query);
      const sum = (pick: (row: StreamTotal) => string) => Number(rows.reduce((n, row) => n + BigInt(pick(row)), 0n));
      // logagg has no chunks; each stream counts as one, so Grafana's estimates stay meaningful.
      return { streams: rows.length, chunks: rows.length, bytes: sum((row) => row.bytes), entries: sum((row) => row.entries) };
    },
  );
  app.get(
    '/loki/api/v1/index/volume',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Bytes per label set of a selector (Loki API)',
        tags: ['loki'],
        querystring: LokiVolumeQuerySchema,
        response: { 200: LokiQueryResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const query = request.query;
      const byLabels = parseAggregateBy(query.aggregateBy);
      const limit = parseVolumeLimit(query.limit);
      const { rows, names } = await totals(store.logql(request.tenant), query);
      const targets = targetsOf(query.targetLabels, names);
      const seconds = Number(parseBounds(query).endNs / 1_000_000n) / 1000;
      const result = volumes(rows, targets, byLabels)
        .slice(0, limit)
        .map((volume) => ({ metric: volume.metric, value: [seconds, volume.bytes.toString()] }));
      return { status: 'success' as const, data: { resultType: 'vector', result } };
    },
  );
  app.get(
    '/loki/api/v1/index/volume_range',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Bytes per label set of a selector, per step (Loki API)',
        description: 'sum by (targets) (bytes_over_time(selector[step])), as a `matrix` (docs/query.md).',
        tags: ['loki'],
        querystring: LokiVolumeQuerySchema,
        response: { 200: LokiQueryResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const query = request.query;
      const byLabels = parseAggregateBy(query.aggregateBy);
      const limit = parseVolumeLimit(query.limit);
      const { log, names } = parseSelector(query.query);
      const { startNs, endNs } = parseBounds(query);
      const steps = parseSteps(query.step, startNs, endNs);
      const targets = targetsOf(query.targetLabels, names);
      if (log === undefined) throw bad('a stream selector is required');
      // The evaluator's own metric query: each step's window is (t − step, t], as for bytes_over_time.
      const range: SampleExpr = { kind: 'range', op: 'bytes_over_time', log, rangeNs: Number(steps.stepNs), pos: 0 };
      const series: Series[] = [];
      for (const labels of byLabels ? targets.map((target) => [target]) : [targets]) {
        const grouping = { without: false, labels };
        const value = await evaluateMetric(
          store.logql(request.tenant),
          { kind: 'vectorAgg', op: 'sum', grouping, param: undefined, expr: range, pos: 0 },
          steps,
        );
        if (value.kind === 'vector') series.push(...value.series.filter((one) => !byLabels || one.labels.size > 0));
      }
      const total = (one: Series) => one.values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
      const largest = series
        .map((one) => ({ one, bytes: total(one) }))
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, limit)
        .map(({ one }) => one);
      const { result } = encodeMetric({ kind: 'vector', series: largest }, steps, false);
      return { status: 'success' as const, data: { resultType: 'matrix', result } };
    },
  );
}
