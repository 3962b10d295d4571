import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

/** GET /metrics in Prometheus text format, and the in-flight request gauge it reports. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics): void {
  // Counted down when the response closes, not in onResponse: a hijacked reply (the live stream) and a request
  // the client abandoned never run onResponse, and each would hold the gauge up by one forever.
  // A callback hook with one shared listener: it runs on every request, and an async hook costs a promise each.
  // A response emits 'close' once, so on() needs no once() wrapper.
  const finished = (): void => metrics.requestFinished();
  app.addHook('onRequest', (_request, reply, done) => {
    metrics.requestStarted();
    reply.raw.on('close', finished);
    done();
  });
  app.get(
    '/metrics',
    { config: { access: 'read' }, schema: { summary: 'Prometheus metrics', tags: ['operations'] } },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
