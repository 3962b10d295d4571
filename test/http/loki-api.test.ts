import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { post } from '../helpers/events.js';
import { LOKI_EVENTS, ns, T0 } from '../helpers/loki-data.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

const API_KEY = 'loki-read-key';
const BASIC = { authorization: `Basic ${Buffer.from(`grafana:${API_KEY}`).toString('base64')}` };

for (const kind of storeKinds()) {
  describe(`Loki read API: shapes, labels, errors, auth [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { apiKey: API_KEY });
    const read = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.url}${path}`, { headers: { ...BASIC, ...headers } });
      return {
        status: response.status,
        type: response.headers.get('content-type') ?? '',
        body: (await response.json()) as Record<string, unknown>,
      };
    };
    const span = `start=${ns(0)}&end=${ns(121)}`;
    before(async () => {
      const reply = await post(`${server.url}/publish`, LOKI_EVENTS, { headers: BASIC });
      assert.equal(reply.status, 200);
    });

    test("Grafana's Save & test: vector(1)+vector(1) at time=4000000000 (seconds) is a vector of 2", async () => {
      const reply = await read(`/loki/api/v1/query?query=${encodeURIComponent('vector(1)+vector(1)')}&time=4000000000`);
      assert.equal(reply.status, 200);
      assert.match(reply.type, /application\/json/);
      assert.deepEqual(Object.keys(reply.body), ['status', 'data']);
      assert.equal(reply.body.status, 'success');
      const data = reply.body.data as Record<string, unknown>;
      assert.deepEqual(Object.keys(data), ['resultType', 'result', 'stats']);
      assert.equal(data.resultType, 'vector');
      assert.deepEqual(data.result, [{ metric: {}, value: [4000000000, '2'] }]);
      const stats = data.stats as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(stats), ['summary', 'querier', 'ingester', 'cache', 'index']);
      assert.equal(typeof stats.summary?.execTime, 'number');
      assert.equal(stats.summary?.totalEntriesReturned, 0);
    });

    test('a streams answer with categorize-labels: encodingFlags echoed, values [ns, line, {structuredMetadata}]', async () => {
      const query = encodeURIComponent('{topic="auth"}');
      const reply = await read(`/loki/api/v1/query_range?query=${query}&${span}&limit=1`, {
        'X-Loki-Response-Encoding-Flags': 'categorize-labels',
      });
      assert.equal(reply.status, 200);
      const data = reply.body.data as Record<string, unknown>;
      assert.deepEqual(Object.keys(data), ['resultType', 'encodingFlags', 'result', 'stats']);
      assert.deepEqual(data.encodingFlags, ['categorize-labels']);
      assert.deepEqual(data.result, [
        {
          stream: { service_name: 'api', source: 'api', topic: 'auth' },
          values: [[ns(120), 'login ok', { structuredMetadata: { detected_level: 'unknown' } }]],
        },
      ]);
      assert.equal((data.stats as { summary: { totalEntriesReturned: number } }).summary.totalEntriesReturned, 1);
    });

    test('a range metric answer is a matrix: times as seconds (numbers), values as strings; step as 60000ms or seconds', async () => {
      const query = encodeURIComponent('sum(count_over_time({topic="auth"}[1m]))');
      for (const step of ['60000ms', '60', '1m']) {
        const reply = await read(`/loki/api/v1/query_range?query=${query}&start=${ns(0)}&end=${ns(120)}&step=${step}`);
        assert.equal(reply.status, 200);
        const data = reply.body.data as Record<string, unknown>;
        assert.equal(data.resultType, 'matrix');
        assert.deepEqual(data.result, [
          {
            metric: {},
            values: [
              [T0 + 60, '1'],
              [T0 + 120, '1'],
            ],
          },
        ]);
      }
    });

    test('times may be RFC 3339, float seconds or 10-digit seconds', async () => {
      const query = encodeURIComponent('{topic="auth"}');
      const iso = (s: number) => new Date((T0 + s) * 1000).toISOString();
      for (const [start, end] of [
        [iso(0), iso(121)],
        [`${T0}.0`, `${T0 + 121}.5`],
        [String(T0), String(T0 + 121)],
      ]) {
        const reply = await read(
          `/loki/api/v1/query_range?query=${query}&start=${encodeURIComponent(start as string)}&end=${encodeURIComponent(end as string)}`,
        );
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const result = (reply.body.data as { result: Array<{ values: unknown[] }> }).result;
        assert.equal(
          result.reduce((n, stream) => n + stream.values.length, 0),
          2,
        );
      }
    });

    test('label names, values and series within the time range', async () => {
      assert.deepEqual((await read(`/loki/api/v1/labels?${span}`)).body, { status: 'success', data: ['service_name', 'source', 'topic'] });
      assert.deepEqual((await read(`/loki/api/v1/labels?start=${ns(500)}&end=${ns(600)}`)).body, { status: 'success', data: [] });
      assert.deepEqual((await read(`/loki/api/v1/label/topic/values?${span}`)).body, { status: 'success', data: ['auth', 'shop'] });
      const scoped = await read(`/loki/api/v1/label/service_name/values?${span}&query=${encodeURIComponent('{topic="shop"}')}`);
      assert.deepEqual(scoped.body, { status: 'success', data: ['api', 'worker'] });
      assert.deepEqual((await read(`/loki/api/v1/label/detected_level/values?${span}`)).body, { status: 'success', data: [] });
      const series = await read(`/loki/api/v1/series?${span}&match[]=${encodeURIComponent('{topic="auth"}')}`);
      assert.deepEqual(series.body, { status: 'success', data: [{ service_name: 'api', source: 'api', topic: 'auth' }] });
    });

    // Line bytes (UTF-8): shop/api e1 16 + e2 24 + e5 34 + e6 24 = 98; shop/worker e3 14 + e7 29 = 43; auth/api e4 43 + e8 8 = 51.
    test('index/stats: streams, chunks, bytes and entries of a selector in [start, end)', async () => {
      const shop = encodeURIComponent('{topic="shop"}');
      assert.deepEqual((await read(`/loki/api/v1/index/stats?query=${shop}&${span}`)).body, {
        streams: 2,
        chunks: 2,
        bytes: 141,
        entries: 6,
      });
      // end is exclusive: e5 and e6 at 60 s are outside [0, 60).
      const early = await read(`/loki/api/v1/index/stats?query=${shop}&start=${ns(0)}&end=${ns(60)}`);
      assert.deepEqual(early.body, { streams: 2, chunks: 2, bytes: 54, entries: 3 });
      const all = await read(`/loki/api/v1/index/stats?query=${encodeURIComponent('{topic=~".+"}')}&${span}`);
      assert.deepEqual(all.body, { streams: 3, chunks: 3, bytes: 192, entries: 8 });
      const none = await read(`/loki/api/v1/index/stats?query=${encodeURIComponent('{topic="nope"}')}&${span}`);
      assert.deepEqual(none.body, { streams: 0, chunks: 0, bytes: 0, entries: 0 });
    });

    test("index/volume: bytes by the selector's labels, by targetLabels, or by each label; largest first; limit", async () => {
      const volume = async (params: string) => {
        const reply = await read(`/loki/api/v1/index/volume?${span}&${params}`);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.deepEqual(Object.keys(reply.body), ['status', 'data']);
        const data = reply.body.data as { resultType: string; result: unknown };
        assert.equal(data.resultType, 'vector');
        return data.result;
      };
      const at = T0 + 121;
      assert.deepEqual(await volume(`query=${encodeURIComponent('{service_name=~".+"}')}`), [
        { metric: { service_name: 'api' }, value: [at, '149'] },
        { metric: { service_name: 'worker' }, value: [at, '43'] },
      ]);
      assert.deepEqual(await volume(`query=${encodeURIComponent('{topic=~".+"}')}&targetLabels=topic,source&limit=2`), [
        { metric: { topic: 'shop', source: 'api' }, value: [at, '98'] },
        { metric: { topic: 'auth', source: 'api' }, value: [at, '51'] },
      ]);
      assert.deepEqual(await volume(`query=${encodeURIComponent('{topic="shop"}')}&targetLabels=topic,service_name&aggregateBy=labels`), [
        { metric: { topic: 'shop' }, value: [at, '141'] },
        { metric: { service_name: 'api' }, value: [at, '98'] },
        { metric: { service_name: 'worker' }, value: [at, '43'] },
      ]);
      const wrong = await read(`/loki/api/v1/index/volume?query=${encodeURIComponent('{topic="shop"}')}&aggregateBy=streams`);
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, 'BAD_REQUEST');
    });

    test('index/volume_range: a matrix of bytes per step window (t − step, t], largest series first', async () => {
      const selector = encodeURIComponent('{service_name=~".+"}');
      const reply = await read(`/loki/api/v1/index/volume_range?query=${selector}&start=${ns(0)}&end=${ns(120)}&step=60`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const data = reply.body.data as { resultType: string; result: unknown };
      assert.equal(data.resultType, 'matrix');
      // (−60, 0]: e1; (0, 60]: e2, e4, e5, e6 (api) and e3 (worker); (60, 120]: e8 (api) and e7 (worker).
      assert.deepEqual(data.result, [
        {
          metric: { service_name: 'api' },
          values: [
            [T0, '16'],
            [T0 + 60, '125'],
            [T0 + 120, '8'],
          ],
        },
        {
          metric: { service_name: 'worker' },
          values: [
            [T0 + 60, '14'],
            [T0 + 120, '29'],
          ],
        },
      ]);
      const byLabel = await read(
        `/loki/api/v1/index/volume_range?query=${encodeURIComponent('{topic="auth"}')}&targetLabels=topic,source&aggregateBy=labels&start=${ns(0)}&end=${ns(120)}&step=120&limit=1`,
      );
      assert.deepEqual((byLabel.body.data as { result: unknown }).result, [{ metric: { topic: 'auth' }, values: [[T0 + 120, '51']] }]);
    });

    test('buildinfo answers a Loki version', async () => {
      const reply = await read('/loki/api/v1/status/buildinfo');
      assert.equal(reply.status, 200);
      assert.equal(reply.body.version, '3.0.0');
    });

    for (const [name, path, code] of [
      ['a syntax error', `/loki/api/v1/query_range?query=${encodeURIComponent('{topic="a"')}`, 'LOGQL_INVALID'],
      [
        'a part outside the subset',
        `/loki/api/v1/query_range?query=${encodeURIComponent('{topic="a"} | regexp "x"')}`,
        'LOGQL_UNSUPPORTED',
      ],
      ['a log query as an instant query', `/loki/api/v1/query?query=${encodeURIComponent('{topic="a"}')}`, 'BAD_REQUEST'],
      ['a limit over 5000', `/loki/api/v1/query_range?query=${encodeURIComponent('{topic="a"}')}&limit=5001`, 'LOGQL_LIMIT'],
      ['a time that does not parse', `/loki/api/v1/query_range?query=${encodeURIComponent('{topic="a"}')}&start=yesterday`, 'BAD_REQUEST'],
      [
        'a step under a nanosecond',
        `/loki/api/v1/query_range?query=${encodeURIComponent('rate({topic="a"}[1m])')}&step=1e-12`,
        'BAD_REQUEST',
      ],
      ['a zero step', `/loki/api/v1/query_range?query=${encodeURIComponent('rate({topic="a"}[1m])')}&step=0`, 'BAD_REQUEST'],
      [
        'too many points',
        `/loki/api/v1/query_range?query=${encodeURIComponent('rate({topic="a"}[1m])')}&start=0&end=100000&step=1`,
        'LOGQL_LIMIT',
      ],
      ['an invalid direction', `/loki/api/v1/query_range?query=${encodeURIComponent('{topic="a"}')}&direction=up`, 'BAD_REQUEST'],
    ] as const) {
      test(`${name} is a 400 with a JSON body whose message Grafana shows`, async () => {
        const reply = await read(path);
        assert.equal(reply.status, 400, JSON.stringify(reply.body));
        assert.equal(reply.body.error, code);
        assert.equal(typeof reply.body.message, 'string');
      });
    }

    test('every read route asks for API_KEY', async () => {
      for (const path of [
        '/loki/api/v1/query_range?query=%7Btopic%3D%22a%22%7D',
        '/loki/api/v1/query?query=vector(1)',
        '/loki/api/v1/labels',
        '/loki/api/v1/label/topic/values',
        '/loki/api/v1/series',
        '/loki/api/v1/status/buildinfo',
        '/loki/api/v1/index/stats?query=%7Btopic%3D%22a%22%7D',
        '/loki/api/v1/index/volume?query=%7Btopic%3D%22a%22%7D',
        '/loki/api/v1/index/volume_range?query=%7Btopic%3D%22a%22%7D',
      ]) {
        const response = await fetch(`${server.url}${path}`);
        assert.equal(response.status, 401, path);
        await response.body?.cancel();
        assert.equal((await read(path)).status, 200, path);
      }
    });

    test('random query strings get 200 or 400, never a 5xx', async () => {
      const pieces = [
        '{',
        '}',
        '(',
        ')',
        '[1m]',
        '|',
        '|=',
        '!=',
        '|~',
        '=~',
        '"a"',
        '"(?i)x+"',
        'json',
        'logfmt',
        'sum',
        'by',
        'rate',
        'count_over_time',
        'topic',
        'source',
        '=',
        ',',
        '1',
        '-',
        '/',
        'or',
        '>',
        'line_format',
        '"{{.a}}"',
        'drop',
        'keep',
        ' ',
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 24 }).map((p) => p.join('')),
          ),
          async (query) => {
            const response = await fetch(`${server.url}/loki/api/v1/query_range?query=${encodeURIComponent(query)}&${span}&step=60`, {
              headers: BASIC,
            });
            await response.body?.cancel();
            assert.ok(
              response.status === 200 || response.status === 400 || response.status === 422,
              `${JSON.stringify(query)}: ${response.status}`,
            );
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}
