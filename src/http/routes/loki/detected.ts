import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../../errors.js';
import { detectFieldValues, detectFields, isIdLabel } from '../../../query/logql/detect.js';
import { evaluateLogs } from '../../../query/logql/logs.js';
import { parseLogql } from '../../../query/logql/parse.js';
import { ErrorBodySchema } from '../../../schema/error.js';
import {
  LokiDetectedFieldsQuerySchema,
  LokiDetectedFieldsResponseSchema,
  LokiDetectedFieldValuesResponseSchema,
  LokiDetectedLabelsResponseSchema,
  LokiLabelParamsSchema,
  LokiLabelsQuerySchema,
} from '../../../schema/loki-read.js';
import type { ScannedEntry } from '../../../query/logql/scan.js';
import type { LogqlReader, Store } from '../../../store/index.js';
import { boundsUs, MAX_LABEL_VALUES, parseSelector } from './labels.js';
import { MAX_ENTRIES, parseBounds, parseLimit, parseSteps } from './params.js';

/** Loki's default number of detected fields (pkg/loghttp/params.go defaultLimit); more than this is refused. */
const DEFAULT_FIELD_LIMIT = 1000;
const MAX_FIELD_LIMIT = 5000;

const bad = (message: string): LogaggError => new LogaggError('BAD_REQUEST', { message });

/** `limit` (or the older `field_limit`), as Loki's detectedFieldsLimit reads it. */
function parseFieldLimit(query: { limit?: string; field_limit?: string }): number {
  const value = query.limit === undefined || query.limit === '' ? query.field_limit : query.limit;
  if (value === undefined || value === '') return DEFAULT_FIELD_LIMIT;
  if (!/^[-+]?[0-9]+$/.test(value)) throw bad(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  const limit = Number(value);
  if (limit <= 0) throw bad('limit must be a positive value');
  if (limit > MAX_FIELD_LIMIT)
    throw new LogaggError('LOGQL_LIMIT', { message: `limit ${limit} is above ${MAX_FIELD_LIMIT} detected fields` });
  return limit;
}

/** The entries detected fields read: Loki's order of checks (ParseDetectedFieldsQuery, then its handler). */
async function sample(
  reader: LogqlReader,
  query: {
    query?: string;
    start?: string;
    end?: string;
    since?: string;
    step?: string;
    line_limit?: string;
    limit?: string;
    field_limit?: string;
  },
): Promise<{ entries: ScannedEntry[]; limit: number }> {
  const { startNs, endNs } = parseBounds(query);
  const lineLimit = parseLimit(query.line_limit);
  const limit = parseFieldLimit(query);
  parseSteps(query.step, startNs, endNs);
  const expr = parseLogql(query.query ?? '');
  if (expr.kind !== 'log') throw bad('only log selector is supported');
  const entries = await evaluateLogs(reader, expr, { startNs, endNs, limit: Math.min(lineLimit, MAX_ENTRIES), backward: true });
  return { entries, limit };
}

/** /detected_labels, /detected_fields, /detected_field/<name>/values and /patterns: what Grafana Logs Drilldown asks beside the query API. */
export function lokiDetectedRoutes(fastify: FastifyInstance, store: Store): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/loki/api/v1/detected_labels',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Stream labels worth a tab, with their cardinality (Loki API, Logs Drilldown)',
        description:
          'The stream labels of the streams a selector matches in [start, end), with how many values each has; ' +
          'a label whose values are all ids (numbers, UUIDs) is left out, as Loki leaves it out. `{}` when none.',
        tags: ['loki'],
        querystring: LokiLabelsQuerySchema,
        response: { 200: LokiDetectedLabelsResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const { where } = parseSelector(request.query.query);
      const [fromUs, toUs] = boundsUs(request.query);
      const rows = where === false ? [] : await store.logql(request.tenant).series(where, fromUs, toUs, MAX_LABEL_VALUES + 1);
      if (rows.length > MAX_LABEL_VALUES) {
        throw new LogaggError('LOGQL_LIMIT', {
          message: `more than ${MAX_LABEL_VALUES} streams match; narrow the time range or the selector`,
        });
      }
      const sources = [...new Set(rows.map((row) => row.source))];
      const topics = [...new Set(rows.map((row) => row.topic))];
      const labels = [
        { label: 'service_name', values: sources },
        { label: 'source', values: sources },
        { label: 'topic', values: topics },
      ]
        .filter(({ values }) => !isIdLabel(values))
        .map(({ label, values }) => ({ label, cardinality: values.length }));
      // Loki's detectedLabels is omitempty: an answer without labels is `{}`.
      return labels.length > 0 ? { detectedLabels: labels } : {};
    },
  );
  app.get(
    '/loki/api/v1/detected_fields',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Fields found in a sample of lines (Loki API, Logs Drilldown)',
        description:
          'The newest `line_limit` entries of a log query in [start, end): their structured metadata (`detected_level`) ' +
          'and what json, else logfmt, reads from each line, with type, distinct values and parser; at most ' +
          '`limit` fields (docs/query.md). `{}` when none.',
        tags: ['loki'],
        querystring: LokiDetectedFieldsQuerySchema,
        response: { 200: LokiDetectedFieldsResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const { entries, limit } = await sample(store.logql(request.tenant), request.query);
      const fields = detectFields(entries, limit);
      // fields and limit are omitempty in Loki's answer, and limit is set only when fields were found.
      return fields.length > 0 ? { fields, limit } : {};
    },
  );
  app.get(
    '/loki/api/v1/detected_field/:name/values',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Values of one detected field in a sample of lines (Loki API, Logs Drilldown)',
        description: 'As detected_fields, the distinct values of the field named, at most `limit`, sorted. `{}` when none.',
        tags: ['loki'],
        params: LokiLabelParamsSchema,
        querystring: LokiDetectedFieldsQuerySchema,
        response: { 200: LokiDetectedFieldValuesResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const { entries, limit } = await sample(store.logql(request.tenant), request.query);
      const values = detectFieldValues(entries, request.params.name, limit);
      return values.length > 0 ? { values, limit } : {};
    },
  );
  app.get(
    '/loki/api/v1/patterns',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Log patterns (Loki API): not detected by logagg',
        description: 'Answers 404, as Loki does when pattern ingestion is disabled (docs/query.md).',
        tags: ['loki'],
        response: { '4xx': ErrorBodySchema },
      },
    },
    async () => {
      throw new LogaggError('NOT_FOUND', { message: 'logagg does not detect log patterns (Loki answers 404 with pattern ingestion off)' });
    },
  );
}
