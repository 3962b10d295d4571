import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { ALL_TENANTS } from '../../schema/keys.js';

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
    {
      config: { access: 'read' },
      schema: { summary: "Prometheus metrics: every tenant's figures, so only for a key bound to all tenants (*)", tags: ['operations'] },
    },
    async (request, reply) => {
      // The series carry every tenant's topics and counts: a key bound to one tenant must not read them.
      if (request.principal !== undefined && request.principal.tenant !== ALL_TENANTS) {
        throw new LogaggError('FORBIDDEN', {
          message: `GET /metrics shows every tenant's figures; the key "${request.principal.name}" is bound to tenant "${request.principal.tenant}" (use a key bound to *)`,
        });
      }
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
