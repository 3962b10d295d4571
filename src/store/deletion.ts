import { RECLAIM_AFTER_MS, RECLAIM_EVERY_ROWS } from './retention.js';
import type { Store } from './index.js';

export interface DeletionRunnerOptions {
  /** Rows per delete transaction (DELETION_BATCH_SIZE): small, so no transaction holds row locks for long. */
  batchSize: number;
  /** Pause between looks for jobs when idle; a job accepted here is started at once (wake). */
  intervalMs?: number;
  /** After each delete transaction, the rows it deleted (the metrics count them). */
  onDeleted?: (rows: number) => void;
  onJobDone?: (job: { id: string; deleted: number }) => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

export interface DeletionRunner {
  /** Looks for work now (after a job was accepted). */
  wake(): void;
  /** Runs until no job has work left that this runner can take (tests). */
  runOnce(): Promise<number>;
  /** Stops looking and waits for a batch in progress. */
  stop(): Promise<void>;
}

type RunnerStore = Pick<Store, 'openDeletionJobs' | 'deleteBatch' | 'finishDeletion' | 'reclaim'>;

const yieldToCommits = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The deletion jobs' runner, on every replica: takes the unfinished jobs oldest first and deletes their marked
 * rows in batches until none is left, then marks each done. Its state is the marks in the database, so a job
 * killed mid-way resumes at the next start, and replicas take different batches (FOR UPDATE SKIP LOCKED). PGlite's
 * space is reclaimed on the retention job's cadence (src/store/retention.ts).
 */
export function startDeletionRunner(store: RunnerStore, options: DeletionRunnerOptions): DeletionRunner {
  const intervalMs = options.intervalMs ?? 5000;
  const now = options.now ?? Date.now;
  let deletedSinceReclaim = 0;
  let lastReclaim = now();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = false;

  const runJob = async (id: string): Promise<number> => {
    let total = 0;
    for (;;) {
      const batch = await store.deleteBatch(id, options.batchSize);
      total += batch.deleted;
      deletedSinceReclaim += batch.deleted;
      if (batch.deleted > 0) options.onDeleted?.(batch.deleted);
      // None free: done, or another replica holds the last batches (it finishes the job then).
      if (batch.unmarked === 0 || stopped) break;
      await yieldToCommits();
    }
    if (!stopped && (await store.finishDeletion(id))) options.onJobDone?.({ id, deleted: total });
    return total;
  };

  const pass = async (): Promise<number> => {
    let total = 0;
    for (const id of await store.openDeletionJobs(100)) {
      if (stopped) break;
      total += await runJob(id);
    }
    if (deletedSinceReclaim >= RECLAIM_EVERY_ROWS || (deletedSinceReclaim > 0 && now() - lastReclaim >= RECLAIM_AFTER_MS)) {
      await store.reclaim();
      deletedSinceReclaim = 0;
      lastReclaim = now();
    }
    return total;
  };

  const runOnce = (): Promise<number> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = (): void => {
    clearTimeout(timer);
    timer = undefined;
    again = false;
    runOnce()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        if (stopped) return;
        // A job accepted while a pass ran is taken at once; otherwise look again after the interval.
        timer = setTimeout(tick, again ? 0 : intervalMs);
      });
  };
  timer = setTimeout(tick, 0);

  return {
    wake() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(tick, 0);
    },
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
