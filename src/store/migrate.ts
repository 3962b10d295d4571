import { LogaggError } from '../errors.js';
import type { Engine } from './engine.js';
import * as init from './migrations/001-init.js';
import * as retention from './migrations/002-retention.js';
import * as topics from './migrations/003-topics.js';
import * as search from './migrations/004-search.js';
import * as words from './migrations/005-words.js';
import * as line from './migrations/006-line.js';
import * as deletion from './migrations/007-deletion.js';
import * as tenants from './migrations/008-tenants.js';
import * as ts from './migrations/009-ts.js';
import * as topicLimit from './migrations/010-topic-limit.js';
import { INSERT_MIGRATION_VERSION, MIGRATION_SETUP, SELECT_MIGRATION_VERSIONS } from './sql.js';

// Applied in order; an entry is never edited once released; a change is a new entry.
const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  { version: 1, name: 'init', sql: init.sql },
  { version: 2, name: 'retention', sql: retention.sql },
  { version: 3, name: 'topics', sql: topics.sql },
  { version: 4, name: 'search', sql: search.sql },
  { version: 5, name: 'words', sql: words.sql },
  { version: 6, name: 'line', sql: line.sql },
  { version: 7, name: 'deletion', sql: deletion.sql },
  { version: 8, name: 'tenants', sql: tenants.sql },
  { version: 9, name: 'ts', sql: ts.sql },
  { version: 10, name: 'topic-limit', sql: topicLimit.sql },
];

/** The schema version this build expects: the last entry's (numbers are assigned ahead, so one may be missing). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Applies pending migrations in one transaction under an advisory lock, so replicas starting together apply
 * each exactly once. Returns the versions it applied (empty when the schema was current).
 */
export async function migrate(engine: Engine): Promise<number[]> {
  try {
    return await engine.transaction(async (query, exec) => {
      await exec(MIGRATION_SETUP);
      const rows = await query<{ version: number }>(SELECT_MIGRATION_VERSIONS);
      const done = new Set(rows.map((row) => row.version));
      const newer = rows.find((row) => row.version > SCHEMA_VERSION);
      if (newer) {
        throw new LogaggError('MIGRATION_FAILED', {
          message: `The database is at schema version ${newer.version}, newer than this build (${SCHEMA_VERSION})`,
        });
      }
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await exec(migration.sql);
        await query(INSERT_MIGRATION_VERSION, [migration.version, migration.name]);
        applied.push(migration.version);
      }
      return applied;
    });
  } catch (err) {
    if (err instanceof LogaggError && err.code !== 'STORE_FAILED') throw err;
    throw new LogaggError('MIGRATION_FAILED', { cause: err });
  }
}
