import { type BenchContext, figure, POSTGRES, publishOnce, type Scenario } from '../scenario.js';

/** The original brief's workload, end to end: 20,000 events with 30% duplicates, batched and one per POST. */
export const briefWorkloadScenario: Scenario = {
  id: 'brief-workload',
  title: "Brief's workload (PostgreSQL)",
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 2_000 : 20_000;
    const shapes = [
      { label: 'batched (100 per request, 16 in flight)', batch: 100, concurrency: 16, target: 1.5 },
      { label: 'single-event (100 connections)', batch: 1, concurrency: ctx.quick ? 20 : 100, target: 3 },
    ];
    const wall = shapes.map((): number[] => []);
    const rss: number[] = [];
    let verified = true;
    for (let run = 0; run < ctx.runs; run++) {
      for (const [i, shape] of shapes.entries()) {
        const { report, peakRssMb } = await publishOnce(ctx, POSTGRES(ctx), {
          events,
          dupRate: 0.3,
          topics: 5,
          batch: shape.batch,
          concurrency: shape.concurrency,
          payloadBytes: 100,
        });
        verified &&= report.ok;
        wall[i]?.push(report.elapsedMs / 1000);
        rss.push(peakRssMb);
      }
    }
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, 30% duplicates; wall time from the first request to the last answer`,
      figures: [
        ...shapes.map((shape, i) => figure(`wall time, ${shape.label}`, 's', wall[i] ?? [], { op: '<=', value: shape.target })),
        figure('server peak RSS', 'MiB', rss, { op: '<=', value: 250 }),
      ],
      verified,
    };
  },
};
