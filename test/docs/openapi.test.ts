import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serverForSuite } from '../helpers/server.js';

interface OpenApi {
  paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; responses: Record<string, { headers?: object }> }>>;
}

describe('the OpenAPI document', () => {
  const server = serverForSuite('pglite');

  test("documents /ready's 503 with Retry-After and the stream's Last-Event-ID header", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApi;
    const ready = doc.paths['/ready']?.get;
    assert.ok(ready?.responses['503'], 'a 503 response');
    assert.ok(ready.responses['503'].headers && 'retry-after' in ready.responses['503'].headers, 'with Retry-After');
    const stream = doc.paths['/events/stream']?.get;
    assert.ok(
      stream?.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === 'last-event-id'),
      'Last-Event-ID is a header parameter',
    );
  });

  test('/ready still answers 200 {"status":"ready"} through its response schema', async () => {
    const res = await fetch(`${server.url}/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready' });
  });

  test('documents GET /events/histogram: its filters, buckets and the one response schema', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApi;
    const histogram = doc.paths['/events/histogram']?.get;
    const names = histogram?.parameters
      ?.filter((p) => p.in === 'query')
      .map((p) => p.name)
      .sort();
    assert.deepEqual(names, ['buckets', 'q', 'since', 'source', 'topic', 'until']);
    assert.ok(histogram?.responses['200'], 'a 200 response');
  });
});
