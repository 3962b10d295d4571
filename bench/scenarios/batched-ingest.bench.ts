import { type BenchContext, figure, POSTGRES, publishRuns, type Scenario } from '../scenario.js';
import { loadServer, type ServerLoad } from '../server-load.js';

/**
 * Batched ingest on PostgreSQL, driven two ways in the same run, alternating: by the publisher (src/client, in
 * the bench's process: what a user's own client reaches) and by the lean generator in its own process
 * (bench/load-generator.ts: every request built before the clock starts), the same stream either way. The raw
 * ceiling sends batches it built beforehand too, so the server's share of it is the lean generator's figure
 * (docs/performance.md, "Batched ingest without the publisher's CPU").
 */
export const batchedIngestScenario: Scenario = {
  id: 'batched-ingest',
  title: 'Batched ingest (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const lean: ServerLoad[] = [];
    const published = { rate: [] as number[], p99: [] as number[], rss: [] as number[], verified: true };
    for (let run = 0; run < ctx.runs; run++) {
      const viaPublisher = async (): Promise<void> => {
        const { rate, p99, rss, verified } = await publishRuns({ ...ctx, runs: 1 }, POSTGRES(ctx), options);
        published.rate.push(...rate);
        published.p99.push(...p99);
        published.rss.push(...rss);
        published.verified &&= verified;
      };
      const viaGenerator = async (): Promise<void> => {
        const result = await loadServer(ctx, {
          path: '/publish',
          connections: options.concurrency,
          batch: options.batch,
          dupRate: options.dupRate,
          warmup: Math.round(events / options.batch / 10),
          requests: events / options.batch,
          topics: options.topics,
          payloadBytes: options.payloadBytes,
          prefix: `bench.batched.${run}`,
        });
        lean.push(result);
        const { rate, p99, serverCpuUs, generatorCpuUs } = result.report;
        ctx.log(
          `lean generator: ${Math.round(rate * options.batch)} events/s, p99 ${p99.toFixed(1)} ms, CPU per event: ` +
            `server ${(serverCpuUs / options.batch).toFixed(1)} µs, PostgreSQL ${(result.databaseCpuUs / options.batch).toFixed(1)} µs, ` +
            `generator ${(generatorCpuUs / options.batch).toFixed(1)} µs`,
        );
      };
      // Alternate which goes first, so neither always gets the quieter half of a run.
      for (const drive of run % 2 === 0 ? [viaPublisher, viaGenerator] : [viaGenerator, viaPublisher]) await drive();
    }
    const leanRate = lean.map((r) => r.report.rate * options.batch);
    const perEvent = (pick: (r: ServerLoad) => number): number[] => lean.map((r) => pick(r) / options.batch);
    const ceiling = ctx.rawCeiling;
    const ofCeiling = (rates: number[]): number[] => rates.map((r) => r / (ceiling ?? Number.NaN));
    return {
      title: this.title,
      workload:
        `${events.toLocaleString('en')} events (the lean generator 10% more before the clock starts), batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates; ` +
        'from the publisher (src/client, in the bench process) and from bench/load-generator.ts (its own process), alternating',
      figures: [
        figure('throughput (publisher)', 'events/s', published.rate, { op: '>=', value: 40_000 }),
        figure('throughput (lean generator)', 'events/s', leanRate),
        ...(ceiling
          ? [
              figure('publisher ÷ raw ceiling', 'ratio', ofCeiling(published.rate)),
              figure('lean generator ÷ raw ceiling', 'ratio', ofCeiling(leanRate), { op: '>=', value: 0.7 }),
            ]
          : []),
        figure('request latency p99 (publisher)', 'ms', published.p99),
        figure(
          'request latency p99 (lean generator)',
          'ms',
          lean.map((r) => r.report.p99),
        ),
        figure(
          'server CPU per event (lean generator)',
          'µs',
          perEvent((r) => r.report.serverCpuUs),
        ),
        figure(
          'PostgreSQL CPU per event (lean generator, warm-up included)',
          'µs',
          perEvent((r) => r.databaseCpuUs),
        ),
        figure(
          'lean generator CPU per event',
          'µs',
          perEvent((r) => r.report.generatorCpuUs),
        ),
        figure('server peak RSS', 'MiB', [...published.rss, ...lean.map((r) => r.rssMb)], { op: '<=', value: 250 }),
      ],
      verified: published.verified && lean.every((r) => r.verified),
    };
  },
};
