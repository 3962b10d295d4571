import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

// Liveness and readiness stay open: a load balancer's or Kubernetes' probe cannot send a key. /ready tells only
// ready or not and a reason code (docs/security.md).
const OPEN_PATHS = new Set(['/health', '/ready']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves no data and needs no key (the dashboard page and its assets, which ask for the key). */
    public?: boolean;
    /** The role a key needs (issue 17 §1); with the one API_KEY every key is an admin, so nothing reads it yet. */
    role?: 'read' | 'write' | 'admin';
  }
}

// RFC 7235 §2.1: the scheme is case-insensitive; the credentials follow after one or more spaces.
const CREDENTIALS = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S.*)$/;

/**
 * The key a request offers: `Authorization: Bearer <key>` (any case of the scheme); `ApiKey <key>`, as the
 * Elasticsearch clients send it; `Basic` with the key as the password (Grafana, rsyslog, Filebeat, Logstash: the
 * user name is ignored); or `X-API-Key: <key>`.
 */
function offeredKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : CREDENTIALS.exec(header);
  if (match) {
    const scheme = (match[1] as string).toLowerCase();
    const credentials = (match[2] as string).trim();
    if (scheme === 'bearer' || scheme === 'apikey') return credentials;
    if (scheme === 'basic') {
      // RFC 7617: user-id ":" password, base64; a user id holds no colon, so the password is after the first.
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon === -1 ? undefined : decoded.slice(colon + 1);
    }
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey : undefined;
}

/** When API_KEY is set, every request but /health, /ready and public routes must carry it (see offeredKey). */
export function authPlugin(app: FastifyInstance, apiKey: string): void {
  const expected = digest(apiKey);
  // A callback hook: it runs on every request, and an async hook costs a promise each.
  // The key is checked first: a request that carries it needs nothing else, and the open-route check reads
  // request.routeOptions, which builds a new object on every read.
  app.addHook('onRequest', (request, reply, done) => {
    const given = offeredKey(request);
    // Compare digests in constant time, so the key cannot be guessed byte by byte from timings.
    if (given !== undefined && timingSafeEqual(digest(given), expected)) {
      done();
      return;
    }
    if (OPEN_PATHS.has(request.url.split('?')[0] ?? '') || request.routeOptions.config.public === true) {
      done();
      return;
    }
    // RFC 9110 §11.6.1: a 401 names the schemes it takes; Basic makes a browser-like tool ask for a password.
    reply.header('www-authenticate', 'Bearer, Basic realm="logagg", charset="UTF-8"');
    done(new LogaggError('UNAUTHORIZED'));
  });
}
