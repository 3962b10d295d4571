import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import { faultLoad } from '../helpers/load.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { peakRssMiB, spawnServer, waitFor } from '../helpers/process.js';
import { startPgCluster } from '../helpers/pg-cluster.js';

describe('store outage', { timeout: 240_000 }, () => {
  test('PostgreSQL stopped mid-load: 503s with Retry-After and /ready 503 while down, then recovery with zero loss', async (t) => {
    // A cluster of the test's own: stopping the shared one would fail whatever else runs on this machine.
    const cluster = await startPgCluster();
    t.after(() => cluster.destroy());
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-outage-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const location = { databaseUrl: cluster.url, dataDir, destroy: async () => {} };
    const server = await spawnServer(location);
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    const baseline = peakRssMiB(Number(server.child.pid));
    const load = faultLoad(server.url, { seed: 7, topicPrefix: uniqueTopic('outage'), timeoutMs: 5000 });
    await waitFor(async () => load.sent() >= 3000, 60_000, 'load to build up');
    cluster.stop();
    try {
      await waitFor(async () => (await fetch(`${server.url}/ready`)).status === 503, 10_000, '/ready to answer 503');
      const started = performance.now();
      const refused = await post<ErrorBody>(`${server.url}/publish`, makeEvent(uniqueTopic('down'), 'x'));
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error, 'STORE_UNAVAILABLE');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.ok(performance.now() - started < 5000, 'a publish hung while the store was down');
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const growth = peakRssMiB(Number(server.child.pid)) - baseline;
      assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MiB during the outage`);
    } finally {
      cluster.start();
    }
    await waitFor(async () => (await fetch(`${server.url}/ready`)).status === 200, 30_000, 'the server to recover by itself');
    const report = await load.done;
    assert.ok(report.retried > 0, 'the publisher never had to retry: the outage missed the load');
    assert.deepEqual(
      report.checks.filter((check) => !check.ok),
      [],
      JSON.stringify(report.errors),
    );
  });
});
