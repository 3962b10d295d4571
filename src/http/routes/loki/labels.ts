import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../../errors.js';
import type { LogExpr } from '../../../query/logql/ast.js';
import { parseLogql } from '../../../query/logql/parse.js';
import type { Predicate } from '../../../query/predicate.js';
import { selectorPredicate, STREAM_LABELS } from '../../../query/logql/stream.js';
import { ErrorBodySchema } from '../../../schema/error.js';
import {
  LokiBuildInfoSchema,
  LokiLabelParamsSchema,
  LokiLabelsQuerySchema,
  LokiLabelsResponseSchema,
  LokiSeriesQuerySchema,
  LokiSeriesResponseSchema,
} from '../../../schema/loki-read.js';
import type { Store } from '../../../store/index.js';
import { parseBounds } from './params.js';
import { ceilDiv } from '../../../query/logql/scan.js';

/** Label values or series one request lists at most; more is refused (LOGQL_LIMIT), never cut short silently. */
export const MAX_LABEL_VALUES = 5000;

/**
 * A `query`/`match[]` parameter as a Predicate (false: matches nothing) and the label names its matchers name: a
 * stream selector only (a pipeline is refused, as Loki does).
 */
export function parseSelector(query: string | undefined): { where: Predicate | false; names: string[]; log?: LogExpr } {
  if (query === undefined || query === '') return { where: { kind: 'all', of: [] }, names: [] };
  const expr = parseLogql(query);
  if (expr.kind !== 'log' || expr.stages.length > 0) throw new LogaggError('BAD_REQUEST', { message: 'only label matchers are supported' });
  return { where: selectorPredicate(expr.selector), names: [...new Set(expr.selector.map((m) => m.name))], log: expr };
}

const selectorOf = (query: string | undefined): Predicate | false => parseSelector(query).where;

export function boundsUs(query: { start?: string; end?: string; since?: string }): [string, string] {
  const { startNs, endNs } = parseBounds(query);
  return [ceilDiv(startNs, 1000n).toString(), ceilDiv(endNs, 1000n).toString()];
}

const tooMany = (what: string): LogaggError =>
  new LogaggError('LOGQL_LIMIT', { message: `more than ${MAX_LABEL_VALUES} ${what} match; narrow the time range or the selector` });

/** /labels, /label/:name/values, /series and /status/buildinfo of the Loki API. */
export function lokiLabelRoutes(fastify: FastifyInstance, store: Store, version: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const common = { tags: ['loki'], response: { 200: LokiLabelsResponseSchema, '4xx': ErrorBodySchema } };
  const success = 'success' as const;
  app.get(
    '/loki/api/v1/labels',
    { config: { access: 'read' }, schema: { summary: 'Stream label names (Loki API)', querystring: LokiLabelsQuerySchema, ...common } },
    async (request) => {
      const where = selectorOf(request.query.query);
      const [fromUs, toUs] = boundsUs(request.query);
      const any = where !== false && (await store.logql(request.tenant).series(where, fromUs, toUs, 1)).length > 0;
      return { status: success, data: any ? [...STREAM_LABELS] : [] };
    },
  );
  app.get(
    '/loki/api/v1/label/:name/values',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Values of a stream label (Loki API)',
        params: LokiLabelParamsSchema,
        querystring: LokiLabelsQuerySchema,
        ...common,
      },
    },
    async (request) => {
      const name = request.params.name;
      const column = name === 'topic' ? 'topic' : name === 'source' || name === 'service_name' ? 'source' : undefined;
      const where = selectorOf(request.query.query);
      const [fromUs, toUs] = boundsUs(request.query);
      if (column === undefined || where === false) return { status: success, data: [] };
      const values = await store.logql(request.tenant).labelValues(column, where, fromUs, toUs, MAX_LABEL_VALUES + 1);
      if (values.length > MAX_LABEL_VALUES) throw tooMany(`values of ${name}`);
      return { status: success, data: values };
    },
  );
  app.get(
    '/loki/api/v1/series',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Streams (Loki API)',
        querystring: LokiSeriesQuerySchema,
        ...common,
        response: { 200: LokiSeriesResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const raw = request.query['match[]'];
      const matches = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      const wheres = matches.map(selectorOf).filter((w): w is Predicate => w !== false);
      const [fromUs, toUs] = boundsUs(request.query);
      if (matches.length > 0 && wheres.length === 0) return { status: success, data: [] };
      const where: Predicate = wheres.length === 0 ? { kind: 'all', of: [] } : { kind: 'any', of: wheres };
      const rows = await store.logql(request.tenant).series(where, fromUs, toUs, MAX_LABEL_VALUES + 1);
      if (rows.length > MAX_LABEL_VALUES) throw tooMany('series');
      return { status: success, data: rows.map((row) => ({ service_name: row.source, source: row.source, topic: row.topic })) };
    },
  );
  app.get(
    '/loki/api/v1/status/buildinfo',
    {
      config: { access: 'read' },
      schema: { summary: 'Build information (Loki API)', tags: ['loki'], response: { 200: LokiBuildInfoSchema } },
    },
    async () => ({
      // Grafana reads a Loki version here; logagg answers the Loki API of 3.0 (docs/query.md).
      version: '3.0.0',
      revision: `logagg-${version}`,
      branch: '',
      buildUser: '',
      buildDate: '',
      goVersion: '',
    }),
  );
}
