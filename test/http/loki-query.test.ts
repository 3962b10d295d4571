import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeEvent, post } from '../helpers/events.js';
import { LEVEL, LINES, LOKI_EVENTS, ns, SECONDS, T0 } from '../helpers/loki-data.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

interface Streams {
  status: string;
  data: { resultType: string; encodingFlags?: string[]; result: Array<{ stream: Record<string, string>; values: unknown[][] }> };
}
interface Samples {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; values?: unknown[][]; value?: unknown[] }> };
}

const CATEGORIZE = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
const stream = (topic: string, source: string) => ({ service_name: source, source, topic });
/** An entry as Loki encodes it with categorize-labels: [ns, line, {structuredMetadata, parsed?}]. */
const entry = (id: string, parsed?: Record<string, string>) => [
  ns(SECONDS[id] as number),
  LINES[id],
  { structuredMetadata: { detected_level: LEVEL[id] }, ...(parsed ? { parsed } : {}) },
];

for (const kind of storeKinds()) {
  describe(`Loki query API over a fixed data set [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    before(async () => {
      const reply = await post(`${server.url}/publish`, LOKI_EVENTS);
      assert.equal(reply.status, 200);
    });

    async function range<T>(query: string, params: Record<string, string>, headers: Record<string, string> = CATEGORIZE) {
      const search = new URLSearchParams({ query, start: ns(0), end: ns(121), ...params });
      const response = await fetch(`${server.url}/loki/api/v1/query_range?${search}`, { headers });
      return { status: response.status, body: (await response.json()) as T };
    }
    async function instant<T>(query: string, seconds: number) {
      const search = new URLSearchParams({ query, time: ns(seconds) });
      const response = await fetch(`${server.url}/loki/api/v1/query?${search}`, { headers: CATEGORIZE });
      return { status: response.status, body: (await response.json()) as T };
    }
    const logs = async (query: string, params: Record<string, string> = {}) => {
      const reply = await range<Streams>(query, params);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.data.resultType, 'streams');
      return reply.body.data.result;
    };

    const logCases: Array<[string, string, Record<string, string>, Array<{ stream: Record<string, string>; values: unknown[][] }>]> = [
      [
        'backward by default, streams sorted by labels, same-instant entries by commit order',
        '{topic="shop"}',
        {},
        [
          { stream: stream('shop', 'api'), values: [entry('e6'), entry('e5'), entry('e2'), entry('e1')] },
          { stream: stream('shop', 'worker'), values: [entry('e7'), entry('e3')] },
        ],
      ],
      [
        'forward with a limit takes the oldest',
        '{topic="shop"}',
        { direction: 'forward', limit: '2' },
        [{ stream: stream('shop', 'api'), values: [entry('e1'), entry('e2')] }],
      ],
      [
        'start is inclusive and end exclusive',
        '{topic="shop"}',
        { start: ns(10), end: ns(60), direction: 'FORWARD' },
        [
          { stream: stream('shop', 'api'), values: [entry('e2')] },
          { stream: stream('shop', 'worker'), values: [entry('e3')] },
        ],
      ],
      [
        'chained line filters',
        '{topic=~"shop|auth"} |= "order 42" != "retry"',
        {},
        [{ stream: stream('shop', 'api'), values: [entry('e2'), entry('e1')] }],
      ],
      [
        'a case-insensitive regex line filter',
        '{service_name="api"} |~ "(?i)STATUS=5\\\\d{2}"',
        {},
        [{ stream: stream('shop', 'api'), values: [entry('e6')] }],
      ],
      [
        'or between line filter values',
        '{topic="shop"} |= "café ☕" or "retry"',
        {},
        [
          { stream: stream('shop', 'api'), values: [entry('e5')] },
          { stream: stream('shop', 'worker'), values: [entry('e3')] },
        ],
      ],
      [
        '| json parses a whole-payload line; __error__="" drops lines that are not JSON',
        '{source="api"} | json | __error__=""',
        {},
        [{ stream: stream('auth', 'api'), values: [entry('e4', { level: 'ERR', path: '/login', user: 'é' })] }],
      ],
      [
        '| logfmt and a numeric label filter',
        '{topic="shop"} | logfmt | status >= 500',
        {},
        [{ stream: stream('shop', 'api'), values: [entry('e6', { duration: '1.5s', status: '500' })] }],
      ],
      [
        'a duration label filter',
        '{topic="shop"} | logfmt | duration > 1s',
        {},
        [{ stream: stream('shop', 'api'), values: [entry('e6', { duration: '1.5s', status: '500' })] }],
      ],
      [
        'line_format over nested JSON fields, numbers as written',
        '{topic="shop", source="worker"} | json | __error__="" | line_format "{{.nested_k}}-{{.n}}"',
        {},
        [
          {
            stream: stream('shop', 'worker'),
            values: [[ns(90), 'v-1.50', { structuredMetadata: { detected_level: 'debug' }, parsed: { n: '1.50', nested_k: 'v' } }]],
          },
        ],
      ],
      [
        'detected_level as a label filter (pushed down)',
        '{topic=~".+"} | detected_level="error"',
        {},
        [
          { stream: stream('auth', 'api'), values: [entry('e4')] },
          { stream: stream('shop', 'api'), values: [entry('e2')] },
        ],
      ],
      [
        'a case-insensitive regex label filter on a stream label',
        '{topic="shop"} | source=~"(?i)WORK.+"',
        {},
        [{ stream: stream('shop', 'worker'), values: [entry('e7'), entry('e3')] }],
      ],
      [
        'a label no stream has compares as ""',
        '{topic="auth", app!="x"}',
        {},
        [{ stream: stream('auth', 'api'), values: [entry('e8'), entry('e4')] }],
      ],
      ['no stream matches', '{topic="nope"}', {}, []],
      ['a line filter nothing matches', '{topic="shop"} |= "zzz"', {}, []],
    ];
    for (const [name, query, params, expected] of logCases) {
      test(`logs: ${name}: ${query}`, async () => {
        assert.deepEqual(await logs(query, params), expected);
      });
    }

    test('logs without categorize-labels: every label is a stream label and values are pairs; keep narrows them', async () => {
      const reply = await range<Streams>('{topic="auth"} | json | __error__="" | keep path', {}, {});
      assert.equal(reply.status, 200);
      assert.equal(reply.body.data.encodingFlags, undefined);
      assert.deepEqual(reply.body.data.result, [{ stream: { path: '/login' }, values: [[ns(30), LINES.e4]] }]);
      const plain = await range<Streams>('{topic="auth"} |= "login ok"', {}, {});
      assert.deepEqual(plain.body.data.result, [
        { stream: { ...stream('auth', 'api'), detected_level: 'unknown' }, values: [[ns(120), 'login ok']] },
      ]);
    });

    const t = (seconds: number) => T0 + seconds;
    const matrix = async (query: string, params: Record<string, string> = {}) => {
      const reply = await range<Samples>(query, { start: ns(0), end: ns(120), step: '60000ms', ...params });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.data.resultType, 'matrix');
      return reply.body.data.result;
    };
    const vector = async (query: string, seconds: number) => {
      const reply = await instant<Samples>(query, seconds);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.data.resultType, 'vector');
      return reply.body.data.result;
    };
    const series = (labels: Record<string, string>, level: string) => ({ ...labels, detected_level: level });

    test('count_over_time per stream and level: each step t counts (t - range, t]', async () => {
      assert.deepEqual(await matrix('count_over_time({topic="shop"}[1m])'), [
        { metric: series(stream('shop', 'worker'), 'debug'), values: [[t(120), '1']] },
        { metric: series(stream('shop', 'api'), 'error'), values: [[t(60), '1']] },
        {
          metric: series(stream('shop', 'api'), 'info'),
          values: [
            [t(0), '1'],
            [t(60), '1'],
          ],
        },
        { metric: series(stream('shop', 'api'), 'warn'), values: [[t(60), '1']] },
        { metric: series(stream('shop', 'worker'), 'warn'), values: [[t(60), '1']] },
      ]);
    });

    test('sum by (topic) over overlapping windows (range 2m, step 1m)', async () => {
      assert.deepEqual(await matrix('sum by (topic) (count_over_time({topic=~".+"}[2m]))'), [
        {
          metric: { topic: 'auth' },
          values: [
            [t(60), '1'],
            [t(120), '2'],
          ],
        },
        {
          metric: { topic: 'shop' },
          values: [
            [t(0), '1'],
            [t(60), '5'],
            [t(120), '5'],
          ],
        },
      ]);
    });

    test("Grafana's volume query groups by level and detected_level after | drop __error__", async () => {
      assert.deepEqual(await matrix('sum by (level, detected_level) (count_over_time({topic="shop"} | drop __error__ [1m]))'), [
        { metric: { detected_level: 'debug' }, values: [[t(120), '1']] },
        { metric: { detected_level: 'error' }, values: [[t(60), '1']] },
        {
          metric: { detected_level: 'info' },
          values: [
            [t(0), '1'],
            [t(60), '1'],
          ],
        },
        { metric: { detected_level: 'warn' }, values: [[t(60), '2']] },
      ]);
    });

    test('an instant window excludes its start and includes its end', async () => {
      assert.deepEqual(await vector('sum(count_over_time({topic="shop"}[60s]))', 60), [{ metric: {}, value: [t(60), '4'] }]);
      assert.deepEqual(await vector('sum(count_over_time({topic="shop"}[60s]))', 59), [{ metric: {}, value: [t(59), '3'] }]);
    });

    test('rate divides by the range in seconds; bytes count UTF-8 bytes', async () => {
      assert.deepEqual(await vector('sum(rate({topic="shop"}[1m]))', 60), [{ metric: {}, value: [t(60), String(4 / 60)] }]);
      const bytes = Buffer.byteLength(LINES.e5 as string) + Buffer.byteLength(LINES.e6 as string);
      assert.deepEqual(await vector('sum(bytes_over_time({topic="shop"} |= "status=" [1m]))', 60), [
        { metric: {}, value: [t(60), String(bytes)] },
      ]);
      assert.deepEqual(await vector('bytes_rate({topic="shop"} |= "café" [2s])', 60), [
        { metric: series(stream('shop', 'api'), 'info'), value: [t(60), String(Buffer.byteLength(LINES.e5 as string) / 2)] },
      ]);
    });

    test('a metric over a parsed label runs the pipeline in JavaScript', async () => {
      assert.deepEqual(await vector('sum by (status) (count_over_time({topic="shop"} | logfmt | status=~".+" [2m]))', 120), [
        { metric: { status: '200' }, value: [t(120), '1'] },
        { metric: { status: '500' }, value: [t(120), '1'] },
      ]);
    });

    test('topk keeps the largest series; arithmetic and comparisons between vectors and scalars', async () => {
      assert.deepEqual(await vector('topk(1, sum by (source) (count_over_time({topic="shop"}[5m])))', 120), [
        { metric: { source: 'api' }, value: [t(120), '4'] },
      ]);
      assert.deepEqual(await vector('sum by (source) (count_over_time({topic="shop"}[5m])) * 2 > 5', 120), [
        { metric: { source: 'api' }, value: [t(120), '8'] },
      ]);
      assert.deepEqual(await vector('sum by (source) (count_over_time({topic="shop"}[5m])) > bool 3', 120), [
        { metric: { source: 'api' }, value: [t(120), '1'] },
        { metric: { source: 'worker' }, value: [t(120), '0'] },
      ]);
    });

    test('a metric query meeting a JSON error fails as Loki fails it', async () => {
      const reply = await instant<{ error: string; message: string }>('count_over_time({topic="shop"} | json [1m])', 60);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'LOGQL_PIPELINE_ERROR');
      assert.match(reply.body.message, /^pipeline error: 'JSONParserErr' for series: /);
    });

    test('no matching stream gives an empty matrix and an empty vector', async () => {
      assert.deepEqual(await matrix('count_over_time({topic="nope"}[1m])'), []);
      assert.deepEqual(await vector('sum(count_over_time({topic="shop"}[1m]))', 600), []);
    });

    test('entries at one instant come in commit order past seq 9 (ties sort by the seq number, not its text)', async () => {
      const at = new Date((T0 + 500) * 1000).toISOString();
      const ties = Array.from({ length: 12 }, (_, i) => makeEvent('ties', `t${i}`, { timestamp: at, payload: { message: `tie ${i}` } }));
      assert.equal((await post(`${server.url}/publish`, ties)).status, 200);
      for (const direction of ['forward', 'backward']) {
        const reply = await range<Streams>('{topic="ties"}', { start: ns(500), end: ns(501), direction }, {});
        const lines = reply.body.data.result.flatMap((s) => s.values.map((v) => v[1]));
        const expected = ties.map((_, i) => `tie ${i}`);
        assert.deepEqual(lines, direction === 'forward' ? expected : expected.reverse());
      }
    });
  });
}
