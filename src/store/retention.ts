import type { Store } from './index.js';

export interface RetentionOptions {
  /** Events received longer ago are deleted. */
  retentionMs: number;
  /** Keys claimed longer ago are forgotten; undefined: the same as retentionMs. */
  dedupRetentionMs: number | undefined;
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

// PGlite runs no autovacuum: VACUUM after this many deletions (or the first deletion in RECLAIM_AFTER_MS).
const RECLAIM_EVERY_ROWS = 20_000;
const RECLAIM_AFTER_MS = 10 * 60_000;

/**
 * The retention job: deletes expired events, then expired keys, in small transactions until a pass finds no more,
 * then sleeps. Any number of replicas may run it: two deleting the same rows delete and count each row once.
 */
export function startRetention(store: Pick<Store, 'expireEvents' | 'expireKeys' | 'reclaim'>, options: RetentionOptions): RetentionJob {
  const batchSize = options.batchSize ?? 1000;
  const intervalMs = options.intervalMs ?? Math.min(60_000, Math.max(100, Math.floor(options.retentionMs / 20)));
  const keyWindowMs = options.dedupRetentionMs ?? options.retentionMs;
  const now = options.now ?? Date.now;
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
    const events = await drain((cutoff, limit) => store.expireEvents(cutoff, limit), options.retentionMs);
    const keys = await drain((cutoff, limit) => store.expireKeys(cutoff, limit), keyWindowMs);
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
