import { runPublisher } from '../../src/cli/publish-run.js';
import { startAggregator } from '../aggregator.js';
import { probe } from '../drive.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

const TOPICS = 5;

/** Read latency with a million stored events: a topic page of 100, and /stats (which must not count the table). */
export const queryLatencyScenario: Scenario = {
  id: 'query-latency',
  title: 'Query latency (PostgreSQL)',
  async run(ctx: BenchContext) {
    const stored = ctx.quick ? 20_000 : 1_000_000;
    const probes = ctx.quick ? 50 : 1_000;
    const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
    try {
      // No duplicates, big batches: the fastest honest way to fill through the aggregator's own write path.
      const fill = await runPublisher({
        url: aggregator.url,
        events: stored,
        dupRate: 0,
        topics: TOPICS,
        batch: 1000,
        concurrency: 8,
        seed: 42,
        payloadBytes: 100,
        topicPrefix: 'bench',
      });
      ctx.log(
        `filled ${fill.sent} events in ${(fill.elapsedMs / 1000).toFixed(1)} s (${Math.round(fill.eventsPerSecond)}/s), verified ${fill.ok}`,
      );
      const events = { p50: [] as number[], p99: [] as number[] };
      const stats = { p50: [] as number[], p99: [] as number[] };
      for (let run = 0; run < ctx.runs; run++) {
        const page = await probe(
          aggregator.url,
          probes,
          (i) => `/events?topic=${encodeURIComponent(fill.topics[i % TOPICS] ?? '')}&limit=100`,
        );
        const counters = await probe(aggregator.url, probes, () => '/stats');
        events.p50.push(page.p50);
        events.p99.push(page.p99);
        stats.p50.push(counters.p50);
        stats.p99.push(counters.p99);
        ctx.log(
          `GET /events p50 ${page.p50.toFixed(2)} ms p99 ${page.p99.toFixed(2)} ms; GET /stats p50 ${counters.p50.toFixed(2)} ms p99 ${counters.p99.toFixed(2)} ms`,
        );
      }
      return {
        title: this.title,
        workload: `${stored.toLocaleString('en')} stored events over ${TOPICS} topics; ${probes} sequential requests per figure per run, keep-alive`,
        figures: [
          figure('GET /events?topic=…&limit=100 p50', 'ms', events.p50, { op: '<=', value: 5 }),
          figure('GET /events?topic=…&limit=100 p99', 'ms', events.p99),
          figure('GET /stats p50', 'ms', stats.p50, { op: '<=', value: 2 }),
          figure('GET /stats p99', 'ms', stats.p99),
          figure('server peak RSS', 'MiB', [aggregator.peakRssMb()], { op: '<=', value: 250 }),
        ],
        verified: fill.ok,
      };
    } finally {
      await aggregator.stop();
    }
  },
};
