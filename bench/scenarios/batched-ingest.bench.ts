import { type BenchContext, figure, POSTGRES, publishRuns, type Scenario } from '../scenario.js';

/** Batched ingest on PostgreSQL: the headline throughput, and its share of the raw ceiling. */
export const batchedIngestScenario: Scenario = {
  id: 'batched-ingest',
  title: 'Batched ingest (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const { rate, p99, rss, verified } = await publishRuns(ctx, POSTGRES(ctx), options);
    const ceiling = ctx.rawCeiling;
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates`,
      figures: [
        figure('throughput', 'events/s', rate, { op: '>=', value: 40_000 }),
        ...(ceiling
          ? [
              figure(
                '÷ raw ceiling',
                'ratio',
                rate.map((r) => r / ceiling),
                { op: '>=', value: 0.7 },
              ),
            ]
          : []),
        figure('request latency p99', 'ms', p99),
        figure('server peak RSS', 'MiB', rss, { op: '<=', value: 250 }),
      ],
      verified,
    };
  },
};
