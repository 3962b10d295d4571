import pg from 'pg';
import { LogaggError } from '../errors.js';
import type { Engine, QueryFn } from './engine.js';
import { INSERT_BATCH, INSERT_BATCH_KEYED, SELECT_READ_HORIZON } from './sql.js';

// SQLSTATE classes that mean "the database is not there right now", not "this statement is wrong":
// 08 connection exception, 53 insufficient resources, 57P0x admin/crash shutdown, 40P01 deadlock (retry),
// 57014 query canceled (statement_timeout: the store is too slow to answer in time).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|57014|40P01)/;

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
  /** STORE_TIMEOUT_MS: the bound on every statement but a transaction's (migrations, the copy). Default 5000. */
  storeTimeoutMs?: number;
}

// A silent peer (partition, dead host) is found by TCP keepalive probes after this much idleness.
const KEEPALIVE_DELAY_MS = 10_000;
// The client-side bound is a little longer than the server's, so a live server cancels its own statement first
// (57014, the connection stays usable) and only a server that does not answer at all hits the client's.
const QUERY_TIMEOUT_SLACK_MS = 1000;

// Statements run as named prepared statements: parsed once per connection, not once per batch. Only the batch
// insert and the read horizon, which every cursor read runs first (planning it took 0.35 ms, running it 0.13); the
// read queries' "$2 IS NULL OR …" filters need the custom plan each value gets.
const PREPARED = new Map([
  [INSERT_BATCH, 'logagg_insert_batch'],
  [INSERT_BATCH_KEYED, 'logagg_insert_batch_keyed'],
  [SELECT_READ_HORIZON, 'logagg_read_horizon'],
]);

// The batch insert runs on connections of its own that always take the generic plan. Left to choose, PostgreSQL
// planned it anew for every batch (pg_prepared_statements: 1,300 custom plans, no generic one): with $3 null a
// custom plan drops the max_topics branch, so the generic plan, which keeps it and tests $3 at run time, never
// looked cheaper. Its plan depends on no parameter value otherwise (the JSON functions' row estimates are fixed),
// and planning took 0.76 ms beside 1.58 ms executing a one-event batch (docs/performance.md, "The batch insert
// planned once"). A SET once per connection, not a startup option: that would replace the user's own `options`
// (PGOPTIONS, or ?options= in DATABASE_URL) and is refused by poolers that check startup parameters. Where the SET
// does not hold (a pooler in transaction mode) the insert is planned per batch again: slower, never wrong.
const BATCH_STATEMENTS = new Set([INSERT_BATCH, INSERT_BATCH_KEYED]);
const GENERIC_PLANS = 'SET plan_cache_mode = force_generic_plan';
const noop = (): void => undefined;

/**
 * PostgreSQL through two pg pools: one connection per flusher for the batch insert, and up to that many plus two
 * for everything else (reads, retention, deletion), as before the insert had its own. Every pooled statement is bounded
 * twice: statement_timeout on the server and query_timeout on the client, for a server that does not answer at
 * all (frozen, partitioned). pool.query() releases a connection with its error, which destroys it: one that
 * timed out still has its statement in flight and is never handed out again.
 */
export function createPostgresEngine(options: PostgresEngineOptions): Engine {
  const storeTimeoutMs = options.storeTimeoutMs ?? 5000;
  const connection = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    application_name: 'logagg',
  };
  const pooled = {
    ...connection,
    idleTimeoutMillis: 30_000,
    statement_timeout: storeTimeoutMs,
    query_timeout: storeTimeoutMs + QUERY_TIMEOUT_SLACK_MS,
  };
  const pool = new pg.Pool({ ...pooled, max: options.writers + 2 });
  // pg-pool awaits onConnect before it hands a new connection out; a failed SET leaves that connection with custom
  // plans (a dead one fails the statement it was dialled for anyway).
  const batchPool = new pg.Pool({
    ...pooled,
    max: options.writers,
    onConnect: (client) => client.query(GENERIC_PLANS).then(noop, noop),
  });
  // An idle connection that dies (server restart) emits here; the pool drops it and dials anew on next use.
  pool.on('error', () => undefined);
  batchPool.on('error', () => undefined);

  const query: QueryFn = async <R>(text: string, params?: readonly unknown[]) => {
    try {
      const name = params === undefined ? undefined : PREPARED.get(text);
      const result = await (BATCH_STATEMENTS.has(text) ? batchPool : pool).query({
        text,
        values: params as unknown[] | undefined,
        ...(name ? { name } : {}),
      });
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
    // Transactions are migrations and the embedded-to-PostgreSQL copy: long by nature, run once, by an operator
    // or at start. They get a connection of their own without statement or query timeout (keepalive still finds
    // a dead peer), so the bound meant for ingest never fails a legitimate long migration.
    async transaction(fn) {
      const client = new pg.Client(connection);
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw translatePgError(err);
      }
      const clientQuery: QueryFn = async <R>(text: string, params?: readonly unknown[]) => {
        try {
          return (await client.query(text, params as unknown[] | undefined)).rows as R[];
        } catch (err) {
          throw translatePgError(err);
        }
      };
      try {
        await clientQuery('BEGIN');
        const result = await fn(clientQuery, async (text) => {
          await clientQuery(text);
        });
        await clientQuery('COMMIT');
        return result;
      } catch (err) {
        // The rollback may fail too if the connection is gone; the original error is the one to report.
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    close: async () => {
      await Promise.all([pool.end(), batchPool.end()]);
    },
  };
}
