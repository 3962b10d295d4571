import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { LogaggError, RETRY_AFTER_SECONDS } from '../../errors.js';
import { ErrorBodySchema } from '../../schema/error.js';
import type { Store } from '../../store/index.js';

const READY_TIMEOUT_MS = 2000;

/** GET /health (the process runs) and GET /ready (the store answers, within a deadline). */
export function healthRoutes(app: FastifyInstance, store: Pick<Store, 'ping'>): void {
  app.get(
    '/health',
    { config: { access: 'public' }, schema: { summary: 'Liveness: 200 while the process runs', tags: ['operations'] } },
    async () => ({ status: 'ok' }),
  );

  // The 503 is documented in OpenAPI (its body and Retry-After): a probe or load balancer acts on it.
  const readySchema = {
    summary: 'Readiness: 200 when the store answers, else 503',
    tags: ['operations'],
    response: {
      200: Type.Object({ status: Type.Literal('ready') }),
      503: {
        ...Type.Object({
          ...ErrorBodySchema.properties,
          status: Type.Literal('not_ready'),
          reason: Type.String({ description: 'STORE_UNAVAILABLE, STORE_FULL or SHUTTING_DOWN' }),
        }),
        description: 'The store does not answer or its disk is full (reason); retry after Retry-After seconds',
        headers: { 'retry-after': { type: 'integer', description: `Seconds to wait (${RETRY_AFTER_SECONDS})` } },
      },
    },
  };
  app.get('/ready', { config: { access: 'public' }, schema: readySchema }, async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LogaggError('STORE_UNAVAILABLE', { message: 'The store did not answer in time' })),
        READY_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([store.ping(), deadline]);
    } catch (err) {
      // The error body plus why, for a probe or an operator: STORE_UNAVAILABLE or STORE_FULL.
      const refusal =
        err instanceof LogaggError && (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_FULL')
          ? err
          : new LogaggError('STORE_UNAVAILABLE', { cause: err });
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: refusal.code, message: refusal.message, status: 'not_ready', reason: refusal.code });
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready' };
  });
}
