import { createClient } from '../../src/client/index.js';
import { latencySummary } from '../../src/cli/percentiles.js';
import type { TopicsPage } from '../../src/schema/stats.js';
import { type BenchStore, startAggregator } from '../aggregator.js';
import { type BenchContext, figure, type Figure, POSTGRES, type Scenario } from '../scenario.js';

const BATCH = 5000;
const PROBE_EVERY_MS = 5;

const topicName = (i: number): string => `tenant-${String(i).padStart(6, '0')}.logs`;

/** Publishes one event to each of `topics` topics, and a second copy to every tenth (so counts differ). */
async function fill(url: string, topics: number): Promise<void> {
  const client = createClient({ url, concurrency: 4, timeoutMs: 120_000 });
  try {
    const bodies: string[] = [];
    for (let start = 0; start < topics; start += BATCH) {
      const events = [];
      for (let i = start; i < Math.min(topics, start + BATCH); i++) {
        const event = { topic: topicName(i), event_id: 'e1', timestamp: '2025-10-21T10:00:00Z', source: 'bench', payload: { i } };
        events.push(event);
        if (i % 10 === 0) events.push(event);
      }
      bodies.push(JSON.stringify(events));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < bodies.length) await client.publishRaw(bodies[next++] as string);
      }),
    );
  } finally {
    client.close();
  }
}

/** The aggregator's event-loop delay since the previous scrape (prom-client resets its histogram on each one), ms. */
async function loopLagMaxMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = /^logagg_nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text);
  return line ? Number(line[1]) * 1000 : Number.NaN;
}

interface Probe {
  p50: number;
  p99: number;
  bytes: number;
  /** The slowest GET /health sent every few ms on another connection meanwhile: what any other client waited. */
  healthMaxMs: number;
  /** The server's own largest event-loop delay over the probe (monitorEventLoopDelay via prom-client). */
  loopMaxMs: number;
}

/** Probes GET /health every few ms on a connection of its own until stopped; resolves to the slowest answer (ms). */
function healthProber(url: string): { stop(): Promise<number> } {
  const health = createClient({ url, concurrency: 1 });
  let running = true;
  let slowest = 0;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      await health.get('/health');
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
    health.close();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return slowest;
    },
  };
}

/** Times `count` sequential GETs of path(i) on one connection while /health is probed on another. */
async function probe(url: string, count: number, path: (i: number, last: string) => string): Promise<Probe> {
  const client = createClient({ url, concurrency: 1 });
  try {
    await loopLagMaxMs(url);
    const prober = healthProber(url);
    const samples = new Float64Array(count);
    let bytes = 0;
    let last = '';
    for (let i = 0; i < count; i++) {
      const target = path(i, last);
      const started = performance.now();
      const res = await client.get(target);
      samples[i] = performance.now() - started;
      if (res.status !== 200) throw new Error(`GET ${target} answered ${res.status}: ${res.body.slice(0, 200)}`);
      bytes = Math.max(bytes, Buffer.byteLength(res.body));
      if (target.startsWith('/topics')) last = (JSON.parse(res.body) as TopicsPage).next ?? '';
    }
    const healthMaxMs = await prober.stop();
    const loopMaxMs = await loopLagMaxMs(url);
    const summary = latencySummary(samples);
    return { p50: summary.p50, p99: summary.p99, bytes, healthMaxMs, loopMaxMs };
  } finally {
    client.close();
  }
}

/** The same stall figures with no request but the probes: what the loaded machine alone costs. */
async function idle(url: string, ms: number): Promise<number> {
  await loopLagMaxMs(url);
  const prober = healthProber(url);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return Math.max(await prober.stop(), await loopLagMaxMs(url));
}

const cursor = (last: string): string => (last === '' ? '' : `&after=${encodeURIComponent(last)}`);

async function measure(ctx: BenchContext, store: BenchStore, label: string, topics: number, probes: number): Promise<Figure[]> {
  const aggregator = await startAggregator(store, ctx.entry, {}, ctx.nodeArgs);
  try {
    const started = performance.now();
    await fill(aggregator.url, topics);
    ctx.log(`${label}: ${topics.toLocaleString('en')} topics published in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const runs = { stats: [] as Probe[], topics: [] as Probe[], rare: [] as Probe[] };
    const baseline: number[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      baseline.push(await idle(aggregator.url, 3000));
      ctx.log(`${label} idle: longest stall ${(baseline[baseline.length - 1] as number).toFixed(1)} ms with no request but the probes`);
      runs.stats.push(await probe(aggregator.url, probes, () => '/stats'));
      // Walks the list page by page, as a client reading every topic does.
      runs.topics.push(await probe(aggregator.url, probes, (_i, last) => `/topics?limit=100${cursor(last)}`));
      // A search that matches nothing: each request reads its whole budget of names.
      runs.rare.push(await probe(aggregator.url, Math.ceil(probes / 4), (_i, last) => `/topics?q=no-such-tenant${cursor(last)}`));
      for (const [name, p] of Object.entries(runs)) {
        const latest = p[p.length - 1] as Probe;
        ctx.log(
          `${label} ${name}: p50 ${latest.p50.toFixed(2)} ms p99 ${latest.p99.toFixed(2)} ms, ${latest.bytes} B, ` +
            `/health max ${latest.healthMaxMs.toFixed(1)} ms, event-loop delay max ${latest.loopMaxMs.toFixed(1)} ms`,
        );
      }
    }
    const pick = (list: Probe[], key: keyof Probe) => list.map((p) => p[key]);
    const stall = (list: Probe[]) => list.map((p) => Math.max(p.healthMaxMs, p.loopMaxMs));
    return [
      figure(
        `${label} GET /stats size`,
        'KiB',
        pick(runs.stats, 'bytes').map((b) => b / 1024),
        { op: '<=', value: 64 },
      ),
      figure(`${label} GET /stats p50`, 'ms', pick(runs.stats, 'p50'), { op: '<=', value: 5 }),
      figure(`${label} GET /stats p99`, 'ms', pick(runs.stats, 'p99')),
      figure(`${label} GET /topics?limit=100 p50`, 'ms', pick(runs.topics, 'p50')),
      figure(`${label} GET /topics?q=<no match> p50 (10,000 names read)`, 'ms', pick(runs.rare, 'p50')),
      figure(`${label} longest stall, idle (3 s, probes only)`, 'ms', baseline),
      figure(`${label} longest stall during /stats`, 'ms', stall(runs.stats), { op: '<=', value: 50 }),
      figure(`${label} longest stall during /topics`, 'ms', stall([...runs.topics, ...runs.rare]), { op: '<=', value: 50 }),
    ];
  } finally {
    await aggregator.stop();
  }
}

/** Many topics (issue 14 §1.3): /stats stays small and fast, /topics pages, and neither stalls the process. */
export const topicsScenario: Scenario = {
  id: 'topics',
  title: 'Many topics (PostgreSQL and embedded)',
  async run(ctx: BenchContext) {
    const topics = ctx.quick ? 10_000 : 100_000;
    const probes = ctx.quick ? 50 : 400;
    const figures = [
      ...(await measure(ctx, POSTGRES(ctx), 'PostgreSQL', topics, probes)),
      ...(await measure(ctx, { kind: 'pglite' }, 'embedded', topics, probes)),
    ];
    return {
      title: this.title,
      workload:
        `${topics.toLocaleString('en')} topics (one event each, a copy on every tenth); ${probes} sequential requests per ` +
        `figure per run, keep-alive; stall = the larger of the slowest /health probed every ${PROBE_EVERY_MS} ms on ` +
        'another connection and the server’s event-loop delay max over the probe',
      figures,
      verified: true,
    };
  },
};
