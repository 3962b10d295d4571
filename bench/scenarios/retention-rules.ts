import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RetentionRule } from '../../src/schema/retention-rules.js';
import { createStore, type Store } from '../../src/store/index.js';
import { startRetention } from '../../src/store/retention.js';
import { createScratchDatabase } from '../aggregator.js';
import type { BenchContext } from '../scenario.js';

const DAY = 86_400_000;

/** Rules shaped like a real configuration, the bench topics under the last one. */
const RULES: RetentionRule[] = [
  { pattern: 'debug.*', eventsMs: 3 * DAY, keysMs: undefined },
  { pattern: 'payments.*', eventsMs: 400 * DAY, keysMs: 800 * DAY },
  { pattern: 'audit.*', eventsMs: undefined, keysMs: undefined },
  { pattern: 'bench.*', eventsMs: 3 * DAY, keysMs: undefined },
];

export interface PassTimes {
  /** A fresh job's first pass when nothing is due (every topic probed, with rules), ms. */
  idleSingle: number;
  idleRules: number;
  /** The pass after it (with rules: skipped until the first row can come due), ms. */
  quietSingle: number;
  quietRules: number;
  /** A pass that deletes every row, rows/s. */
  deleteSingle: number;
  deleteRules: number;
}

async function fill(store: Store, topics: number, perTopic: number): Promise<void> {
  const events = [];
  for (let t = 0; t < topics; t++) {
    for (let i = 0; i < perTopic; i++) {
      events.push({ topic: `bench.${t}`, event_id: `e${i}`, timestamp: new Date().toISOString(), source: 'bench', payload: { i } });
    }
  }
  for (let at = 0; at < events.length; at += 1000) await store.insertBatch(events.slice(at, at + 1000));
}

/**
 * A fresh job's first two passes, timed from outside (the job's own clock is moved by days): the first walks every
 * topic; with rules, a second that follows a pass which found nothing due skips the walk (the quiet spell).
 */
async function timedPasses(store: Store, rules: RetentionRule[], retentionMs: number): Promise<{ first: number; second: number }> {
  let started = performance.now();
  const job = startRetention(store, { retentionMs, dedupRetentionMs: undefined, rules, intervalMs: 3_600_000 });
  try {
    await job.runOnce(); // joins the pass the job's timer starts at once
    const first = performance.now() - started;
    started = performance.now();
    await job.runOnce();
    return { first, second: performance.now() - started };
  } finally {
    await job.stop();
  }
}

/**
 * Retention passes on PostgreSQL over many topics, one cutoff (RETENTION) against RETENTION_RULES: a pass that finds
 * nothing to delete, and a pass deleting every row (each topic holds `perTopic` rows). The rules pass probes every
 * topic; the single-cutoff pass reads the head of the seq index.
 */
export async function passOverTopics(ctx: BenchContext, topics: number, perTopic: number): Promise<PassTimes> {
  const db = await createScratchDatabase(ctx.adminUrl, 'rules');
  const dataDir = mkdtempSync(join(tmpdir(), 'logagg-bench-rules-'));
  const store = await createStore({ databaseUrl: db.url, dataDir, workers: 2, keepKeys: true });
  try {
    await store.migrate();
    await fill(store, topics, perTopic);
    const single = await timedPasses(store, [], 30 * DAY);
    const ruled = await timedPasses(store, RULES, 30 * DAY);
    const rows = topics * perTopic;
    // Deleting: the first pass of a fresh job at a clock 4 days on deletes everything; timed from the job's start.
    const deleting = async (rules: RetentionRule[]): Promise<number> => {
      const started = performance.now();
      const job = startRetention(store, {
        retentionMs: 3 * DAY,
        dedupRetentionMs: undefined,
        rules,
        intervalMs: 3_600_000,
        now: () => Date.now() + 4 * DAY,
      });
      const pass = await job.runOnce();
      await job.stop();
      if (pass.events !== rows) throw new Error(`the pass deleted ${pass.events} of ${rows} rows`);
      return rows / ((performance.now() - started) / 1000);
    };
    const deleteSingle = await deleting([]);
    await fill(store, topics, perTopic); // the same keys again: new, their rows and keys were deleted
    const deleteRules = await deleting(RULES);
    ctx.log(
      `${topics} topics × ${perTopic}: idle pass ${single.first.toFixed(1)} ms (one cutoff) vs ${ruled.first.toFixed(1)} ms (rules), ` +
        `the next ${single.second.toFixed(1)} ms vs ${ruled.second.toFixed(1)} ms; ` +
        `deleting ${Math.round(deleteSingle)} rows/s vs ${Math.round(deleteRules)}`,
    );
    return {
      idleSingle: single.first,
      idleRules: ruled.first,
      quietSingle: single.second,
      quietRules: ruled.second,
      deleteSingle,
      deleteRules,
    };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}
