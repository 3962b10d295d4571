import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Store } from '../../store/index.js';

const READY_TIMEOUT_MS = 2000;

/** GET /health (the process runs) and GET /ready (the store answers, within a deadline). */
export function healthRoutes(app: FastifyInstance, store: Pick<Store, 'ping'>): void {
  app.get('/health', { schema: { summary: 'Liveness: 200 while the process runs', tags: ['operations'] } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { summary: 'Readiness: 200 when the store answers, else 503', tags: ['operations'] } }, async () => {
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
      throw err instanceof LogaggError && err.code === 'STORE_UNAVAILABLE' ? err : new LogaggError('STORE_UNAVAILABLE', { cause: err });
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready' };
  });
}
