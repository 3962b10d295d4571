import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StoreKind } from '../../src/schema/store-kind.js';

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

/** A store nobody else uses: a fresh PostgreSQL database or a fresh PGlite directory. */
export async function freshStore(kind: StoreKind): Promise<StoreLocation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logagg-test-'));
  if (kind === 'pglite') {
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
