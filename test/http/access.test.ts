import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { RouteOptions } from 'fastify';
import { type Access, ALL_TENANTS, DEFAULT_TENANT, hashKey, type Principal, ROLES, roleAllows } from '../../src/schema/keys.js';
import { serverForSuite } from '../helpers/server.js';

// FC_SEED=<seed> replays a run; fast-check prints the seed and path of any failure.
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

interface TestKey extends Principal {
  secret: string;
}

const secret = (): string => randomBytes(24).toString('base64url');
const API_KEY = secret();
// Every role bound to all tenants, to the default tenant, and to another tenant.
const KEYS: TestKey[] = ROLES.flatMap((role) =>
  [ALL_TENANTS, DEFAULT_TENANT, 'team-a'].map((tenant, i) => ({ name: `${role}-${i}`, role, tenant, secret: secret() })),
);
const KEYS_TEXT = KEYS.map((k) => `${k.name} ${k.role} ${k.tenant} sha256:${hashKey(k.secret)}`).join('; ');
const API_PRINCIPAL: TestKey = { name: 'API_KEY', role: 'admin', tenant: ALL_TENANTS, secret: API_KEY };

/** A route as the test sends to it: a concrete URL for its pattern, and what it declared. */
interface Target {
  method: string;
  url: string;
  access: Access | undefined;
  /** The route answers in its protocol's error shape, not {error, message}. */
  inlet: boolean;
  /** GET / is the dashboard for a browser and the Elasticsearch info for a JSON client. */
  accept: string | undefined;
  stream: boolean;
}

function targetOf(route: RouteOptions, method: string): Target {
  const url = route.url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*$/, 'x');
  const constraints = route.constraints as { esClient?: string } | undefined;
  const accept = constraints?.esClient === 'yes' ? 'application/json' : route.url === '/' ? 'text/html' : undefined;
  return {
    method,
    url,
    access: route.config?.access,
    inlet: route.config?.inlet !== undefined,
    accept,
    stream: url === '/events/stream' || url === '/loki/api/v1/tail',
  };
}

/** Every route the app declared, one target per method (HEAD routes Fastify adds included). */
function targets(routes: RouteOptions[]): Target[] {
  return routes.flatMap((route) => (Array.isArray(route.method) ? route.method : [route.method]).map((m) => targetOf(route, m)));
}

type Offer = { kind: 'none' } | { kind: 'unknown'; secret: string } | { kind: 'key'; key: TestKey; via: 'bearer' | 'x-api-key' | 'basic' };

/** What the server must answer: let in (any status but 401/403), or refused with this status. */
function expected(access: Access, offer: Offer, scope: string | undefined): 'in' | 400 | 401 | 403 {
  if (scope !== undefined && scope !== '' && !/^[A-Za-z0-9!._*'()-]{1,150}$/.test(scope)) return 400;
  if (scope === '*') return 400;
  if (access === 'public') return 'in';
  if (offer.kind !== 'key') return 401;
  const { role, tenant } = offer.key;
  if (role === 'admin' && tenant === ALL_TENANTS) return 'in';
  if (tenant !== ALL_TENANTS && scope !== undefined && scope !== '' && scope !== tenant) return 403;
  return roleAllows(role, access) ? 'in' : 403;
}

function headersOf(target: Target, offer: Offer, scope: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (target.accept) headers.accept = target.accept;
  if (scope !== undefined) headers['x-scope-orgid'] = scope;
  if (offer.kind === 'unknown') headers.authorization = `Bearer ${offer.secret}`;
  if (offer.kind === 'key') {
    if (offer.via === 'bearer') headers.authorization = `Bearer ${offer.key.secret}`;
    else if (offer.via === 'x-api-key') headers['x-api-key'] = offer.key.secret;
    else headers.authorization = `Basic ${Buffer.from(`any:${offer.key.secret}`).toString('base64')}`;
  }
  if (target.method === 'POST' || target.method === 'PUT') headers['content-type'] = 'application/json';
  return headers;
}

/** Sends one request and checks the answer against the model; a refusal must name its code in the route's shape. */
async function check(base: string, target: Target, offer: Offer, scope: string | undefined): Promise<void> {
  let want = expected(target.access ?? 'admin', offer, scope);
  // /metrics spans every tenant: a key bound to one is refused it even where its role would do.
  if (want === 'in' && target.url === '/metrics' && offer.kind === 'key' && offer.key.tenant !== ALL_TENANTS) want = 403;
  const abort = new AbortController();
  const hasBody = target.method === 'POST' || target.method === 'PUT';
  const response = await fetch(`${base}${target.url}`, {
    method: target.method,
    headers: headersOf(target, offer, scope),
    ...(hasBody ? { body: '{}' } : {}),
    signal: abort.signal,
  });
  const what = `${target.method} ${target.url} (${target.access}) key=${offer.kind === 'key' ? offer.key.name : offer.kind} scope=${String(scope)}`;
  // A live stream let in would never end: its headers are the answer.
  const text = target.stream && response.status === 200 ? '' : await response.text();
  abort.abort();
  if (want === 'in') {
    assert.ok(response.status !== 401 && response.status !== 403, `${what}: let in expected, got ${response.status} ${text.slice(0, 200)}`);
    return;
  }
  assert.equal(response.status, want, `${what}: ${text.slice(0, 200)}`);
  const code = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN' }[want];
  if (target.inlet || target.method === 'HEAD') assert.ok(target.method === 'HEAD' || text.includes(code), `${what}: ${text}`);
  else assert.equal((JSON.parse(text) as { error: string }).error, code, `${what}: ${text}`);
  if (want === 401) assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer, Basic/, what);
}

describe('API keys with roles: every route, every role', { timeout: 120_000 }, () => {
  const routes: RouteOptions[] = [];
  const server = serverForSuite('pglite', { apiKey: API_KEY, keys: KEYS_TEXT, hooks: { onRoute: (route) => routes.push(route) } });

  test('every route declares its access (public, key, write, read or admin): none is left to the default', () => {
    const all = targets(routes);
    assert.ok(all.length > 30, `only ${all.length} routes seen`);
    const undeclared = all.filter((t) => t.access === undefined).map((t) => `${t.method} ${t.url}`);
    assert.deepEqual(undeclared, []);
    const byAccess = (access: Access) => all.filter((t) => t.access === access && t.method !== 'HEAD').map((t) => `${t.method} ${t.url}`);
    // The inlets write; reads read; nothing is public but the probes and the dashboard's page and files.
    for (const inlet of ['POST /publish', 'POST /v1/logs', 'POST /loki/api/v1/push', 'POST /_bulk', 'PUT /x/_bulk']) {
      assert.ok(byAccess('write').includes(inlet), inlet);
    }
    for (const read of ['GET /events', 'GET /events/stream', 'GET /stats', 'GET /topics', 'GET /metrics', 'GET /loki/api/v1/query_range']) {
      assert.ok(byAccess('read').includes(read), read);
    }
    assert.ok(byAccess('read').includes('GET /loki/api/v1/tail'));
    assert.deepEqual(byAccess('public').sort(), ['GET /', 'GET /assets/x', 'GET /health', 'GET /ready']);
  });

  test('each key on each route, without X-Scope-OrgID: let in exactly where its role and tenant allow', async () => {
    const offers: Offer[] = [{ kind: 'none' }, { kind: 'unknown', secret: secret() }];
    for (const key of [...KEYS, API_PRINCIPAL]) offers.push({ kind: 'key', key, via: 'bearer' });
    for (const target of targets(routes)) {
      for (const offer of offers) await check(server.url, target, offer, undefined);
    }
  });

  test('property: random keys, ways of sending them, tenants and routes are let in or refused (400/401/403) as the model says', async () => {
    const all = targets(routes);
    const offer: fc.Arbitrary<Offer> = fc.oneof(
      fc.constant<Offer>({ kind: 'none' }),
      fc.string({ minLength: 1, maxLength: 40 }).map((s): Offer => ({ kind: 'unknown', secret: `${s.replace(/[^\x21-\x7e]/g, 'x')}z` })),
      fc.record({
        kind: fc.constant('key' as const),
        key: fc.constantFrom(...KEYS, API_PRINCIPAL),
        via: fc.constantFrom('bearer' as const, 'x-api-key' as const, 'basic' as const),
      }),
    );
    const scope = fc.option(fc.constantFrom('', DEFAULT_TENANT, 'team-a', 'team-b', '*', 'a|b', 'x'.repeat(151)), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...all), offer, scope, (target, o, s) => check(server.url, target, o, s)),
      { numRuns: 400, seed: SEED, includeErrorInReport: true },
    );
  });

  test('a bound key names its tenant in the refusal and acts for it without a header; an all-tenants key may name any tenant', async () => {
    const readDefault = KEYS.find((k) => k.role === 'read' && k.tenant === DEFAULT_TENANT) as TestKey;
    const readTeam = KEYS.find((k) => k.role === 'read' && k.tenant === 'team-a') as TestKey;
    const readAll = KEYS.find((k) => k.role === 'read' && k.tenant === ALL_TENANTS) as TestKey;
    const stats = (key: TestKey, scope?: string) =>
      fetch(`${server.url}/stats`, { headers: { authorization: `Bearer ${key.secret}`, ...(scope ? { 'x-scope-orgid': scope } : {}) } });
    assert.equal((await stats(readDefault)).status, 200);
    assert.equal((await stats(readDefault, DEFAULT_TENANT)).status, 200);
    const other = await stats(readDefault, 'team-b');
    assert.equal(other.status, 403);
    assert.match(((await other.json()) as { message: string }).message, /bound to tenant "default"; X-Scope-OrgID names "team-b"/);
    assert.equal((await stats(readTeam, 'team-a')).status, 200);
    assert.equal((await stats(readTeam)).status, 200);
    assert.equal((await stats(readAll, 'team-b')).status, 200);
  });
});

describe('a route that declares no access needs admin', { timeout: 60_000 }, () => {
  const [read, admin] = [secret(), secret()];
  // /topics loses its declaration, as a route someone forgot to declare would be.
  const forget = (route: RouteOptions): void => {
    if (route.url === '/topics') route.config = { ...route.config, access: undefined };
  };
  const keys = `r read * ${hashKey(read)}; a admin * ${hashKey(admin)}`;
  const server = serverForSuite('pglite', { keys, hooks: { onRoute: forget } });

  test('a read key gets 403 on it and an admin key gets in', async () => {
    const topics = (key: string) => fetch(`${server.url}/topics`, { headers: { authorization: `Bearer ${key}` } });
    const refused = await topics(read);
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { message: string }).message, /has role read; this request needs admin/);
    assert.equal((await topics(admin)).status, 200);
    assert.equal((await fetch(`${server.url}/stats`, { headers: { authorization: `Bearer ${read}` } })).status, 200);
  });
});
