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

/**
 * The key in an Authorization header: `Bearer <key>`; `ApiKey <key>`, as the Elasticsearch clients send it (their
 * `auth: { apiKey }`); or HTTP basic auth with the key as the password (any user name), for shippers that only
 * speak basic auth (rsyslog, Filebeat, Logstash).
 */
function keyOf(header: string): string | undefined {
  if (header.startsWith('Bearer ')) return header.slice(7);
  if (header.startsWith('ApiKey ')) return header.slice(7);
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/** When API_KEY is set, every request but /health and public routes must carry it as `Authorization: Bearer`, `ApiKey`, basic auth, or `X-API-Key`. */
export function authPlugin(app: FastifyInstance, apiKey: string): void {
  const expected = digest(apiKey);
  app.addHook('onRequest', async (request) => {
    if (OPEN_PATHS.has(request.url.split('?')[0] ?? '') || request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    const given = (header === undefined ? undefined : keyOf(header)) ?? request.headers['x-api-key'];
    // Compare digests in constant time, so the key cannot be guessed byte by byte from timings.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      throw new LogaggError('UNAUTHORIZED');
    }
  });
}
