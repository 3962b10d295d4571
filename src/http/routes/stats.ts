import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { ErrorBodySchema } from '../../schema/error.js';
import { MAX_STATS_TOP, type Stats, StatsQuerySchema, StatsSchema, type TopicStats } from '../../schema/stats.js';
import type { Store } from '../../store/index.js';

/**
 * Ajv's number coercion turns "1e400" into Infinity and lets it past maximum (an integer check passes it too):
 * the routes call this on each integer parameter so the answer is a 422 that states the range, never a 500.
 */
export function finiteParameter(name: string, value: number, min: number, max: number): number {
  if (Number.isSafeInteger(value)) return value;
  const message = `must be an integer from ${min} to ${max}`;
  throw new LogaggError('VALIDATION_FAILED', {
    message: `querystring/${name} ${message}`,
    details: [{ path: `querystring/${name}`, message }],
  });
}

export interface StatsRouteOptions {
  store: Pick<Store, 'stats' | 'kind'>;
  pipeline: Pick<Pipeline, 'figures'>;
  startedAt: number;
}

/**
 * GET /stats: the totals and the top topics, read in one snapshot so they always balance. Its size is bounded
 * whatever the number of topics (the dashboard polls it every second); GET /topics lists them all, page by page.
 */
export function statsRoute(fastify: FastifyInstance, options: StatsRouteOptions): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/stats',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Counters, the top topics, uptime, pipeline figures',
        description:
          'Totals over every topic, and the counters of at most `top` topics by copies received plus those named ' +
          'with `topic=` (repeatable). GET /topics pages through every topic.',
        tags: ['operations'],
        querystring: StatsQuerySchema,
        response: { 200: StatsSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => {
      const top = finiteParameter('top', request.query.top, 0, MAX_STATS_TOP);
      const snapshot = await options.store.stats(request.tenant, top, request.query.topic ?? []);
      // No prototype: a topic may be called "__proto__".
      const perTopic = Object.create(null) as Record<string, TopicStats>;
      for (const { topic, ...counts } of snapshot.topics) perTopic[topic] = counts;
      const stats: Stats = {
        ...snapshot.totals,
        topic_count: snapshot.topicCount,
        topics: snapshot.topics.map((entry) => entry.topic),
        uptime: Math.floor((Date.now() - options.startedAt) / 1000),
        per_topic: perTopic,
        store: options.store.kind,
        pipeline: options.pipeline.figures(),
      };
      return stats;
    },
  );
}
