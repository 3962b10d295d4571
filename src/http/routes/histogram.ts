import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { parseSearch } from '../../query/search/parse.js';
import { ErrorBodySchema } from '../../schema/error.js';
import {
  DEFAULT_HISTOGRAM_BUCKETS,
  HISTOGRAM_RULES,
  HistogramQuerySchema,
  HistogramSchema,
  toHistogramFilter,
} from '../../schema/query.js';
import type { Store } from '../../store/index.js';

/** GET /events/histogram: how many events GET /events would find, per time bucket (the dashboard's histogram). */
export function histogramRoute(app: FastifyInstance, store: Pick<Store, 'histogram'>): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/events/histogram',
    {
      schema: {
        summary: 'Matching events counted per time bucket',
        description:
          'The filters of GET /events (topic, source, since, until, q) counted on the event timestamp in at most ' +
          `buckets (default ${DEFAULT_HISTOGRAM_BUCKETS}) equal buckets, each [start, start + step_ms), every bucket ` +
          'present. Without since or until the range is the matching events’ own (the last hour when none match). ' +
          'See docs/query.md, "Histogram".',
        tags: ['events'],
        querystring: HistogramQuerySchema,
        response: { 200: HistogramSchema, '4xx': ErrorBodySchema },
      },
      config: { access: 'read', queryRules: HISTOGRAM_RULES },
    },
    async (request) => {
      const filter = toHistogramFilter(request.query);
      return store.histogram(request.tenant, filter, parseSearch(filter.q ?? ''));
    },
  );
}
