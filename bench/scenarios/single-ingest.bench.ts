import { startBareServer } from '../bare-server.js';
import { type LoadOptions, type LoadReport, runLoad } from '../load-generator.js';
import { type BenchContext, figure, type Scenario } from '../scenario.js';
import { loadServer, type ServerLoad as Measured } from '../server-load.js';

// One unique event per POST from a lean generator in its own process (bench/load-generator.ts), against the
// aggregator and against a bare node:http server that only parses the JSON (bench/bare-server.ts), alternating
// run by run: the ratio is the share of what Node's HTTP stack allows on this machine that the server reaches.
// The publisher (src/cli/publish-run.ts) is not used here: it validates, retries and counts every answer, and it
// ran out of CPU before the server did (docs/performance.md).

type Target = 'server' | 'bare';

async function measure(ctx: BenchContext, target: Target, options: Omit<LoadOptions, 'url'>): Promise<Measured> {
  if (target === 'bare') {
    const bare = await startBareServer();
    try {
      const report = await runLoad({ ...options, url: bare.url, cpuPid: bare.pid });
      const verified = report.statuses['200'] === options.warmup + options.requests;
      const cycle = { batchEvents: Number.NaN, commitMs: Number.NaN };
      return { report, rssMb: Number.NaN, databaseCpuUs: Number.NaN, cycle, verified };
    } finally {
      await bare.stop();
    }
  }
  return loadServer(ctx, options);
}

export const singleIngestScenario: Scenario = {
  id: 'single-ingest',
  title: 'Single-event ingest (PostgreSQL)',
  async run(ctx: BenchContext) {
    const options = {
      path: '/publish',
      connections: ctx.quick ? 20 : 100,
      warmup: ctx.quick ? 500 : 5_000,
      requests: ctx.quick ? 2_000 : 50_000,
      topics: 5,
      payloadBytes: 100,
    };
    const samples: Record<Target, LoadReport[]> = { server: [], bare: [] };
    const rss: number[] = [];
    const databaseCpu: number[] = [];
    const cycles: Measured['cycle'][] = [];
    let verified = true;
    for (let run = 0; run < ctx.runs; run++) {
      // Alternate which goes first, so neither always gets the quieter half of a run.
      const order: Target[] = run % 2 === 0 ? ['bare', 'server'] : ['server', 'bare'];
      for (const target of order) {
        const result = await measure(ctx, target, { ...options, prefix: `bench.single.${run}` });
        verified &&= result.verified;
        samples[target].push(result.report);
        if (target === 'server') {
          rss.push(result.rssMb);
          databaseCpu.push(result.databaseCpuUs);
          cycles.push(result.cycle);
        }
        const { rate, p50, p99, serverCpuUs, generatorCpuUs } = result.report;
        ctx.log(
          `${target}: ${Math.round(rate)} requests/s, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
            `CPU per request: server ${serverCpuUs.toFixed(0)} µs, generator ${generatorCpuUs.toFixed(0)} µs`,
        );
      }
    }
    const of = (target: Target, pick: (r: LoadReport) => number): number[] => samples[target].map(pick);
    return {
      title: this.title,
      workload:
        `${options.requests.toLocaleString('en')} POSTs of one unique event each (after ${options.warmup.toLocaleString('en')} ` +
        `untimed), ${options.connections} keep-alive connections, no pipelining, from bench/load-generator.ts in its own ` +
        'process; the same load on a bare node:http server that only parses the JSON (bench/bare-server.ts), alternating',
      figures: [
        figure(
          'throughput',
          'events/s',
          of('server', (r) => r.rate),
          { op: '>=', value: 12_000 },
        ),
        figure(
          'bare node:http JSON server (ceiling)',
          'events/s',
          of('bare', (r) => r.rate),
        ),
        figure(
          'throughput ÷ bare ceiling (same run)',
          'ratio',
          samples.server.map((r, i) => r.rate / (samples.bare[i]?.rate ?? Number.NaN)),
          { op: '>=', value: 0.5 },
        ),
        figure(
          'request latency p50',
          'ms',
          of('server', (r) => r.p50),
        ),
        figure(
          'request latency p99',
          'ms',
          of('server', (r) => r.p99),
          { op: '<=', value: 50 },
        ),
        figure(
          'bare server latency p99',
          'ms',
          of('bare', (r) => r.p99),
        ),
        figure(
          'server CPU per request',
          'µs',
          of('server', (r) => r.serverCpuUs),
        ),
        figure(
          'bare server CPU per request',
          'µs',
          of('bare', (r) => r.serverCpuUs),
        ),
        figure('PostgreSQL CPU per request', 'µs', databaseCpu),
        figure(
          'load generator CPU per request (server runs)',
          'µs',
          of('server', (r) => r.generatorCpuUs),
        ),
        // With every connection waiting for a commit, throughput is at most flushers × events per batch ÷ commit
        // time: beside PostgreSQL's CPU per request, these split a commit's time into its work and its waiting.
        figure(
          'events per batch (mean)',
          'events',
          cycles.map((c) => c.batchEvents),
        ),
        figure(
          'batch commit time (mean)',
          'ms',
          cycles.map((c) => c.commitMs),
        ),
        figure('server peak RSS', 'MiB', rss, { op: '<=', value: 250 }),
      ],
      verified,
    };
  },
};
