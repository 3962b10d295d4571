import { LogaggError } from '../errors.js';
import { migrate } from './migrate.js';
import { createPgliteEngine } from './pglite.js';
import { createPostgresEngine } from './postgres.js';
import {
  ADVANCE_SEQ,
  COUNT_EVENTS,
  type CopiedEventRow,
  type CopiedKeyRow,
  INSERT_COPIED_KEYS,
  SELECT_KEYS_TO_COPY,
  INSERT_COPIED_COUNTS,
  INSERT_COPIED_EVENTS,
  RESET_TOTALS,
  SELECT_ALL_TOPIC_COUNTS,
  SELECT_EVENTS_TO_COPY,
  type CopiedCountsRow,
  CLEAR_TOTALS,
} from './copy-sql.js';
import { HIDING } from './visible-sql.js';

const PAGE = 5000;

/**
 * Copies an embedded store (stopped: the copy takes its DATA_DIR lock) into an empty PostgreSQL database, in one
 * transaction: every event with its seq and received_at, the DEDUP_RETENTION keys, and the counters as they are. Afterwards the
 * PostgreSQL store recognises every old key, and its counters match.
 */
export async function copyEmbeddedToPostgres(dataDir: string, databaseUrl: string): Promise<{ events: number; topics: number }> {
  const source = await createPgliteEngine({ dataDir });
  const target = createPostgresEngine({ url: databaseUrl, writers: 1 });
  try {
    await migrate(source);
    await migrate(target);
    // Rows a deletion job still hides would arrive in PostgreSQL readable again, without their job.
    const [marked] = await source.query<{ hiding: boolean }>(HIDING);
    if (marked?.hiding) {
      throw new LogaggError('MIGRATION_FAILED', {
        message: 'A deletion job is unfinished; start the embedded server until GET /admin/delete shows it done, then copy',
      });
    }
    return await target.transaction(async (query) => {
      const [existing] = await query<{ n: string }>(COUNT_EVENTS);
      if (Number(existing?.n ?? 0) > 0) {
        throw new LogaggError('MIGRATION_FAILED', { message: 'The PostgreSQL database already holds events; copy into an empty one' });
      }
      let after = 0;
      let events = 0;
      for (;;) {
        const rows = await source.query<CopiedEventRow>(SELECT_EVENTS_TO_COPY, [after, PAGE]);
        if (rows.length === 0) break;
        await query(INSERT_COPIED_EVENTS, [JSON.stringify(rows)]);
        events += rows.length;
        after = Number((rows[rows.length - 1] as CopiedEventRow).seq);
      }
      let last: CopiedKeyRow | undefined;
      for (;;) {
        const keys: CopiedKeyRow[] = await source.query<CopiedKeyRow>(SELECT_KEYS_TO_COPY, [
          last?.topic ?? '',
          last?.event_id ?? '',
          PAGE,
          last?.tenant ?? '',
        ]);
        if (keys.length === 0) break;
        await query(INSERT_COPIED_KEYS, [JSON.stringify(keys)]);
        last = keys[keys.length - 1];
      }
      const counts = await source.query<CopiedCountsRow>(SELECT_ALL_TOPIC_COUNTS);
      if (counts.length > 0) await query(INSERT_COPIED_COUNTS, [JSON.stringify(counts)]);
      await query(CLEAR_TOTALS);
      await query(RESET_TOTALS);
      await query(ADVANCE_SEQ);
      return { events, topics: counts.length };
    });
  } finally {
    await source.close();
    await target.close();
  }
}
