import { constants, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StoreKind } from '../../src/schema/store-kind.js';
import type { Engine } from '../../src/store/engine.js';
import { createPgliteEngine } from '../../src/store/pglite.js';
import { createPostgresEngine } from '../../src/store/postgres.js';

export type { StoreKind };

/** The engines the suite runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function storeKinds(): StoreKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface StoreLocation {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Deletes the database or directory. */
  destroy(): Promise<void>;
}

export interface FreshStoreOptions {
  /**
   * pglite only: start from an empty DATA_DIR (PGlite runs initdb itself) instead of a copy of the initdb'ed
   * template. For tests of the first start itself, or that put a whole DATA_DIR in place.
   */
  empty?: boolean;
}

/**
 * A PGlite data directory right after initdb, made once per PGlite version and shared by every test run on this
 * machine: initdb costs seconds of CPU per fresh store, a copy tens of milliseconds. Made in a staging folder and
 * renamed into place, so concurrent runs never see half a template (the loser of a race keeps the winner's).
 */
async function pgliteTemplate(): Promise<string> {
  // The package exports no package.json: find it above its entry point.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const root = entry.slice(0, entry.lastIndexOf('/dist/'));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const template = join(tmpdir(), `logagg-pglite-template-${version}`);
  if (existsSync(join(template, 'pgdata', 'PG_VERSION'))) return template;
  const stage = mkdtempSync(`${template}.stage-`);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(join(stage, 'pgdata'));
    await db.close();
    renameSync(stage, template);
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    if (!existsSync(join(template, 'pgdata', 'PG_VERSION'))) throw err;
  }
  return template;
}

/** Puts an initdb'ed PGlite cluster in `dataDir` (as DATA_DIR/pgdata), so a server started there skips initdb. */
export async function copyPgliteTemplate(dataDir: string): Promise<void> {
  // A reflink where the filesystem has them, else a plain copy; never hard links (PostgreSQL writes in place).
  cpSync(join(await pgliteTemplate(), 'pgdata'), join(dataDir, 'pgdata'), { recursive: true, mode: constants.COPYFILE_FICLONE });
}

/** A store nobody else uses: a fresh PostgreSQL database or a fresh PGlite directory. */
export async function freshStore(kind: StoreKind, options: FreshStoreOptions = {}): Promise<StoreLocation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logagg-test-'));
  if (kind === 'pglite') {
    if (!options.empty) await copyPgliteTemplate(dataDir);
    return { databaseUrl: undefined, dataDir, destroy: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.TEST_DATABASE_URL as string;
  const name = `logagg_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir,
    destroy: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      const drop = new pg.Client({ connectionString: adminUrl });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    },
  };
}

export interface OpenEngine {
  engine: Engine;
  location: StoreLocation;
  /** Closes the engine and deletes the store. */
  close(): Promise<void>;
}

/** A fresh store's engine opened in this process, no server: for tests of the SQL the store runs. */
export async function openEngine(kind: StoreKind): Promise<OpenEngine> {
  const location = await freshStore(kind);
  const engine = location.databaseUrl
    ? createPostgresEngine({ url: location.databaseUrl, writers: 1 })
    : await createPgliteEngine({ dataDir: location.dataDir, sync: false });
  return {
    engine,
    location,
    close: async () => {
      await engine.close();
      await location.destroy();
    },
  };
}
