import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBodySchema } from '../../schema/error.js';
import { MAX_TOPICS_LIMIT, TopicsQuerySchema, TopicsPageSchema } from '../../schema/stats.js';
import { type Store, TOPIC_SCAN_BUDGET } from '../../store/index.js';
import { finiteParameter } from './stats.js';

/** GET /topics: every topic with its counters, by name, a bounded page at a time, optionally filtered. */
export function topicsRoute(fastify: FastifyInstance, store: Pick<Store, 'topicsPage'>): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/topics',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Topics and their counters, paged by name',
        description:
          'Topics in name order after `after`, those containing `q` (ignoring case). Each request reads at most ' +
          `${TOPIC_SCAN_BUDGET.toLocaleString('en')} names, so a page may be short or empty while \`next\` is not null: ` +
          'pass `next` as `after` until it is null.',
        tags: ['operations'],
        querystring: TopicsQuerySchema,
        response: { 200: TopicsPageSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const limit = finiteParameter('limit', request.query.limit, 1, MAX_TOPICS_LIMIT);
      return store.topicsPage(request.tenant, { after: request.query.after, limit, q: request.query.q });
    },
  );
}
