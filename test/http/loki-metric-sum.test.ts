import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { post } from '../helpers/events.js';
import { LEVEL, LINES, LOKI_EVENTS, SECONDS, T0 } from '../helpers/loki-data.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

/*
 * A sum over a range aggregation is counted by the store grouped by the labels the sum keeps (src/query/logql/
 * range.ts), on whole-microsecond bounds with date_bin, else with the exact numeric form (src/store/logql-sql.ts).
 * Every combination below is checked against a count made here from the fixed data set: windows (t − range, t],
 * bounds on and off the microsecond, ranges that are and are not multiples of the step.
 */

interface Matrix {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
}

const NS = 1_000_000_000n;
const IDS = Object.keys(SECONDS);
const byId = new Map(LOKI_EVENTS.map((e) => [e.event_id, e]));

/** The labels of an event's series before the sum (stream labels and detected_level). */
function labelsOf(id: string): Record<string, string> {
  const e = byId.get(id);
  if (e === undefined) throw new Error(`no event ${id}`);
  return { topic: e.topic, source: e.source, service_name: e.source, detected_level: LEVEL[id] as string };
}

/** The expected matrix: per kept label set, the count (or UTF-8 bytes) per step, steps without events left out. */
function expected(
  selected: (id: string) => boolean,
  keep: (name: string) => boolean,
  measure: 'count' | 'bytes',
  startNs: bigint,
  stepNs: bigint,
  rangeNs: bigint,
  steps: number,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let k = 0; k < steps; k++) {
    const t = startNs + stepNs * BigInt(k);
    for (const id of IDS.filter(selected)) {
      const x = BigInt(T0 + (SECONDS[id] as number)) * NS;
      if (!(x > t - rangeNs && x <= t)) continue;
      const labels = Object.fromEntries(Object.entries(labelsOf(id)).filter(([name]) => keep(name)));
      const key = JSON.stringify(Object.entries(labels).sort());
      const values = out.get(key) ?? new Array<number>(steps).fill(0);
      values[k] = (values[k] as number) + (measure === 'count' ? 1 : Buffer.byteLength(LINES[id] as string));
      out.set(key, values);
    }
  }
  return out;
}

const GROUPINGS: Array<[string, (name: string) => boolean]> = [
  ['by (topic)', (name) => name === 'topic'],
  ['by (service_name)', (name) => name === 'service_name'],
  ['by (source, detected_level)', (name) => name === 'source' || name === 'detected_level'],
  ['without (detected_level)', (name) => name !== 'detected_level'],
  ['without (topic, source)', (name) => name !== 'topic' && name !== 'source'],
  ['', () => false],
];

// [start offset from T0 in ns, step, range]: on the second, off the microsecond (1 ns), a range that is not a
// multiple of the step, a step longer than the range, and windows starting before the first event.
const BOUNDS: Array<[bigint, string, string]> = [
  [0n, '60s', '1m'],
  [0n, '10s', '30s'],
  [1n, '60s', '2m'],
  [-500_000_000n, '7s', '45s'],
  [-30n * NS, '40s', '25s'],
  [1_000n, '15s', '1m30s'],
];

/**
 * Selectors: `.+` (no regex at all), and label regexes, which the store applies per stream after counting (a
 * negated one too); the latter over two of the bounds.
 */
const SELECTORS: Array<[string, (id: string) => boolean, typeof BOUNDS]> = [
  ['{topic=~".+"}', () => true, BOUNDS],
  ['{topic=~"sh.p|nothing"}', (id) => byId.get(id)?.topic === 'shop', [BOUNDS[0], BOUNDS[3]] as typeof BOUNDS],
  ['{topic=~".+", source!~"w.*"}', (id) => byId.get(id)?.source.startsWith('w') === false, [BOUNDS[1], BOUNDS[2]] as typeof BOUNDS],
];

const duration = (text: string): bigint => {
  const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (match === null) throw new Error(text);
  return (BigInt(match[1] ?? 0) * 60n + BigInt(match[2] ?? 0)) * NS;
};

for (const kind of storeKinds()) {
  describe(`sum over a range aggregation, counted by the store [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);
    before(async () => {
      assert.equal((await post(`${server.url}/publish`, LOKI_EVENTS)).status, 200);
    });

    for (const [selector, selected, bounds] of SELECTORS) {
      for (const [offset, step, range] of bounds) {
        for (const [grouping, keep] of GROUPINGS) {
          for (const [op, measure] of [
            ['count_over_time', 'count'],
            ['bytes_over_time', 'bytes'],
          ] as const) {
            const query = `sum ${grouping} (${op}(${selector}[${range}]))`;
            test(`${query}, start T0${offset >= 0n ? '+' : ''}${offset} ns, step ${step}`, async () => {
              const startNs = BigInt(T0) * NS + offset;
              const stepNs = duration(step);
              const endNs = startNs + 130n * NS;
              const steps = Number((endNs - startNs) / stepNs) + 1;
              const search = new URLSearchParams({ query, start: startNs.toString(), end: endNs.toString(), step });
              const response = await fetch(`${server.url}/loki/api/v1/query_range?${search}`);
              const body = (await response.json()) as Matrix;
              assert.equal(response.status, 200, JSON.stringify(body));
              const got = new Map<string, number[]>();
              for (const series of body.data.result) {
                const values = new Array<number>(steps).fill(0);
                for (const [time, value] of series.values) {
                  const k = Math.round((time - Number(startNs) / 1e9) / (Number(stepNs) / 1e9));
                  values[k] = Number(value);
                }
                got.set(JSON.stringify(Object.entries(series.metric).sort()), values);
              }
              assert.deepEqual(got, expected(selected, keep, measure, startNs, stepNs, duration(range), steps));
            });
          }
        }
      }
    }
  });
}
