import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { LogaggError } from '../errors.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Engine, QueryFn } from './engine.js';
import { DURABLE_START_PARAMS, durableFsyncExtension, ensureInitdbSynced } from './pglite-durable.js';

export interface PgliteEngineOptions {
  dataDir: string;
  /** Flush every commit to disk before it is reported (default). Off trades power-cut safety for speed. */
  sync?: boolean;
  /** Called once open, with how long opening (including crash recovery) took. */
  onOpen?: (info: { openMs: number; recoveredFromCrash: boolean }) => void;
}

/** Refuses to run with a setting that would make commits volatile (a PGlite upgrade changing its defaults). */
async function assertDurable(db: PGlite): Promise<void> {
  const settings = await db.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'wal_sync_method', 'synchronous_commit')",
  );
  const value = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
  if (value.fsync !== 'on' || value.wal_sync_method !== 'fsync' || value.synchronous_commit !== 'on') {
    throw new LogaggError('STORE_FAILED', { message: `The embedded store is not durable: ${JSON.stringify(value)}` });
  }
}

function translate(err: unknown): LogaggError {
  if (err instanceof LogaggError) return err;
  return new LogaggError('STORE_FAILED', { cause: err });
}

/**
 * Embedded PostgreSQL (PGlite) persisted in dataDir/pgdata. PGlite is one connection: its own queue serializes
 * every statement, so there is one writer.
 */
export async function createPgliteEngine(options: PgliteEngineOptions): Promise<Engine> {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockDataDir(options.dataDir);
  const started = performance.now();
  const pgdata = join(options.dataDir, 'pgdata');
  const sync = options.sync ?? true;
  let db: PGlite | undefined;
  try {
    db = sync
      ? await PGlite.create(pgdata, { startParams: [...DURABLE_START_PARAMS], extensions: { durableFsyncExtension } })
      : await PGlite.create(pgdata);
    if (sync) {
      ensureInitdbSynced(pgdata);
      await assertDurable(db);
    }
  } catch (err) {
    // An engine that opened but is refused (not durable) is shut down cleanly before the lock goes: else the next
    // start would find an unclean shutdown and replay WAL.
    await db?.close().catch(() => undefined);
    lock.release();
    throw new LogaggError('STORE_FAILED', { message: `Could not open the embedded store in ${options.dataDir}`, cause: err });
  }
  options.onOpen?.({ openMs: Math.round(performance.now() - started), recoveredFromCrash: lock.tookOverStale });

  const query: QueryFn = async <R>(text: string, params?: readonly unknown[]) => {
    try {
      return (await db.query<R>(text, params as unknown[] | undefined)).rows;
    } catch (err) {
      throw translate(err);
    }
  };

  return {
    kind: 'pglite',
    writers: 1,
    query,
    async exec(text) {
      try {
        await db.exec(text);
      } catch (err) {
        throw translate(err);
      }
    },
    async transaction(fn) {
      try {
        return await db.transaction((tx) =>
          fn(
            async <R>(text: string, params?: readonly unknown[]) => (await tx.query<R>(text, params as unknown[] | undefined)).rows,
            async (text) => {
              await tx.exec(text);
            },
          ),
        );
      } catch (err) {
        throw translate(err);
      }
    },
    async close() {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    },
  };
}
