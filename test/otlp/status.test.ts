import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ErrorBody } from '../../src/schema/error.js';
import { post } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { assertStatus, kv, logs, str } from './otlp.js';

// Errors raised before the route's handler (auth hook, body reading) are rendered by route too: OTLP's Status on
// /v1/logs, logagg's ErrorBody everywhere else.
describe('POST /v1/logs errors are google.rpc.Status from every stage of a request', { timeout: 60_000 }, () => {
  const apiKey = 'otlp-status-key';
  const server = serverForSuite('pglite', { apiKey, bodyLimit: 4096 });
  const auth = { authorization: `Bearer ${apiKey}` };
  const request = logs([kv('service.name', str('status-test'))], [{ body: str('x') }]);

  test('a missing API key is 401 UNAUTHENTICATED (16) on /v1/logs, and still ErrorBody on /publish', async () => {
    assertStatus(await post(`${server.url}/v1/logs`, request), 401, 16, 'UNAUTHORIZED');
    const publish = await post<ErrorBody>(`${server.url}/publish`, []);
    assert.deepEqual([publish.status, publish.body.error], [401, 'UNAUTHORIZED']);
    assert.deepEqual((await post(`${server.url}/v1/logs`, request, { headers: auth })).status, 200);
  });

  test('a body over BODY_LIMIT is 413 INVALID_ARGUMENT (3); broken gzip 400, an unknown encoding 415, both 3', async () => {
    const big = logs([kv('service.name', str('status-test'))], [{ body: str('x'.repeat(8192)) }]);
    assertStatus(await post(`${server.url}/v1/logs`, big, { headers: auth }), 413, 3, 'BODY_TOO_LARGE');
    const raw = async (headers: Record<string, string>, body: Uint8Array) => {
      const response = await fetch(`${server.url}/v1/logs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', ...headers },
        body,
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
    };
    const gzipped = gzipSync(JSON.stringify(request));
    assertStatus(await raw({ 'content-encoding': 'gzip' }, gzipped.subarray(0, gzipped.length - 6)), 400, 3, 'BAD_REQUEST');
    assertStatus(await raw({ 'content-encoding': 'br' }, gzipped), 415, 3, 'UNSUPPORTED_ENCODING');
  });
});
