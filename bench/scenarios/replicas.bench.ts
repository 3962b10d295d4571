import { type Aggregator, startAggregator } from '../aggregator.js';
import { type LoadReport, runLoad } from '../load-generator.js';
import { type BenchContext, figure, POSTGRES, replicaOf, type Scenario } from '../scenario.js';
import { countsAgree } from '../server-load.js';

/**
 * Two lean generators (bench/load-generator.ts, each its own process), each half the load, side by side; returns
 * the events per second of the whole, from the first timed request to the last answer, and whether /stats (one
 * database behind either URL) counted every copy and every distinct event once. Both first send a tenth of
 * their load untimed, and both warm-ups end before either timed part starts: each server process compiles its
 * hot path once, so without a common warm-up two replicas paid that twice inside the timed window and one paid it
 * once (the batched scenario warms up the same way).
 */
async function drive(ctx: BenchContext, urls: [string, string], events: number, run: number): Promise<{ rate: number; ok: boolean }> {
  const half = {
    path: '/publish',
    connections: 8,
    batch: 100,
    dupRate: 0.3,
    warmup: 0,
    requests: events / 2 / 100,
    topics: 5,
    payloadBytes: 100,
  };
  const warmRequests = Math.max(1, Math.round(half.requests / 10));
  const warmups: LoadReport[] = await Promise.all(
    urls.map((url, i) => runLoad({ ...half, requests: warmRequests, url, prefix: `bench.replicas.${run}.${i}.warm` })),
  );
  const reports: LoadReport[] = await Promise.all(urls.map((url, i) => runLoad({ ...half, url, prefix: `bench.replicas.${run}.${i}` })));
  const elapsed = Math.max(...reports.map((r) => r.endedAt)) - Math.min(...reports.map((r) => r.startedAt));
  const sent = reports.reduce((n, r) => n + r.events, 0);
  const ok = await countsAgree(ctx, urls[0], [...warmups, ...reports], 2 * (warmRequests + half.requests));
  return { rate: (sent / elapsed) * 1000, ok };
}

/**
 * One replica against two on one PostgreSQL, the same load either way: two generators of half the events each,
 * both at the one replica or one at each. Batches of different replicas commit in parallel (no commit lock), so
 * a second replica can add commit capacity where the database has cores to spare. Lean generators, not the
 * publisher: the publisher's CPU in the bench process would be a third party on the same two cores
 * (docs/performance.md, "Batched ingest without the publisher's CPU").
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
        const result = await drive(ctx, [single.url, single.url], events, run);
        one.push(result.rate);
        verified &&= result.ok;
      } finally {
        await single.stop();
      }
      const first = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
      let second: Aggregator | undefined;
      try {
        second = await startAggregator(replicaOf(ctx, first), ctx.entry, {}, ctx.nodeArgs);
        const result = await drive(ctx, [first.url, second.url], events, run);
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
      workload: `${events.toLocaleString('en')} events from two lean generators (bench/load-generator.ts: batches of 100, 8 in flight each, 30% duplicates; each first sends a tenth of its load untimed, both warm-ups ending before either timed part) to one replica or one each to two`,
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
