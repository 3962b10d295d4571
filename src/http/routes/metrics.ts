import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

/** GET /metrics in Prometheus text format, and the in-flight request gauge it reports. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', async () => metrics.requestStarted());
  app.addHook('onResponse', async () => metrics.requestFinished());
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'] } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
