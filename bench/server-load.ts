import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Stats } from '../src/schema/stats.js';
import { startAggregator } from './aggregator.js';
import { type LoadOptions, type LoadReport, runLoad } from './load-generator.js';
import { type BenchContext, POSTGRES } from './scenario.js';

/**
 * CPU time (ms) the PostgreSQL backends serving `databaseUrl` have used over their lives (this run's warm-up and
 * timed requests; the migrations ran on a connection closed before this is read): what the database spends per
 * event beside the server. Linux /proc only,
 * and only when the database runs on this machine; NaN otherwise.
 */
async function databaseCpuMs(adminUrl: string, databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      new URL(databaseUrl).pathname.slice(1),
    ]);
    let ticks = 0;
    for (const { pid } of rows) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    // USER_HZ is 100 on every Linux architecture.
    return rows.length === 0 ? Number.NaN : ticks * 10;
  } catch {
    return Number.NaN;
  } finally {
    await client.end();
  }
}

/** The server's group commits over the run (warm-up included), from its own /metrics. */
export interface CommitCycle {
  /** Mean events per committed batch. */
  batchEvents: number;
  /** Mean time from a batch leaving the queue to its answer from the store, ms. */
  commitMs: number;
}

/** Reads logagg_batch_events and logagg_batch_commit_seconds (sums and counts) from the server at `url`. */
async function commitCycle(url: string): Promise<CommitCycle> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    batchEvents: value('logagg_batch_events_sum') / value('logagg_batch_events_count'),
    commitMs: (value('logagg_batch_commit_seconds_sum') * 1000) / value('logagg_batch_commit_seconds_count'),
  };
}

export interface ServerLoad {
  report: LoadReport;
  rssMb: number;
  /** PostgreSQL backends' CPU per request sent (warm-up included), µs. */
  databaseCpuUs: number;
  cycle: CommitCycle;
  /** Every request answered 200 and /stats counted every copy and every distinct event exactly once. */
  verified: boolean;
}

/**
 * Whether the generators' `answered` requests all got 200 and /stats at `url` (a fresh database) counted every copy
 * and every distinct event they sent, once; what differs is logged.
 */
export async function countsAgree(ctx: BenchContext, url: string, reports: readonly LoadReport[], answered: number): Promise<boolean> {
  const stats = (await (await fetch(`${url}/stats`)).json()) as Stats;
  const sum = (pick: (r: LoadReport) => number): number => reports.reduce((n, r) => n + pick(r), 0);
  const ok =
    sum((r) => r.statuses['200'] ?? 0) === answered &&
    stats.received === sum((r) => r.events) &&
    stats.unique_processed === sum((r) => r.distinct);
  if (!ok)
    ctx.log(
      `verification FAILED: answers ${reports.map((r) => JSON.stringify(r.statuses)).join(' ')}, received ${stats.received} of ` +
        `${sum((r) => r.events)}, unique ${stats.unique_processed} of ${sum((r) => r.distinct)}`,
    );
  return ok;
}

/**
 * The lean generator (bench/load-generator.ts, its own process) against a fresh PostgreSQL aggregator, then the
 * aggregator's /stats checked against what was sent: the server's figure without the publisher's CPU beside it.
 */
export async function loadServer(ctx: BenchContext, options: Omit<LoadOptions, 'url'>): Promise<ServerLoad> {
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
  try {
    const report = await runLoad({ ...options, url: aggregator.url, cpuPid: aggregator.pid });
    const requests = options.warmup + options.requests;
    const databaseCpuUs = ((await databaseCpuMs(ctx.adminUrl, aggregator.databaseUrl as string)) * 1000) / requests;
    const cycle = await commitCycle(aggregator.url);
    const verified = await countsAgree(ctx, aggregator.url, [report], requests);
    return { report, rssMb: aggregator.peakRssMb(), databaseCpuUs, cycle, verified };
  } finally {
    await aggregator.stop();
  }
}
