import pg from 'pg';
import { runPublisher } from '../../src/cli/publish-run.js';
import type { Stats } from '../../src/schema/stats.js';
import { startAggregator } from '../aggregator.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';
import { passOverTopics } from './retention-rules.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stats = async (url: string): Promise<Stats> => (await fetch(`${url}/stats`)).json() as Promise<Stats>;

/** Bytes on disk per row of a table (heap, indexes, TOAST), after VACUUM so dead rows do not count. */
async function bytesPerRow(databaseUrl: string, table: 'events' | 'event_keys'): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`VACUUM ANALYZE ${table}`);
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT (pg_total_relation_size('${table}')::numeric / greatest(count(*), 1))::text AS bytes FROM ${table}`,
    );
    return Number(rows[0]?.bytes);
  } finally {
    await client.end();
  }
}

/**
 * One timed batched run on an aggregator that holds an expired backlog. With RETENTION set, the job deletes that
 * backlog while the timed run publishes; without it, nothing is deleted. Returns events/s and rows deleted meanwhile.
 */
async function ingestBesideBacklog(
  ctx: BenchContext,
  withJob: boolean,
  events: number,
  retentionS: number,
): Promise<{ rate: number; deleted: number; ok: boolean }> {
  // The job starts at once but finds nothing to delete until the backlog is retentionS old.
  const env: Record<string, string> = withJob ? { RETENTION: `${retentionS}s` } : {};
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, env, ctx.nodeArgs);
  try {
    const options = { dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const filled = Date.now();
    await runPublisher({ ...options, events: events * 2, url: aggregator.url, seed: 7, topicPrefix: 'backlog' });
    await sleep(Math.max(0, filled + retentionS * 1000 + 500 - Date.now()));
    const before = (await stats(aggregator.url)).expired;
    const report = await runPublisher({ ...options, events, url: aggregator.url, seed: 42, topicPrefix: 'bench' });
    const deleted = (await stats(aggregator.url)).expired - before;
    ctx.log(`${withJob ? 'job running' : 'no job'}: ${Math.round(report.eventsPerSecond)} ev/s, ${deleted} rows deleted during the run`);
    return { rate: report.eventsPerSecond, deleted, ok: report.ok };
  } finally {
    await aggregator.stop();
  }
}

/** Batched ingest with DEDUP_RETENTION (keys claimed in a second table) or without; bytes per key and per event. */
async function ingestWithKeys(
  ctx: BenchContext,
  keys: boolean,
  events: number,
): Promise<{ rate: number; keyBytes: number; eventBytes: number; ok: boolean }> {
  const env: Record<string, string> = keys ? { RETENTION: '30d', DEDUP_RETENTION: '365d' } : { RETENTION: '30d' };
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, env, ctx.nodeArgs);
  try {
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const report = await runPublisher({ ...options, url: aggregator.url, seed: 42, topicPrefix: 'bench' });
    const databaseUrl = aggregator.databaseUrl as string;
    const keyBytes = keys ? await bytesPerRow(databaseUrl, 'event_keys') : Number.NaN;
    const eventBytes = await bytesPerRow(databaseUrl, 'events');
    ctx.log(
      `${keys ? 'DEDUP_RETENTION' : 'RETENTION only'}: ${Math.round(report.eventsPerSecond)} ev/s${keys ? `, ${keyBytes.toFixed(0)} B/key` : ''}, ${eventBytes.toFixed(0)} B/event`,
    );
    return { rate: report.eventsPerSecond, keyBytes, eventBytes, ok: report.ok };
  } finally {
    await aggregator.stop();
  }
}

/**
 * Retention's price on PostgreSQL: ingest while the job deletes a backlog twice the run's size versus no job, and
 * the DEDUP_RETENTION key table's cost in ingest speed and bytes per key. Runs alternate, so both sides of each
 * ratio see the same machine.
 */
export const retentionScenario: Scenario = {
  id: 'retention',
  title: 'Retention and the dedup window (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 100_000;
    const retentionS = ctx.quick ? 2 : 10;
    const withJob: number[] = [];
    const withoutJob: number[] = [];
    const deleted: number[] = [];
    const keyed: number[] = [];
    const unkeyed: number[] = [];
    const keyBytes: number[] = [];
    const eventBytes: number[] = [];
    const topics = ctx.quick ? 1_000 : 20_000;
    const perTopic = 5;
    const passes: Awaited<ReturnType<typeof passOverTopics>>[] = [];
    let verified = true;
    for (let run = 0; run < ctx.runs; run++) {
      passes.push(await passOverTopics(ctx, topics, perTopic));
      const on = await ingestBesideBacklog(ctx, true, events, retentionS);
      const off = await ingestBesideBacklog(ctx, false, events, retentionS);
      const k = await ingestWithKeys(ctx, true, events * 2);
      const plain = await ingestWithKeys(ctx, false, events * 2);
      verified &&= on.ok && off.ok && k.ok && plain.ok;
      withJob.push(on.rate);
      withoutJob.push(off.rate);
      deleted.push(on.deleted);
      keyed.push(k.rate);
      unkeyed.push(plain.rate);
      keyBytes.push(k.keyBytes);
      eventBytes.push(plain.eventBytes);
    }
    return {
      title: this.title,
      workload:
        `${events.toLocaleString('en')} events published beside a ${(events * 2).toLocaleString('en')}-event expired backlog (RETENTION=${retentionS}s vs unset); ` +
        `${(events * 2).toLocaleString('en')} events with DEDUP_RETENTION vs RETENTION only; batches of 100, 16 in flight, 30% duplicates; ` +
        `one retention pass over ${topics.toLocaleString('en')} topics × ${perTopic} rows, one cutoff vs RETENTION_RULES (4 rules)`,
      figures: [
        figure('ingest while the job deletes', 'events/s', withJob),
        figure('ingest without the job', 'events/s', withoutJob),
        figure(
          'with job ÷ without',
          'ratio',
          withJob.map((r, i) => r / (withoutJob[i] ?? r)),
        ),
        figure('rows the job deleted during the timed run', 'rows', deleted),
        figure('ingest with DEDUP_RETENTION (key table)', 'events/s', keyed),
        figure('ingest with RETENTION only', 'events/s', unkeyed),
        figure(
          'key table ÷ without',
          'ratio',
          keyed.map((r, i) => r / (unkeyed[i] ?? r)),
        ),
        figure('key table size per key', 'bytes', keyBytes),
        figure('events table size per event (same run shape)', 'bytes', eventBytes),
        figure(
          'idle pass, one cutoff (nothing to delete)',
          'ms',
          passes.map((p) => p.idleSingle),
        ),
        figure(
          'idle pass, RETENTION_RULES (every topic probed)',
          'ms',
          passes.map((p) => p.idleRules),
        ),
        figure(
          'the next idle pass, one cutoff',
          'ms',
          passes.map((p) => p.quietSingle),
        ),
        figure(
          'the next idle pass, RETENTION_RULES (quiet spell: the topic walk skipped)',
          'ms',
          passes.map((p) => p.quietRules),
        ),
        figure(
          'pass deleting every row, one cutoff',
          'rows/s',
          passes.map((p) => p.deleteSingle),
        ),
        figure(
          'pass deleting every row, RETENTION_RULES',
          'rows/s',
          passes.map((p) => p.deleteRules),
        ),
        figure(
          'deleting: rules ÷ one cutoff',
          'ratio',
          passes.map((p) => p.deleteRules / p.deleteSingle),
        ),
      ],
      verified,
    };
  },
};
