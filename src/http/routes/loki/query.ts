import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../../errors.js';
import type { SampleExpr } from '../../../query/logql/ast.js';
import { evaluateMetric, type Steps } from '../../../query/logql/evaluate.js';
import { evaluateLogs } from '../../../query/logql/logs.js';
import { parseLogql } from '../../../query/logql/parse.js';
import { ErrorBodySchema } from '../../../schema/error.js';
import { LokiInstantQuerySchema, LokiQueryResponseSchema, LokiRangeQuerySchema } from '../../../schema/loki-read.js';
import type { LogqlReader, Store } from '../../../store/index.js';
import { CATEGORIZE_LABELS, encodeMetric, encodeStats, encodeStreams } from './encode.js';
import { nowNs, parseBounds, parseDirection, parseLimit, parseSteps, parseTime } from './params.js';

/** The flags of X-Loki-Response-Encoding-Flags (comma-separated, taken as given, as Loki does). */
function encodingFlags(request: FastifyRequest): string[] {
  const header = request.headers['x-loki-response-encoding-flags'];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value === '' ? [] : value.split(',');
}

const success = (data: Record<string, unknown>) => ({ status: 'success' as const, data });

async function metric(reader: LogqlReader, expr: SampleExpr, steps: Steps, instant: boolean, started: number) {
  const value = await evaluateMetric(reader, expr, steps);
  const { resultType, result } = encodeMetric(value, steps, instant);
  return success({ resultType, result, stats: encodeStats((performance.now() - started) / 1000, 0) });
}

/** GET /loki/api/v1/query_range and /query: LogQL over the store, answered as Loki answers. */
export function lokiQueryRoutes(fastify: FastifyInstance, store: Store): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/loki/api/v1/query_range',
    {
      config: { access: 'read' },
      schema: {
        summary: 'LogQL over a time range (Loki API)',
        description: 'Log queries answer `streams`, metric queries a `matrix` (docs/query.md).',
        tags: ['loki'],
        querystring: LokiRangeQuerySchema,
        response: { 200: LokiQueryResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const started = performance.now();
      const q = request.query;
      const { startNs, endNs } = parseBounds(q);
      const expr = parseLogql(q.query);
      if (expr.kind === 'log') {
        const limit = parseLimit(q.limit);
        const entries = await evaluateLogs(store.logql(request.tenant), expr, {
          startNs,
          endNs,
          limit,
          backward: parseDirection(q.direction),
        });
        const flags = encodingFlags(request);
        const categorize = flags.includes(CATEGORIZE_LABELS);
        return success({
          resultType: 'streams',
          ...(flags.length > 0 ? { encodingFlags: flags } : {}),
          result: encodeStreams(entries, categorize),
          stats: encodeStats((performance.now() - started) / 1000, entries.length),
        });
      }
      return metric(store.logql(request.tenant), expr, parseSteps(q.step, startNs, endNs), false, started);
    },
  );
  app.get(
    '/loki/api/v1/query',
    {
      config: { access: 'read' },
      schema: {
        summary: 'A LogQL metric query at one instant (Loki API)',
        description: 'Answers a `vector` (or a `scalar`); a log query is refused, as Loki refuses it.',
        tags: ['loki'],
        querystring: LokiInstantQuerySchema,
        response: { 200: LokiQueryResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const started = performance.now();
      const timeNs = parseTime(request.query.time, nowNs(), 'time');
      const expr = parseLogql(request.query.query);
      if (expr.kind === 'log') {
        throw new LogaggError('BAD_REQUEST', {
          message: 'log queries are not supported as an instant query type, please change your query to a range query type',
        });
      }
      return metric(store.logql(request.tenant), expr, { startNs: timeNs, stepNs: 1n, count: 1 }, true, started);
    },
  );
}
