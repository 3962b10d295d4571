import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isLogaggError } from '../../src/errors.js';
import { createPgliteEngine, type PgliteEngineOptions } from '../../src/store/pglite.js';
import { copyPgliteTemplate } from '../helpers/stores.js';

type OpenInfo = Parameters<NonNullable<PgliteEngineOptions['onOpen']>>[0];

describe('embedded store, first start (cluster made in its own process)', { timeout: 120_000 }, () => {
  test('an empty DATA_DIR gets a whole, flushed cluster, made once; an interrupted creation is cleared', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-create-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    // What a creation killed half-way leaves behind.
    mkdirSync(join(dataDir, 'pgdata.creating-1'));
    writeFileSync(join(dataDir, 'pgdata.creating-1', 'PG_VERSION'), '18\n');

    const opened: OpenInfo[] = [];
    const engine = await createPgliteEngine({ dataDir, onOpen: (info) => opened.push(info) });
    await engine.exec('CREATE TABLE kept (n int)');
    await engine.query('INSERT INTO kept VALUES ($1)', [7]);
    const [settings] = await engine.query<{ shared_buffers: string }>('SHOW shared_buffers');
    await engine.close();

    assert.equal(settings?.shared_buffers, '16MB');
    assert.deepEqual(readdirSync(dataDir).sort(), ['pgdata']);
    const pgdata = join(dataDir, 'pgdata');
    assert.ok(existsSync(join(pgdata, 'PG_VERSION')));
    assert.ok(existsSync(join(pgdata, 'logagg-initdb-synced')), 'flushed once before first use');
    const record = JSON.parse(readFileSync(join(pgdata, 'logagg-created.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(Number(record.initdb_peak_rss_mib) > 0 && Number(record.initdb_ms) > 0, JSON.stringify(record));
    const created = opened[0]?.created;
    assert.ok(created && created.initdbPeakRssMb > 0 && created.ms >= created.initdbMs, JSON.stringify(opened));

    const reopened: OpenInfo[] = [];
    const again = await createPgliteEngine({ dataDir, onOpen: (info) => reopened.push(info) });
    t.after(() => again.close());
    assert.deepEqual(await again.query('SELECT n FROM kept'), [{ n: 7 }]);
    assert.equal(reopened[0]?.created, undefined, 'the second start creates nothing');
  });

  test('a pgdata that holds files but no cluster is refused, not overwritten', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-create-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    mkdirSync(join(dataDir, 'pgdata'));
    writeFileSync(join(dataDir, 'pgdata', 'notes.txt'), 'mine\n');
    const failure = await createPgliteEngine({ dataDir }).then(
      () => assert.fail('opened'),
      (err: unknown) => err,
    );
    assert.ok(isLogaggError(failure) && failure.code === 'STORE_FAILED');
    assert.match(String((failure as { cause?: unknown }).cause), /holds no cluster/);
    assert.equal(readFileSync(join(dataDir, 'pgdata', 'notes.txt'), 'utf8'), 'mine\n');
    // The lock went with the refusal: the directory can be opened once it is fixed.
    rmSync(join(dataDir, 'pgdata'), { recursive: true });
    const engine = await createPgliteEngine({ dataDir });
    await engine.close();
  });

  test('a cluster made elsewhere (postgresql.conf says 128MB) runs on the 16MB buffer pool, with or without flushes', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-create-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    // PGlite's own initdb, as a store made before the pool was set at initdb, or by another tool.
    await copyPgliteTemplate(dataDir);
    const pools: string[] = [];
    for (const sync of [true, false]) {
      const engine = await createPgliteEngine({ dataDir, sync });
      try {
        const [row] = await engine.query<{ shared_buffers: string }>('SHOW shared_buffers');
        pools.push(row?.shared_buffers ?? 'none');
      } finally {
        await engine.close();
      }
    }
    assert.deepEqual(pools, ['16MB', '16MB']);
  });
});
