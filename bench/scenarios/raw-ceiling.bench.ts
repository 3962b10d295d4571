import { measureRawCeiling } from '../db-limit.js';
import { type BenchContext, figure, type Scenario } from '../scenario.js';

/** The physical limit the ingest figures are compared with, measured in the same run on the same database. */
export const rawCeilingScenario: Scenario = {
  id: 'raw-ceiling',
  title: 'Raw ceiling (bare pg client)',
  async run(ctx: BenchContext) {
    const rows = ctx.quick ? 10_000 : 200_000;
    const connections = ctx.quick ? [1, 2] : [1, 2, 4, 8];
    const samples = await measureRawCeiling({ adminUrl: ctx.adminUrl, rows, dupRate: 0.3, batchSize: 1000, connections, runs: ctx.runs });
    const figures = connections.map((c) => figure(`${c} connection${c === 1 ? '' : 's'}`, 'rows/s', samples.get(c) ?? []));
    const best = figures.reduce((a, b) => (b.median > a.median ? b : a));
    ctx.rawCeiling = best.median;
    ctx.log(`raw ceiling ${Math.round(best.median)} rows/s at ${best.name}`);
    return {
      title: this.title,
      workload: `${rows.toLocaleString('en')} rows, 30% duplicates, batches of 1,000, INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING, one transaction per batch`,
      figures: [...figures, { ...best, name: `ceiling (best: ${best.name})` }],
      verified: true,
    };
  },
};
