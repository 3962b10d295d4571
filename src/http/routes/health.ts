import type { FastifyInstance } from 'fastify';
import { LogaggError, RETRY_AFTER_SECONDS } from '../../errors.js';
import type { Store } from '../../store/index.js';

const READY_TIMEOUT_MS = 2000;

/** GET /health (the process runs) and GET /ready (the store answers, within a deadline). */
export function healthRoutes(app: FastifyInstance, store: Pick<Store, 'ping'>): void {
  app.get('/health', { schema: { summary: 'Liveness: 200 while the process runs', tags: ['operations'] } }, async () => ({ status: 'ok' }));

  app.get(
    '/ready',
    { schema: { summary: 'Readiness: 200 when the store answers, else 503', tags: ['operations'] } },
    async (_request, reply) => {
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
    },
  );
}
