import pg from 'pg';
import { LogaggError } from '../errors.js';
import type { Engine, QueryFn } from './engine.js';
import { INSERT_BATCH, INSERT_BATCH_KEYED } from './sql.js';

// SQLSTATE classes that mean "the database is not there right now", not "this statement is wrong":
// 08 connection exception, 53 insufficient resources, 57P0x admin/crash shutdown, 40P01 deadlock (retry).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|40P01)/;

/** Turns a pg error into STORE_UNAVAILABLE (retry later) or STORE_FAILED, keeping it as cause. */
export function translatePgError(err: unknown): LogaggError {
  if (err instanceof LogaggError) return err;
  const sqlstate = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  // Errors the server sent carry a severity; anything else came from the socket or the pool.
  const fromServer = typeof err === 'object' && err !== null && 'severity' in err;
  // 53100 disk_full: retryable once the operator frees space, and reported as such (docs/operations.md).
  if (sqlstate === '53100')
    return new LogaggError('STORE_FULL', {
      message: `The database's disk is full; retry later: ${String((err as Error).message)}`,
      cause: err,
    });
  if (!fromServer || UNAVAILABLE_SQLSTATE.test(sqlstate)) return new LogaggError('STORE_UNAVAILABLE', { cause: err });
  return new LogaggError('STORE_FAILED', { cause: err });
}

export interface PostgresEngineOptions {
  url: string;
  writers: number;
  /** Fail a checkout fast when the server is down, so publishers get 503 instead of a hang. */
  connectTimeoutMs?: number;
}

// Statements run as named prepared statements: parsed and planned once per connection, not once per batch.
// Only the batch insert, whose plan does not depend on its parameter; the read queries' "$2 IS NULL OR …"
// filters need the custom plan each value gets.
const PREPARED = new Map([
  [INSERT_BATCH, 'logagg_insert_batch'],
  [INSERT_BATCH_KEYED, 'logagg_insert_batch_keyed'],
]);

/** PostgreSQL through a pg pool: one connection per flusher, plus two for reads. */
export function createPostgresEngine(options: PostgresEngineOptions): Engine {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.writers + 2,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    application_name: 'logagg',
  });
  // An idle connection that dies (server restart) emits here; the pool drops it and dials anew on next use.
  pool.on('error', () => undefined);

  const query: QueryFn = async <R>(text: string, params?: readonly unknown[]) => {
    try {
      const name = params === undefined ? undefined : PREPARED.get(text);
      const result = await pool.query({ text, values: params as unknown[] | undefined, ...(name ? { name } : {}) });
      return result.rows as R[];
    } catch (err) {
      throw translatePgError(err);
    }
  };

  return {
    kind: 'postgres',
    writers: options.writers,
    query,
    async exec(text) {
      await query(text);
    },
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw translatePgError(err);
      }
      const clientQuery: QueryFn = async <R>(text: string, params?: readonly unknown[]) => {
        try {
          return (await client.query(text, params as unknown[] | undefined)).rows as R[];
        } catch (err) {
          throw translatePgError(err);
        }
      };
      let broken: unknown;
      try {
        await clientQuery('BEGIN');
        const result = await fn(clientQuery, async (text) => {
          await clientQuery(text);
        });
        await clientQuery('COMMIT');
        return result;
      } catch (err) {
        broken = err;
        // The rollback may fail too if the connection is gone; the original error is the one to report.
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release(broken instanceof LogaggError && broken.code === 'STORE_UNAVAILABLE');
      }
    },
    close: () => pool.end(),
  };
}
