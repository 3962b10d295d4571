import { runPublisher, type PublisherReport } from '../../src/cli/publish-run.js';
import { type Aggregator, startAggregator } from '../aggregator.js';
import { type BenchContext, figure, POSTGRES, replicaOf, type Scenario } from '../scenario.js';

/** Two publishers, each half the load; returns the events per second of the whole (both done). */
async function drive(ctx: BenchContext, urls: [string, string], events: number): Promise<{ rate: number; ok: boolean }> {
  const half = { events: events / 2, dupRate: 0.3, topics: 5, batch: 100, concurrency: 8, payloadBytes: 100 };
  const started = performance.now();
  const reports: PublisherReport[] = await Promise.all(
    urls.map((url, i) => runPublisher({ ...half, url, seed: 42 + i, topicPrefix: `bench${i}` })),
  );
  const elapsed = performance.now() - started;
  const sent = reports.reduce((n, r) => n + r.sent, 0);
  const ok = reports.every((r) => r.ok);
  if (!ok) ctx.log(`verification FAILED: ${reports.flatMap((r) => r.errors).join('; ')}`);
  return { rate: (sent / elapsed) * 1000, ok };
}

/**
 * One replica against two on one PostgreSQL, the same load either way: two publishers of half the events each,
 * both at the one replica or one at each. Batches of different replicas commit in parallel (no commit lock), so
 * a second replica can add commit capacity where the database has cores to spare.
 */
export const replicasScenario: Scenario = {
  id: 'replicas',
  title: 'Replicas: 2 vs 1 (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 4_000 : 200_000;
    const one: number[] = [];
    const two: number[] = [];
    let verified = true;
    for (let run = 0; run < ctx.runs; run++) {
      const single = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
      try {
        const result = await drive(ctx, [single.url, single.url], events);
        one.push(result.rate);
        verified &&= result.ok;
      } finally {
        await single.stop();
      }
      const first = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
      let second: Aggregator | undefined;
      try {
        second = await startAggregator(replicaOf(ctx, first), ctx.entry, {}, ctx.nodeArgs);
        const result = await drive(ctx, [first.url, second.url], events);
        two.push(result.rate);
        verified &&= result.ok;
      } finally {
        await second?.stop();
        await first.stop();
      }
      ctx.log(`1 replica ${Math.round(one[run] ?? 0)}/s, 2 replicas ${Math.round(two[run] ?? 0)}/s`);
    }
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events from two publishers (batches of 100, 8 in flight each, 30% duplicates) to one replica or one each to two`,
      figures: [
        figure('1 replica', 'events/s', one),
        figure('2 replicas', 'events/s', two),
        figure(
          '2 ÷ 1',
          'ratio',
          two.map((r, i) => r / (one[i] as number)),
          { op: '>=', value: 1 },
        ),
      ],
      verified,
    };
  },
};
