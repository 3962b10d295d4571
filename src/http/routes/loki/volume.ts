import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../../errors.js';
import { STREAM_LABELS, streamLabelValue } from '../../../query/logql/stream.js';
import { ErrorBodySchema } from '../../../schema/error.js';
import {
  LokiIndexStatsResponseSchema,
  LokiLabelsQuerySchema,
  LokiQueryResponseSchema,
  LokiVolumeQuerySchema,
} from '../../../schema/loki-read.js';
import type { Store, StreamTotal } from '../../../store/index.js';
import { boundsUs, MAX_LABEL_VALUES, parseSelector } from './labels.js';
import { parseBounds } from './params.js';

/** Loki's default number of volumes (limits.volume_max_series is larger; logagg keeps one bound). */
const DEFAULT_VOLUME_LIMIT = 100;

const bad = (message: string): LogaggError => new LogaggError('BAD_REQUEST', { message });

/** Per-stream totals of a selector in [start, end), refused (never cut short) past MAX_LABEL_VALUES streams. */
async function totals(
  store: Store,
  query: { query?: string; start?: string; end?: string; since?: string },
): Promise<{
  rows: StreamTotal[];
  names: string[];
}> {
  const { where, names } = parseSelector(query.query);
  const [fromUs, toUs] = boundsUs(query);
  if (where === false) return { rows: [], names };
  const rows = await store.logql.streamTotals(where, fromUs, toUs, MAX_LABEL_VALUES + 1);
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
      schema: {
        summary: 'Streams, entries and bytes a selector holds (Loki API)',
        tags: ['loki'],
        querystring: LokiLabelsQuerySchema,
        response: { 200: LokiIndexStatsResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const { rows } = await totals(store, request.query);
      const sum = (pick: (row: StreamTotal) => string) => Number(rows.reduce((n, row) => n + BigInt(pick(row)), 0n));
      // logagg has no chunks; each stream counts as one, so Grafana's estimates stay meaningful.
      return { streams: rows.length, chunks: rows.length, bytes: sum((row) => row.bytes), entries: sum((row) => row.entries) };
    },
  );
  app.get(
    '/loki/api/v1/index/volume',
    {
      schema: {
        summary: 'Bytes per label set of a selector (Loki API)',
        tags: ['loki'],
        querystring: LokiVolumeQuerySchema,
        response: { 200: LokiQueryResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const query = request.query;
      const aggregateBy = query.aggregateBy ?? 'series';
      if (aggregateBy !== 'series' && aggregateBy !== 'labels') throw bad(`invalid aggregateBy '${aggregateBy}': series or labels`);
      const limit = parseVolumeLimit(query.limit);
      const { rows, names } = await totals(store, query);
      const given = (query.targetLabels ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '');
      const targets = given.length > 0 ? given : names.length > 0 ? names : [...STREAM_LABELS];
      const seconds = Number(parseBounds(query).endNs / 1_000_000n) / 1000;
      const result = volumes(rows, targets, aggregateBy === 'labels')
        .slice(0, limit)
        .map((volume) => ({ metric: volume.metric, value: [seconds, volume.bytes.toString()] }));
      return { status: 'success' as const, data: { resultType: 'vector', result } };
    },
  );
}
