import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

const KEY = 'k3y:with-colon';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const kind = storeKinds().at(-1) ?? 'pglite';

describe(`API_KEY: the ways a client may send it [${kind}]`, { timeout: 120_000 }, () => {
  const server = serverForSuite(kind, { apiKey: KEY });

  test('the Bearer scheme is case-insensitive (RFC 7235), and extra spaces before the key are allowed', async () => {
    const topic = uniqueTopic('auth-case');
    for (const [i, scheme] of ['Bearer', 'bearer', 'BEARER', 'bEaReR'].entries()) {
      const reply = await post(`${server.url}/publish`, makeEvent(topic, String(i)), { headers: { authorization: `${scheme} ${KEY}` } });
      assert.equal(reply.status, 200, scheme);
    }
    assert.equal((await get(`${server.url}/stats`, { authorization: `bearer   ${KEY}` })).status, 200);
  });

  test('Basic with the key as the password (any user name) is accepted; a wrong password is not', async () => {
    for (const user of ['', 'grafana', 'logagg']) {
      assert.equal((await get(`${server.url}/stats`, { authorization: basic(user, KEY) })).status, 200, user);
    }
    assert.equal((await get(`${server.url}/stats`, { authorization: basic('x', 'wrong') })).status, 401);
    // The key as the user name is not the password.
    assert.equal((await get(`${server.url}/stats`, { authorization: basic(KEY, '') })).status, 401);
    assert.equal((await get(`${server.url}/stats`, { authorization: 'Basic not-base64-without-colon' })).status, 401);
  });

  test('a wrong key, another scheme or no key gets 401 with WWW-Authenticate naming Bearer and Basic', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Token ${KEY}` },
      { authorization: KEY },
      { 'x-api-key': 'wrong' },
    ];
    for (const headers of attempts) {
      const reply = await get<ErrorBody>(`${server.url}/stats`, headers);
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.equal(reply.body.error, 'UNAUTHORIZED');
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer, Basic realm="logagg"/);
    }
    assert.equal((await get(`${server.url}/stats`, { 'x-api-key': KEY })).status, 200);
  });

  test('/health and /ready are open without the key, for probes; /ready tells only ready or not', async () => {
    assert.equal((await get(`${server.url}/health`)).status, 200);
    const ready = await get(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready' });
    for (const path of ['/stats', '/events', '/metrics']) assert.equal((await get(`${server.url}${path}`)).status, 401, path);
  });
});
