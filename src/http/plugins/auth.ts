import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

// Liveness stays open so an orchestrator can probe without the key.
const OPEN_PATHS = new Set(['/health']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves no data and needs no key (the dashboard page and its assets, which ask for the key). */
    public?: boolean;
  }
}

/** The password of `Authorization: Basic`: Promtail, Alloy, Vector and Fluent Bit send a key that way (any user name). */
function basicPassword(credentials: string): string | undefined {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * When API_KEY is set, every request but /health and public routes must carry it as `Authorization: Bearer`,
 * as the password of `Authorization: Basic`, or as `X-API-Key`.
 */
export function authPlugin(app: FastifyInstance, apiKey: string): void {
  const expected = digest(apiKey);
  app.addHook('onRequest', async (request) => {
    if (OPEN_PATHS.has(request.url.split('?')[0] ?? '') || request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ')
      ? header.slice(7)
      : header?.startsWith('Basic ')
        ? basicPassword(header.slice(6))
        : request.headers['x-api-key'];
    // Compare digests in constant time, so the key cannot be guessed byte by byte from timings.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      throw new LogaggError('UNAUTHORIZED');
    }
  });
}
