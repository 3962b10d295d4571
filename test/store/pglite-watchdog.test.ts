import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isLogaggError } from '../../src/errors.js';
import { createPgliteEngine, type PgliteEngineOptions } from '../../src/store/pglite.js';
import { waitFor } from '../helpers/process.js';

type RestartEvent = Parameters<NonNullable<PgliteEngineOptions['onRestart']>>[0];

const codeOf = async (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'resolved',
    (err: unknown) => (isLogaggError(err) ? err.code : String(err)),
  );

describe('embedded engine in a worker thread', { timeout: 120_000 }, () => {
  test('a statement that hangs: the watchdog fails it with STORE_UNAVAILABLE, reopens, and nothing committed is lost', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-watchdog-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const events: RestartEvent[] = [];
    // 5 s, not less: the worker's first statements compile PGlite's code lazily, and on a loaded CI machine a
    // CREATE TABLE overran 1 s and was itself taken for a hang.
    const engine = await createPgliteEngine({ dataDir, statementTimeoutMs: 5000, onRestart: (event) => events.push(event) });
    t.after(() => engine.close());
    await engine.exec('CREATE TABLE kept (n int)');
    await engine.query('INSERT INTO kept VALUES ($1)', [1]);

    // The main thread keeps running while the engine is stuck: timers fire during the statement.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const started = performance.now();
    const hung = codeOf(engine.query('SELECT pg_sleep(3600)'));
    const queued = codeOf(engine.query('SELECT 1'));
    assert.equal(await hung, 'STORE_UNAVAILABLE');
    clearInterval(ticker);
    assert.ok(performance.now() - started < 30_000, 'the watchdog did not fire');
    assert.ok(ticks >= 5, `the event loop stalled while the engine was stuck (${ticks} ticks)`);
    // The call queued behind the stuck one is answered too, never left waiting.
    assert.equal(await queued, 'STORE_UNAVAILABLE');
    assert.equal(events[0]?.state, 'lost');

    await waitFor(async () => (await engine.query<{ n: number }>('SELECT n FROM kept')).length === 1, 30_000, 'the engine to reopen');
    assert.ok(events.some((event) => event.state === 'reopened'));
    // A transaction works on the new worker, and a rolled back one leaves nothing.
    await engine.transaction(async (query) => {
      await query('INSERT INTO kept VALUES ($1)', [2]);
    });
    const failed = engine.transaction(async (query) => {
      await query('INSERT INTO kept VALUES ($1)', [3]);
      throw new Error('abandoned');
    });
    await assert.rejects(failed, /abandoned/);
    const rows = await engine.query<{ n: number }>('SELECT n FROM kept ORDER BY n');
    assert.deepEqual(
      rows.map((row) => row.n),
      [1, 2],
    );
  });

  test('a statement that fails is STORE_FAILED and leaves the engine usable', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-watchdog-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const engine = await createPgliteEngine({ dataDir });
    t.after(() => engine.close());
    assert.equal(await codeOf(engine.query('SELECT * FROM no_such_table')), 'STORE_FAILED');
    assert.deepEqual(await engine.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  test('close ends the worker and releases the directory: a second engine opens it', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-watchdog-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await createPgliteEngine({ dataDir });
    await first.exec('CREATE TABLE t (n int); INSERT INTO t VALUES (7)');
    await first.close();
    const second = await createPgliteEngine({ dataDir });
    t.after(() => second.close());
    assert.deepEqual(await second.query('SELECT n FROM t'), [{ n: 7 }]);
  });
});
