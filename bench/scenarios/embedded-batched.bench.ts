import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPublisher } from '../../src/cli/publish-run.js';
import { npmStart, startAggregator } from '../aggregator.js';
import { type BenchContext, figure, publishOnce, type Scenario } from '../scenario.js';

/** Written by the server's initdb process into DATA_DIR/pgdata (src/store/pglite-create.ts). */
interface CreationRecord {
  initdb_ms: number;
  initdb_peak_rss_mib: number;
  server_rss_mib: number | null;
}

/**
 * The batched scenario on the embedded store (PGlite, one writer, a flush per group commit), and the same with
 * EMBEDDED_SYNC=off, alternating run by run, so the price of the flushes is measured under the same conditions.
 * Each run starts on an empty DATA_DIR, so the memory figures include the first start: the server's own peak, and
 * the process that creates the cluster (its peak, and its peak plus the waiting server's resident memory, what the
 * machine holds at once).
 */
export const embeddedBatchedScenario: Scenario = {
  id: 'embedded-batched',
  title: 'Batched ingest (embedded PGlite)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const rate: number[] = [];
    const p99: number[] = [];
    const startRss: number[] = [];
    const rss: number[] = [];
    const initdbRss: number[] = [];
    const firstStartRss: number[] = [];
    const startMs: number[] = [];
    const unsynced: number[] = [];
    let verified = true;
    // Started as `npm start` starts it (its environment and node flags), since the figures are those of the default.
    const start = npmStart();
    const asNpmStart = { ...ctx, nodeArgs: [...start.nodeArgs, ...ctx.nodeArgs] };
    for (let run = 0; run < ctx.runs; run++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'logagg-bench-embedded-'));
      try {
        const started = performance.now();
        const aggregator = await startAggregator({ kind: 'pglite' }, ctx.entry, { ...start.env, DATA_DIR: dataDir }, asNpmStart.nodeArgs);
        startMs.push(performance.now() - started);
        // The server's high-water mark once it answers: the first start (waiting for initdb, opening, migrating).
        startRss.push(aggregator.peakRssMb());
        try {
          const report = await runPublisher({ ...options, url: aggregator.url, seed: 42, topicPrefix: 'bench' });
          verified &&= report.ok;
          rate.push(report.eventsPerSecond);
          p99.push(report.latencyMs.p99);
          rss.push(aggregator.peakRssMb());
        } finally {
          await aggregator.stop();
        }
        const record = JSON.parse(readFileSync(join(dataDir, 'pgdata', 'logagg-created.json'), 'utf8')) as CreationRecord;
        initdbRss.push(record.initdb_peak_rss_mib);
        firstStartRss.push(record.initdb_peak_rss_mib + (record.server_rss_mib ?? Number.NaN));
        ctx.log(
          `first start ${Math.round(startMs.at(-1) as number)} ms (initdb ${record.initdb_ms} ms, peak ${record.initdb_peak_rss_mib} MiB beside a ${record.server_rss_mib} MiB server); ${Math.round(rate.at(-1) as number)}/s, p99 ${(p99.at(-1) as number).toFixed(1)} ms, server peak RSS ${(startRss.at(-1) as number).toFixed(0)} MiB at /health, ${(rss.at(-1) as number).toFixed(0)} MiB after the load`,
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      const off = await publishOnce(asNpmStart, { kind: 'pglite' }, options, { ...start.env, EMBEDDED_SYNC: 'off' });
      verified &&= off.report.ok;
      unsynced.push(off.report.eventsPerSecond);
    }
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates; each run from an empty DATA_DIR; started as npm start: ${[...Object.entries(start.env).map(([k, v]) => `${k}=${v}`), ...start.nodeArgs].join(' ') || 'no flags'}`,
      figures: [
        figure('throughput', 'events/s', rate, { op: '>=', value: 10_000 }),
        figure('throughput with EMBEDDED_SYNC=off (no fsync; not durable)', 'events/s', unsynced),
        figure(
          'flushes on ÷ off',
          'ratio',
          rate.map((r, i) => r / (unsynced[i] ?? r)),
        ),
        figure('request latency p99', 'ms', p99),
        figure('server peak RSS, first start (spawn to /health)', 'MiB', startRss, { op: '<=', value: 250 }),
        figure('server peak RSS, first start and load', 'MiB', rss, { op: '<=', value: 250 }),
        figure('initdb process peak RSS (first start)', 'MiB', initdbRss, { op: '<=', value: 250 }),
        figure('first start, initdb process + waiting server', 'MiB', firstStartRss, { op: '<=', value: 250 }),
        figure('first start: spawn to /health answering', 'ms', startMs),
      ],
      verified,
    };
  },
};
