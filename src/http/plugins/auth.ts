import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Keyring } from '../../auth/keyring.js';
import { LogaggError } from '../../errors.js';
import { type Access, DEFAULT_ACCESS, DEFAULT_TENANT, type Principal } from '../../schema/keys.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the route asks of a request (docs/tenants.md): `public` (no key: the probes, the dashboard's page and
     * assets, which hold no data), `key` (any valid key), or the role `write`, `read` or `admin`. A route that
     * declares nothing needs admin, so a forgotten route is closed; test/http/access.test.ts checks each declares.
     */
    access?: Access;
  }
  interface FastifyRequest {
    /** Who sent the request; undefined on a public route reached without a valid key. */
    principal: Principal | undefined;
    /** The tenant it acts for (docs/tenants.md); until the store keeps tenants apart, informational only. */
    tenant: string;
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

/**
 * Every request but a public route's needs a key whose role the route allows (route config `access`; none
 * declared: admin) and a tenant its key may use (docs/tenants.md). The answer is 401 UNAUTHORIZED for no or an
 * unknown key, 403 FORBIDDEN for a known key not allowed here. With no keys (Keyring.enabled false) every request
 * is let in as OPEN_PRINCIPAL. Sets request.principal and request.tenant for the handlers.
 */
export function authPlugin(app: FastifyInstance, keyring: Keyring): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('tenant', DEFAULT_TENANT);
  // A callback hook: it runs on every request, and an async hook costs a promise each. A request without a
  // route (404) needs a valid key: an unknown path tells nothing to an unauthenticated client.
  app.addHook('onRequest', (request, reply, done) => {
    const access = (): Access => (request.is404 ? 'key' : (request.routeOptions.config.access ?? DEFAULT_ACCESS));
    const grant = keyring.authorize(offeredKey(request), request.headers['x-scope-orgid'], access);
    if (grant instanceof LogaggError) {
      // RFC 9110 §11.6.1: a 401 names the schemes it takes; Basic makes a browser-like tool ask for a password.
      if (grant.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer, Basic realm="logagg", charset="UTF-8"');
      done(grant);
      return;
    }
    request.principal = grant.principal;
    request.tenant = grant.tenant;
    done();
  });
}
