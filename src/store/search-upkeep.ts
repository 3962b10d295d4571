import type { Engine } from './engine.js';
import { SELECT_READ_HORIZON } from './sql.js';

/**
 * What autovacuum does for search on PostgreSQL, done for the embedded store, which runs none: ANALYZE, and
 * merging the word index's pending list. Without statistics the planner cannot tell a rare word from a common
 * one and walked the whole table for both (measured on 20,000 rows: 360 ms for a common word's newest 100 before
 * ANALYZE, 8 ms after; a rare word 140 ms, then 25 ms through the index). GIN's pending list (up to 4 MB of
 * recent rows not yet in the index proper) is read in full by every index scan; merging it keeps that short.
 * Run before a search once the table has grown by a tenth (at least 1,000 rows) since the last run.
 */
export function createSearchUpkeep(engine: Engine): () => Promise<void> {
  let analyzedAt: number | undefined;
  return async () => {
    const [row] = await engine.query<{ horizon: string }>(SELECT_READ_HORIZON, []);
    const head = Number(row?.horizon ?? 0);
    if (analyzedAt !== undefined && head - analyzedAt <= Math.max(1000, analyzedAt / 10)) return;
    analyzedAt = head;
    await engine.exec('ANALYZE events');
    await engine.query(`SELECT gin_clean_pending_list('events_line_words_idx'::regclass)`);
  };
}
