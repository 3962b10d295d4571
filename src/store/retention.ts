import { likePattern, type RetentionRule } from '../schema/retention-rules.js';
import type { RuleCutoff, Store, TopicCursor } from './index.js';

export interface RetentionOptions {
  /** Events received longer ago are deleted; undefined: kept forever (topics no rule matches, with rules). */
  retentionMs: number | undefined;
  /** Keys claimed longer ago are forgotten; undefined: the same as retentionMs. */
  dedupRetentionMs: number | undefined;
  /** RETENTION_RULES, first match wins; the two windows above are the default. Empty: one cutoff for all. */
  rules?: readonly RetentionRule[];
  /** With rules: topics read per delete statement (each costs one index probe). */
  topicsPerStatement?: number;
  /**
   * With rules: a key committed this long after its received_at (its batch's start) is still found by the next
   * key slice, which starts where the last one ended (or at the database's clock then, if earlier), less this;
   * and a quiet spell (no row due) ends this much early.
   * Longer than a batch can run (the server passes twice STORE_TIMEOUT_MS, PostgreSQL's statement timeout, plus a
   * minute); default 2 minutes.
   */
  keySliceMarginMs?: number;
  /** Rows per delete transaction: small, so no transaction holds row locks long enough to stall ingest. */
  batchSize?: number;
  /** Pause between passes; by default a twentieth of the window, from 100 ms to one minute. */
  intervalMs?: number;
  onPass?: (pass: RetentionPass) => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

export interface RetentionPass {
  events: number;
  keys: number;
  durationMs: number;
}

export interface RetentionJob {
  /** Runs one pass now (tests, and the first pass at start). */
  runOnce(): Promise<RetentionPass>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

type JobStore = Pick<Store, 'expireEvents' | 'expireKeys' | 'expireEventsByRules' | 'expireKeysByRules' | 'reclaim'>;

// PGlite runs no autovacuum: VACUUM after this many deletions (or the first deletion in RECLAIM_AFTER_MS); the
// deletion runner (src/store/deletion.ts) keeps the same cadence.
export const RECLAIM_EVERY_ROWS = 20_000;
export const RECLAIM_AFTER_MS = 10 * 60_000;

/**
 * The retention job: deletes expired events, then expired keys, in small transactions until a pass finds no more,
 * then sleeps. Any number of replicas may run it: two deleting the same rows delete and count each row once.
 */
export function startRetention(store: JobStore, options: RetentionOptions): RetentionJob {
  const batchSize = options.batchSize ?? 1000;
  const rules = options.rules ?? [];
  const shortest = Math.min(...[options.retentionMs, ...rules.map((rule) => rule.eventsMs)].map((ms) => ms ?? Infinity));
  if (shortest === Infinity) throw new Error('startRetention needs a finite window');
  const intervalMs = options.intervalMs ?? Math.min(60_000, Math.max(100, Math.floor(shortest / 20)));
  const keyWindowMs = options.dedupRetentionMs ?? options.retentionMs;
  const now = options.now ?? Date.now;
  const byRules = rules.length > 0 ? rulesPass(store, options, batchSize, now, () => stopped) : undefined;
  let deletedSinceReclaim = 0;
  let lastReclaim = now();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RetentionPass> | undefined;
  let stopped = false;

  const drain = async (expire: (cutoff: Date, limit: number) => Promise<number>, windowMs: number): Promise<number> => {
    let total = 0;
    for (;;) {
      const deleted = await expire(new Date(now() - windowMs), batchSize);
      total += deleted;
      if (deleted < batchSize || stopped) return total;
      // Let queued commits through between delete batches (PGlite has one connection for both).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };

  const pass = async (): Promise<RetentionPass> => {
    const started = now();
    let events = 0;
    let keys = 0;
    if (byRules) {
      ({ events, keys } = await byRules());
    } else if (options.retentionMs !== undefined && keyWindowMs !== undefined) {
      events = await drain((cutoff, limit) => store.expireEvents(cutoff, limit), options.retentionMs);
      keys = await drain((cutoff, limit) => store.expireKeys(cutoff, limit), keyWindowMs);
    }
    deletedSinceReclaim += events + keys;
    if (deletedSinceReclaim >= RECLAIM_EVERY_ROWS || (deletedSinceReclaim > 0 && now() - lastReclaim >= RECLAIM_AFTER_MS)) {
      await store.reclaim();
      deletedSinceReclaim = 0;
      lastReclaim = now();
    }
    return { events, keys, durationMs: now() - started };
  };

  const runOnce = (): Promise<RetentionPass> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = (): void => {
    runOnce()
      .then(
        (result) => {
          if (result.events > 0 || result.keys > 0) options.onPass?.(result);
        },
        (err: unknown) => options.onError?.(err),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, 0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

const yieldToCommits = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One pass under RETENTION_RULES. Events: every topic, a page at a time in name order, each against its own
 * window (EXPIRE_EVENTS_BY_RULES). Keys: one slice of received_at per distinct key window, from where that
 * window's last completed slice ended (less a margin; the first pass of a process reads from the beginning).
 */
function rulesPass(
  store: JobStore,
  options: RetentionOptions,
  batchSize: number,
  now: () => number,
  stopped: () => boolean,
): () => Promise<{ events: number; keys: number }> {
  const rules = options.rules ?? [];
  const topicsPerStatement = options.topicsPerStatement ?? 1000;
  const marginMs = options.keySliceMarginMs ?? 120_000;
  const eventWindows = [
    ...rules.map((rule) => ({ tenant: rule.tenant, glob: rule.pattern, ms: rule.eventsMs })),
    { tenant: undefined, glob: '*', ms: options.retentionMs },
  ];
  const keyWindows = [
    ...rules.map((rule) => ({ tenant: rule.tenant, glob: rule.pattern, ms: rule.keysMs ?? rule.eventsMs })),
    { tenant: undefined, glob: '*', ms: options.dedupRetentionMs ?? options.retentionMs },
  ];
  const cutoffs = (windows: typeof eventWindows, at: number): RuleCutoff[] =>
    windows.map((w) => ({ tenant: w.tenant, like: likePattern(w.glob), cutoff: w.ms === undefined ? undefined : new Date(at - w.ms) }));
  const sliceWindows = [...new Set(keyWindows.map((w) => w.ms).filter((ms): ms is number => ms !== undefined))];
  const sliceDone = new Map<number, number>();

  // After a pass that found nothing due: no row can come due before this (the page's oldest rows against their
  // windows, and any row received later against the shortest window), less the margin for late commits and for
  // received_at running a batch's length behind seq order. Passes before it skip the walk over every topic.
  const shortestMs = Math.min(...eventWindows.map((w) => w.ms ?? Infinity));
  let quietUntil: number | undefined;

  const expireEvents = async (): Promise<number> => {
    const started = now();
    if (quietUntil !== undefined && started < quietUntil) return 0;
    let soonest = started + shortestMs - marginMs;
    let total = 0;
    let from: TopicCursor = { tenant: '', topic: '', inclusive: false };
    let pageSize = topicsPerStatement;
    for (;;) {
      const at = now();
      const page = await store.expireEventsByRules(cutoffs(eventWindows, at), from, pageSize, batchSize);
      total += page.deleted;
      if (page.dueInMs !== undefined) soonest = Math.min(soonest, at + page.dueInMs - marginMs);
      if (stopped()) return total;
      if (page.deleted >= batchSize && page.lastDeletedTopic !== undefined) {
        // The batch filled: the topics before the last one it deleted from are done, that one may hold more.
        from = { ...page.lastDeletedTopic, inclusive: true };
        // Every topic of a page is probed, but a full batch may have drawn on a few: the next page is sized to
        // about twice as many topics as this batch took, not to the whole page again.
        pageSize = Math.min(topicsPerStatement, Math.max(16, 2 * page.topicsDeletedFrom));
      } else if (page.scanned < pageSize || page.lastTopic === undefined) {
        quietUntil = total === 0 ? soonest : undefined;
        return total;
      } else {
        from = { ...page.lastTopic, inclusive: false };
        pageSize = topicsPerStatement;
      }
      await yieldToCommits();
    }
  };

  const expireKeys = async (): Promise<number> => {
    let total = 0;
    for (const windowMs of sliceWindows) {
      const to = now() - windowMs;
      const done = sliceDone.get(windowMs);
      const from = done === undefined ? undefined : new Date(done - marginMs);
      let readUpTo = to;
      for (;;) {
        const { deleted, dbNow } = await store.expireKeysByRules(cutoffs(keyWindows, now()), from, new Date(to), batchSize);
        // A key committed later is received (by the database's clock) after dbNow less a transaction's length,
        // even when this clock runs ahead of the database's.
        readUpTo = Math.min(readUpTo, dbNow);
        total += deleted;
        if (stopped()) return total;
        if (deleted < batchSize) break;
        await yieldToCommits();
      }
      sliceDone.set(windowMs, readUpTo);
    }
    return total;
  };

  return async () => ({ events: await expireEvents(), keys: await expireKeys() });
}
