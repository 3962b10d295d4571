import assert from 'node:assert/strict';
import { get } from 'node:http';
import { describe, test } from 'node:test';
import { uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { bulk, ndjson, summary } from './es.js';

const KEY = 'es-compat-key';
const auth = { authorization: `ApiKey ${KEY}` };
const JSON_ACCEPT = 'application/vnd.elasticsearch+json; compatible-with=9';

// The probes read nothing per store: PGlite alone.
describe('Elasticsearch compatibility: info, ping, probes, auth', { timeout: 120_000 }, () => {
  const server = serverForSuite('pglite', { apiKey: KEY });

  test('GET / answers the info to a client asking for JSON (or for no type), the dashboard to a browser', async () => {
    for (const accept of [JSON_ACCEPT, 'application/json']) {
      const info = await fetch(`${server.url}/`, { headers: { ...auth, accept } });
      assert.equal(info.status, 200, String(accept));
      assert.equal(info.headers.get('x-elastic-product'), 'Elasticsearch');
      const body = (await info.json()) as { cluster_name: string; version: { number: string; build_flavor: string }; tagline: string };
      assert.equal(body.cluster_name, 'logagg');
      assert.match(body.version.number, /^8\.\d+\.\d+$/);
      assert.equal(body.version.build_flavor, 'default');
      assert.equal(body.tagline, 'You Know, for Search');
    }
    // No Accept at all (Go's and Java's HTTP clients; fetch always sends one).
    const bare = await new Promise<{ status: number | undefined; product: unknown }>((resolve, reject) => {
      get(`${server.url}/`, { headers: auth }, (response) => {
        response.resume();
        resolve({ status: response.statusCode, product: response.headers['x-elastic-product'] });
      }).on('error', reject);
    });
    assert.deepEqual(bare, { status: 200, product: 'Elasticsearch' });
    const ping = await fetch(`${server.url}/`, { method: 'HEAD', headers: { ...auth, accept: JSON_ACCEPT } });
    assert.equal(ping.status, 200);
    assert.equal(ping.headers.get('x-elastic-product'), 'Elasticsearch');
    // A browser: no key needed for the page, no product header.
    const page = await fetch(`${server.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('x-elastic-product'), null);
    // The info is data about the server: it needs the key, like the bulk API.
    const noKey = await fetch(`${server.url}/`, { headers: { accept: JSON_ACCEPT } });
    assert.equal(noKey.status, 401);
    assert.equal(((await noKey.json()) as { error: { type: string } }).error.type, 'security_exception');
  });

  test('startup probes: _cluster/health, _cat/health (text and JSON), _license, _xpack, templates', async () => {
    const json = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${server.url}${path}`, { ...init, headers: { ...auth, 'content-type': 'application/json' } });
      assert.equal(response.headers.get('x-elastic-product'), 'Elasticsearch', path);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const health = await json('/_cluster/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'green');
    const cat = await fetch(`${server.url}/_cat/health`, { headers: auth });
    assert.equal(cat.status, 200);
    assert.match(await cat.text(), /^\d+ \d\d:\d\d:\d\d logagg green 1 1 /);
    const catJson = await json('/_cat/health?format=json');
    assert.equal((catJson.body as unknown as Array<{ status: string }>)[0]?.status, 'green');
    assert.equal(((await json('/_license')).body.license as { status: string }).status, 'active');
    assert.deepEqual(((await json('/_xpack')).body.features as { ilm: unknown }).ilm, { available: false, enabled: false });
    assert.equal((await json('/_index_template/logs')).status, 404);
    const head = await fetch(`${server.url}/_index_template/logs`, { method: 'HEAD', headers: auth });
    assert.equal(head.status, 404);
    assert.deepEqual(await json('/_index_template/logs', { method: 'PUT', body: '{"index_patterns":["logs-*"]}' }), {
      status: 200,
      body: { acknowledged: true },
    });
  });

  test('the key as ApiKey, Bearer, X-API-Key or the password of basic auth; without it 401 and nothing stored', async () => {
    const topic = uniqueTopic('es-auth');
    const schemes: Array<Record<string, string>> = [
      { authorization: `ApiKey ${KEY}` },
      { authorization: `Bearer ${KEY}` },
      { 'x-api-key': KEY },
      { authorization: `Basic ${Buffer.from(`elastic:${KEY}`).toString('base64')}` },
    ];
    for (const [i, headers] of schemes.entries()) {
      const reply = await bulk(server.url, ndjson([[{ create: { _index: topic, _id: String(i) } }, {}]]), headers);
      assert.deepEqual(summary(reply.body), [['create', 201, 'created']], JSON.stringify(headers));
    }
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: 'ApiKey wrong' },
      { authorization: `Basic ${Buffer.from('elastic:wrong').toString('base64')}` },
    ];
    for (const headers of refused) {
      const reply = await bulk(server.url, ndjson([[{ create: { _index: topic, _id: 'x' } }, {}]]), headers);
      assert.equal(reply.status, 401);
    }
    const events = await fetch(`${server.url}/events?topic=${topic}`, { headers: auth });
    assert.equal(((await events.json()) as unknown[]).length, schemes.length);
  });
});
