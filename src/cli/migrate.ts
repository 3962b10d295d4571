import { loadConfig } from '../config.js';
import { createStore } from '../store/index.js';

export const MIGRATE_USAGE = `usage: logagg migrate
Applies pending schema migrations to the configured store (DATABASE_URL, else DATA_DIR) and exits.
Safe to run while other replicas run, and more than once: each migration is applied once, under a lock.`;

/** `logagg migrate`: applies pending migrations, prints what it applied, exits. */
export async function runMigrateCommand(): Promise<number> {
  const config = loadConfig();
  const store = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedSync: config.embeddedSync, workers: 1 });
  try {
    const applied = await store.migrate();
    console.log(applied.length === 0 ? `${store.kind}: schema is current` : `${store.kind}: applied migration(s) ${applied.join(', ')}`);
    return 0;
  } finally {
    await store.close();
  }
}
