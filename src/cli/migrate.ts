import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { copyEmbeddedToPostgres, createStore } from '../store/index.js';

export const MIGRATE_USAGE = `usage: logagg migrate [--from-embedded DIR]
Applies pending schema migrations to the configured store (DATABASE_URL, else DATA_DIR) and exits.
Safe to run while other replicas run, and more than once: each migration is applied once, under a lock.

  --from-embedded DIR   copy the embedded store in DIR (stop its server first) into the empty PostgreSQL
                        database at DATABASE_URL: every event with its seq, and the counters`;

/** `logagg migrate`: applies pending migrations (or copies an embedded store into PostgreSQL), then exits. */
export async function runMigrateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { 'from-embedded': { type: 'string' } } });
  const config = loadConfig();
  const from = values['from-embedded'];
  if (from !== undefined) {
    if (!config.databaseUrl) {
      console.error('logagg migrate: --from-embedded needs DATABASE_URL (the PostgreSQL database to copy into)');
      return 2;
    }
    const copied = await copyEmbeddedToPostgres(from, config.databaseUrl);
    console.log(`copied ${copied.events} events and the counters of ${copied.topics} topics from ${from} into PostgreSQL`);
    return 0;
  }
  const store = await createStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedSync: config.embeddedSync,
    workers: 1,
  });
  try {
    const applied = await store.migrate();
    console.log(applied.length === 0 ? `${store.kind}: schema is current` : `${store.kind}: applied migration(s) ${applied.join(', ')}`);
    return 0;
  } finally {
    await store.close();
  }
}
