import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorBody } from '../../src/schema/error.js';
import { faultLoad } from '../helpers/load.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { startPgCluster } from '../helpers/pg-cluster.js';
import { spawnServer, waitFor } from '../helpers/process.js';

const STORE_TIMEOUT_MS = 2000;
// Bounds for a loaded 2-core machine: the deadline plus generous slack, never a performance figure.
const ANSWER_BOUND_MS = STORE_TIMEOUT_MS + 6000;
// A read may wait for a pooled connection (3 s) and then for its statement (STORE_TIMEOUT_MS + 1 s).
const READ_BOUND_MS = STORE_TIMEOUT_MS + 10_000;
const FROZEN_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe('frozen store', { timeout: 240_000 }, () => {
  test('PostgreSQL frozen (SIGSTOP) under load: 503 + Retry-After within a few seconds, /health answers, recovery without restart, zero loss', async (t) => {
    // A cluster of the test's own: freezing the shared one would hang whatever else runs on this machine.
    const cluster = await startPgCluster();
    t.after(() => cluster.destroy());
    const dataDir = mkdtempSync(join(tmpdir(), 'logagg-frozen-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await spawnServer(
      { databaseUrl: cluster.url, dataDir, destroy: async () => {} },
      { STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS) },
    );
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    const pid = server.child.pid;
    const load = faultLoad(server.url, { seed: 11, topicPrefix: uniqueTopic('frozen'), timeoutMs: 10_000 });
    await waitFor(async () => load.sent() >= 3000, 60_000, 'load to build up');

    // Single-event publishes of our own: each one that gets 2xx must be in the store at the end.
    const probeTopic = uniqueTopic('frozen-probe');
    let probeSeq = 0;
    const acked: string[] = [];
    const publishOne = async () => {
      const id = `p${probeSeq++}`;
      const reply = await post<ErrorBody>(`${server.url}/publish`, makeEvent(probeTopic, id));
      if (reply.status === 200) acked.push(id);
      return reply;
    };

    cluster.freeze();
    const frozenAt = performance.now();
    const figures: Record<string, number | string> = {};
    try {
      // The first publish after the freeze waits out the deadline (or meets the already open circuit).
      const first = await timed(publishOne);
      figures.firstRefusalMs = Math.round(first.ms);
      assert.equal(first.value.status, 503, JSON.stringify(first.value.body));
      assert.equal(first.value.body.error, 'STORE_UNAVAILABLE');
      assert.ok(Number(first.value.headers.get('retry-after')) >= 1, 'no Retry-After');
      assert.ok(first.ms < ANSWER_BOUND_MS, `the first publish took ${first.ms} ms`);

      // The circuit is open: refusals are immediate but for the one probe per second, which waits the deadline.
      const refusals: number[] = [];
      for (let i = 0; i < 10; i++) {
        const reply = await timed(publishOne);
        assert.equal(reply.value.status, 503);
        assert.equal(reply.value.body.error, 'STORE_UNAVAILABLE');
        assert.ok(reply.ms < ANSWER_BOUND_MS, `a publish took ${reply.ms} ms while frozen`);
        refusals.push(reply.ms);
        await sleep(100);
      }
      figures.refusalMedianMs = Number(median(refusals).toFixed(1));
      figures.refusalMaxMs = Math.round(Math.max(...refusals));

      const health: number[] = [];
      for (let i = 0; i < 10; i++) {
        const reply = await timed(() => fetch(`${server.url}/health`));
        assert.equal(reply.value.status, 200);
        health.push(reply.ms);
      }
      figures.healthMedianMs = Number(median(health).toFixed(1));
      figures.healthMaxMs = Number(Math.max(...health).toFixed(1));
      assert.ok(Math.max(...health) < ANSWER_BOUND_MS);

      const ready = await timed(() => fetch(`${server.url}/ready`));
      figures.readyMs = Math.round(ready.ms);
      assert.equal(ready.value.status, 503);
      assert.ok(ready.ms < ANSWER_BOUND_MS, `/ready took ${ready.ms} ms`);

      // Reads are bounded too (statement + query timeout, pool checkout): an answer, whatever it says.
      const stats = await timed(() => fetch(`${server.url}/stats`));
      figures.statsMs = Math.round(stats.ms);
      figures.statsStatus = stats.value.status;
      assert.ok(stats.ms < READ_BOUND_MS, `/stats took ${stats.ms} ms`);

      // Keep it frozen under load for the whole window; every answer meanwhile is bounded.
      while (performance.now() - frozenAt < FROZEN_MS) {
        const reply = await timed(publishOne);
        assert.equal(reply.value.status, 503);
        assert.ok(reply.ms < ANSWER_BOUND_MS, `a publish took ${reply.ms} ms while frozen`);
        await sleep(250);
      }
    } finally {
      cluster.thaw();
    }
    const thawedAt = performance.now();
    await waitFor(async () => (await publishOne()).status === 200, 30_000, 'a publish to commit after the thaw');
    figures.firstCommitAfterThawMs = Math.round(performance.now() - thawedAt);
    await waitFor(async () => (await fetch(`${server.url}/ready`)).status === 200, 30_000, '/ready after the thaw');

    const report = await load.done;
    figures.publisherRetried = report.retried;
    figures.publisherEvents = report.sent;
    t.diagnostic(`frozen-store figures: ${JSON.stringify(figures)}`);
    assert.equal(server.child.pid, pid);
    assert.equal(server.child.exitCode, null, 'the server exited');
    assert.ok(report.retried > 0, 'the publisher never had to retry: the freeze missed the load');
    assert.deepEqual(
      report.checks.filter((check) => !check.ok),
      [],
      JSON.stringify(report.errors),
    );
    // Every single publish answered 2xx is stored, exactly once.
    const stored = (await (await fetch(`${server.url}/events?topic=${encodeURIComponent(probeTopic)}&limit=1000`)).json()) as Array<{
      event_id: string;
    }>;
    const storedIds = new Set(stored.map((event) => event.event_id));
    assert.equal(storedIds.size, stored.length, 'an event is stored twice');
    for (const id of acked) assert.ok(storedIds.has(id), `acknowledged ${id} is not in the store`);
  });
});
