import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../../ingest/index.js';
import { deriveCounters } from '../../schema/counters.js';
import { type Stats, StatsSchema, type TopicStats } from '../../schema/stats.js';
import type { Store } from '../../store/index.js';

export interface StatsRouteOptions {
  store: Pick<Store, 'topicCounts' | 'kind'>;
  pipeline: Pick<Pipeline, 'figures'>;
  startedAt: number;
}

/** GET /stats: persisted counters read in one snapshot, so the totals always balance. */
export function statsRoute(fastify: FastifyInstance, options: StatsRouteOptions): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/stats',
    { schema: { summary: 'Counters, topics, uptime, pipeline figures', tags: ['operations'], response: { 200: StatsSchema } } },
    async () => {
      const counts = await options.store.topicCounts();
      let received = 0;
      let unique = 0;
      let expired = 0;
      // No prototype: a topic may be called "__proto__".
      const perTopic = Object.create(null) as Record<string, TopicStats>;
      for (const [topic, topicCounts] of counts) {
        received += topicCounts.received;
        unique += topicCounts.unique_processed;
        expired += topicCounts.expired;
        perTopic[topic] = topicCounts;
      }
      const stats: Stats = {
        ...deriveCounters({ received, unique, expired }),
        topics: [...counts.keys()],
        uptime: Math.floor((Date.now() - options.startedAt) / 1000),
        per_topic: perTopic,
        store: options.store.kind,
        pipeline: options.pipeline.figures(),
      };
      return stats;
    },
  );
}
