import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TOPIC_LABEL_LIMIT } from '../../src/metrics.js';
import type { ErrorBody } from '../../src/schema/error.js';
import { get, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshStore, type StoreLocation } from '../helpers/stores.js';

describe('operations: /metrics, /openapi.json, /docs, API key', { timeout: 120_000 }, () => {
  let location: StoreLocation;
  let server: TestServer;
  before(async () => {
    location = await freshStore('pglite');
    server = await startServer(location);
  });
  after(async () => {
    await server.stop();
    await location.destroy();
  });
  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();

  test('/metrics counts received, unique, duplicates and rejections by transport and topic', async () => {
    const topic = uniqueTopic('metrics');
    await post(`${server.url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '1'), makeEvent(topic, '2')]);
    await post(`${server.url}/publish`, [{ topic }]);
    const text = await scrape();
    assert.match(text, new RegExp(`logagg_events_received_total\\{transport="http",tenant="default",topic="${topic}"\\} 3`));
    assert.match(text, new RegExp(`logagg_events_unique_total\\{transport="http",tenant="default",topic="${topic}"\\} 2`));
    assert.match(text, new RegExp(`logagg_events_duplicate_total\\{transport="http",tenant="default",topic="${topic}"\\} 1`));
    assert.match(text, /logagg_requests_rejected_total\{transport="http",reason="VALIDATION_FAILED"\} [1-9]/);
    for (const name of [
      'logagg_batch_events_bucket',
      'logagg_batch_commit_seconds_bucket',
      'logagg_queue_events',
      'logagg_stream_subscribers',
      'logagg_http_requests_in_flight',
      'logagg_process_resident_memory_bytes',
    ]) {
      assert.ok(text.includes(name), name);
    }
  });

  test('the topic label is capped, so a flood of topics cannot grow the series without bound', async () => {
    const prefix = uniqueTopic('cap');
    await post(
      `${server.url}/publish`,
      Array.from({ length: TOPIC_LABEL_LIMIT + 20 }, (_, i) => makeEvent(`${prefix}-${i}`, 'x')),
    );
    const topics = new Set(
      [...(await scrape()).matchAll(/logagg_events_received_total\{transport="http",tenant="default",topic="([^"]+)"\}/g)].map((m) => m[1]),
    );
    assert.ok(topics.size <= TOPIC_LABEL_LIMIT + 1, `${topics.size} topic labels`);
    assert.ok(topics.has('_other'));
  });

  test('/openapi.json documents every route from the same schemas, and /docs serves its UI', async () => {
    const doc = (
      await get<{ openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> }>(`${server.url}/openapi.json`)
    ).body;
    assert.match(doc.openapi, /^3\./);
    for (const path of ['/publish', '/events', '/events/stream', '/stats', '/health', '/ready', '/metrics'])
      assert.ok(doc.paths[path], path);
    assert.ok(doc.paths['/publish']?.post?.requestBody);
    const ui = await fetch(`${server.url}/docs/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });
});

describe('API key', { timeout: 60_000 }, () => {
  test('with API_KEY set, requests without the key get 401 and /health stays open', async (t) => {
    const location = await freshStore('pglite');
    const server = await startServer(location, { apiKey: 's3cret' });
    t.after(async () => {
      await server.stop();
      await location.destroy();
    });
    const topic = uniqueTopic('auth');
    const denied = await post<ErrorBody>(`${server.url}/publish`, makeEvent(topic, '1'));
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error, 'UNAUTHORIZED');
    assert.equal((await post(`${server.url}/publish`, makeEvent(topic, '1'), { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await post(`${server.url}/publish`, makeEvent(topic, '1'), { headers: { authorization: 'Bearer s3cret' } })).status, 200);
    assert.equal((await get(`${server.url}/stats`, { 'x-api-key': 's3cret' })).status, 200);
    assert.equal((await get(`${server.url}/stats`)).status, 401);
    assert.equal((await get(`${server.url}/health`)).status, 200);
  });
});
