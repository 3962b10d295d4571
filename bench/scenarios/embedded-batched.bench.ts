import { type BenchContext, figure, publishOnce, type Scenario } from '../scenario.js';

/**
 * The batched scenario on the embedded store (PGlite, one writer, a flush per group commit), and the same with
 * EMBEDDED_SYNC=off, alternating run by run, so the price of the flushes is measured under the same conditions.
 */
export const embeddedBatchedScenario: Scenario = {
  id: 'embedded-batched',
  title: 'Batched ingest (embedded PGlite)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const rate: number[] = [];
    const p99: number[] = [];
    const rss: number[] = [];
    const unsynced: number[] = [];
    let verified = true;
    for (let run = 0; run < ctx.runs; run++) {
      const { report, peakRssMb } = await publishOnce(ctx, { kind: 'pglite' }, options);
      verified &&= report.ok;
      rate.push(report.eventsPerSecond);
      p99.push(report.latencyMs.p99);
      rss.push(peakRssMb);
      const off = await publishOnce(ctx, { kind: 'pglite' }, options, { EMBEDDED_SYNC: 'off' });
      verified &&= off.report.ok;
      unsynced.push(off.report.eventsPerSecond);
    }
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates`,
      figures: [
        figure('throughput', 'events/s', rate, { op: '>=', value: 10_000 }),
        figure('throughput with EMBEDDED_SYNC=off (no fsync; not durable)', 'events/s', unsynced),
        figure(
          'flushes on ÷ off',
          'ratio',
          rate.map((r, i) => r / (unsynced[i] ?? r)),
        ),
        figure('request latency p99', 'ms', p99),
        figure('server peak RSS', 'MiB', rss, { op: '<=', value: 250 }),
      ],
      verified,
    };
  },
};
