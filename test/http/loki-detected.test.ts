import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeEvent, post } from '../helpers/events.js';
import { LOKI_EVENTS, ns, T0 } from '../helpers/loki-data.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

const API_KEY = 'loki-detected-key';
const BASIC = { authorization: `Basic ${Buffer.from(`grafana:${API_KEY}`).toString('base64')}` };
const UUID = '550e8400-e29b-41d4-a716-446655440000';

for (const kind of storeKinds()) {
  describe(`Loki detected_labels, detected_fields, patterns [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { apiKey: API_KEY });
    const read = async (path: string, headers: Record<string, string> = BASIC) => {
      const response = await fetch(`${server.url}/loki/api/v1/${path}`, { headers });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const q = (query: string) => `query=${encodeURIComponent(query)}`;
    const span = `start=${ns(0)}&end=${ns(121)}`;
    before(async () => {
      // Beside the fixed data, at T0 + 1000 s: a stream whose topic is a number and whose source is a UUID.
      const ids = makeEvent('12345', 'id1', { source: UUID, timestamp: new Date((T0 + 1000) * 1000).toISOString() });
      // At T0 + 2000 s: byte sizes, which detected field values list as go-humanize writes them.
      const sizes = makeEvent('sizes', 'b1', {
        timestamp: new Date((T0 + 2000) * 1000).toISOString(),
        payload: { message: 'size=10KB sent=1536b' },
      });
      const reply = await post(`${server.url}/publish`, [...LOKI_EVENTS, ids, sizes], { headers: BASIC });
      assert.equal(reply.status, 200);
    });

    test('detected_labels: each stream label with its number of values in [start, end), scoped by a selector', async () => {
      assert.deepEqual(await read(`detected_labels?${span}`), {
        status: 200,
        body: {
          detectedLabels: [
            { label: 'service_name', cardinality: 2 },
            { label: 'source', cardinality: 2 },
            { label: 'topic', cardinality: 2 },
          ],
        },
      });
      assert.deepEqual((await read(`detected_labels?${span}&${q('{topic="auth"}')}`)).body, {
        detectedLabels: [
          { label: 'service_name', cardinality: 1 },
          { label: 'source', cardinality: 1 },
          { label: 'topic', cardinality: 1 },
        ],
      });
    });

    test('detected_labels: labels whose values are all ids are left out; none left (or no stream) is {}', async () => {
      assert.deepEqual(await read(`detected_labels?start=${ns(1000)}&end=${ns(1001)}`), { status: 200, body: {} });
      // One value that is no id keeps the label: topic {12345, auth}, source {the UUID, api}.
      assert.deepEqual((await read(`detected_labels?start=${ns(0)}&end=${ns(1001)}&${q('{topic=~"12345|auth"}')}`)).body, {
        detectedLabels: [
          { label: 'service_name', cardinality: 2 },
          { label: 'source', cardinality: 2 },
          { label: 'topic', cardinality: 2 },
        ],
      });
      assert.deepEqual((await read(`detected_labels?${span}&${q('{app="x"}')}`)).body, {});
      const piped = await read(`detected_labels?${span}&${q('{topic="auth"} |= "x"')}`);
      assert.deepEqual([piped.status, piped.body.error, piped.body.message], [400, 'BAD_REQUEST', 'only label matchers are supported']);
    });

    test('detected_fields: structured metadata, then json (else logfmt) fields of the sampled lines, field by field', async () => {
      const reply = await read(`detected_fields?${span}&${q('{topic=~".+"}')}`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {
        fields: [
          { label: 'detected_level', type: 'string', cardinality: 5, parsers: null },
          { label: 'duration', type: 'duration', cardinality: 2, parsers: ['logfmt'] },
          { label: 'level', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['level'] },
          { label: 'n', type: 'float', cardinality: 1, parsers: ['json'], jsonPath: ['n'] },
          { label: 'nested_k', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['nested', 'k'] },
          { label: 'path', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['path'] },
          { label: 'status', type: 'int', cardinality: 2, parsers: ['logfmt'] },
          { label: 'user', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['user'] },
        ],
        limit: 1000,
      });
      assert.deepEqual(Object.keys(reply.body), ['fields', 'limit']);
    });

    test('detected_fields: line_limit samples the newest lines, limit keeps the first fields found, the query filters', async () => {
      assert.deepEqual((await read(`detected_fields?${span}&${q('{topic=~".+"}')}&line_limit=1`)).body, {
        fields: [{ label: 'detected_level', type: 'string', cardinality: 1, parsers: null }],
        limit: 1000,
      });
      // Newest first: e8's detected_level, then e7's json keys in line order (nested_k before n).
      assert.deepEqual((await read(`detected_fields?${span}&${q('{topic=~".+"}')}&limit=2`)).body, {
        fields: [
          { label: 'detected_level', type: 'string', cardinality: 5, parsers: null },
          { label: 'nested_k', type: 'string', cardinality: 1, parsers: ['json'], jsonPath: ['nested', 'k'] },
        ],
        limit: 2,
      });
      assert.deepEqual((await read(`detected_fields?${span}&${q('{topic="shop"} |= "status"')}&field_limit=10`)).body, {
        fields: [
          { label: 'detected_level', type: 'string', cardinality: 2, parsers: null },
          { label: 'duration', type: 'duration', cardinality: 2, parsers: ['logfmt'] },
          { label: 'status', type: 'int', cardinality: 2, parsers: ['logfmt'] },
        ],
        limit: 10,
      });
      assert.deepEqual((await read(`detected_fields?${span}&${q('{topic="none"}')}`)).body, {});
    });

    test('detected_field/<name>/values: the distinct values of one field in the sample, sorted; byte sizes as Loki lists them', async () => {
      const values = async (name: string, params = `${span}&${q('{topic=~".+"}')}`) =>
        (await read(`detected_field/${name}/values?${params}`)).body;
      assert.deepEqual(await values('status'), { values: ['200', '500'], limit: 1000 });
      assert.deepEqual(await values('detected_level'), { values: ['debug', 'error', 'info', 'unknown', 'warn'], limit: 1000 });
      assert.deepEqual(await values('nested_k'), { values: ['v'], limit: 1000 });
      assert.deepEqual(await values('detected_level', `${span}&${q('{topic=~".+"}')}&limit=2`), { values: ['debug', 'unknown'], limit: 2 });
      assert.deepEqual(await values('nope'), {});
      const sizes = `start=${ns(2000)}&end=${ns(2001)}&${q('{topic="sizes"}')}`;
      assert.deepEqual(await values('size', sizes), { values: ['10kB'], limit: 1000 });
      assert.deepEqual(await values('sent', sizes), { values: ['1.5kB'], limit: 1000 });
    });

    test('detected_fields: refusals as Loki refuses them; patterns is a 404 (pattern ingestion off); API_KEY applies', async () => {
      const metric = await read(`detected_fields?${span}&${q('count_over_time({topic="shop"}[1m])')}`);
      assert.deepEqual([metric.status, metric.body.message], [400, 'only log selector is supported']);
      const lines = await read(`detected_fields?${span}&${q('{topic="shop"}')}&line_limit=5001`);
      assert.deepEqual([lines.status, lines.body.error], [400, 'LOGQL_LIMIT']);
      const zero = await read(`detected_fields?${span}&${q('{topic="shop"}')}&limit=0`);
      assert.deepEqual([zero.status, zero.body.message], [400, 'limit must be a positive value']);
      const patterns = await read(`patterns?${span}&${q('{topic="shop"}')}`);
      assert.deepEqual([patterns.status, patterns.body.error], [404, 'NOT_FOUND']);
      for (const path of [`detected_labels?${span}`, `detected_fields?${span}&${q('{topic="shop"}')}`]) {
        assert.equal((await read(path, {})).status, 401);
      }
    });
  });
}
