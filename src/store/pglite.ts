import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { LogaggError } from '../errors.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Engine, QueryFn } from './engine.js';

export interface PgliteEngineOptions {
  dataDir: string;
  /** Called once open, with how long opening (including crash recovery) took. */
  onOpen?: (info: { openMs: number; recoveredFromCrash: boolean }) => void;
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
  let db: PGlite;
  try {
    db = await PGlite.create(join(options.dataDir, 'pgdata'));
  } catch (err) {
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
            async <R>(text: string, params?: readonly unknown[]) =>
              (await tx.query<R>(text, params as unknown[] | undefined)).rows,
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
