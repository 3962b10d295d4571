import { type BenchContext, figure, POSTGRES, publishRuns, type Scenario } from '../scenario.js';

/** One event per POST from 100 connections: what group commit buys over one transaction per request. */
export const singleIngestScenario: Scenario = {
  id: 'single-ingest',
  title: 'Single-event ingest (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 2_000 : 50_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 1, concurrency: ctx.quick ? 20 : 100, payloadBytes: 100 };
    const { rate, p50, p99, rss, verified } = await publishRuns(ctx, POSTGRES(ctx), options);
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, 1 per POST, ${options.concurrency} connections, 30% duplicates`,
      figures: [
        figure('throughput', 'events/s', rate, { op: '>=', value: 12_000 }),
        figure('request latency p50', 'ms', p50),
        figure('request latency p99', 'ms', p99, { op: '<=', value: 50 }),
        figure('server peak RSS', 'MiB', rss, { op: '<=', value: 250 }),
      ],
      verified,
    };
  },
};
