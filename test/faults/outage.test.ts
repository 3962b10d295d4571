import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runPublisher } from '../../src/cli/publish-run.js';
import type { ErrorBody } from '../../src/schema/error.js';
import { makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { peakRssMiB, spawnServer, waitFor } from '../helpers/process.js';
import { freshStore } from '../helpers/stores.js';

const skip = process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL (a local PostgreSQL it may stop and start)';
const cluster = (): string[] => [readdirSync('/etc/postgresql')[0] ?? '', 'main'];
const pgctl = (action: 'start' | 'stop'): void => {
  const args = ['--skip-systemctl-redirect', ...cluster(), action, ...(action === 'stop' ? ['-m', 'immediate'] : [])];
  execFileSync('pg_ctlcluster', args, { stdio: 'ignore' });
};
const pgUp = (): boolean => {
  try {
    execFileSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']);
    return true;
  } catch {
    return false;
  }
};

describe('store outage', { timeout: 240_000 }, () => {
  test('PostgreSQL stopped mid-load: 503s with Retry-After and /ready 503 while down, then recovery with zero loss', { skip }, async (t) => {
    const location = await freshStore('postgres');
    t.after(async () => {
      if (!pgUp()) pgctl('start');
      await waitFor(async () => pgUp(), 30_000, 'PostgreSQL to come back');
      await location.destroy();
    });
    const server = await spawnServer(location);
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    const baseline = peakRssMiB(Number(server.child.pid));
    let sent = 0;
    const publishing = runPublisher(
      { url: server.url, events: 30_000, dupRate: 0.3, topics: 5, payloadBytes: 64, batch: 20, concurrency: 8, seed: 7, topicPrefix: uniqueTopic('outage'), timeoutMs: 5000, retry: { maxAttempts: 400, baseDelayMs: 50, maxDelayMs: 500, maxRetryAfterMs: 1000 } },
      (progress) => (sent = progress.sentEvents),
      50,
    );
    await waitFor(async () => sent >= 3000, 60_000, 'load to build up');
    pgctl('stop');
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
      pgctl('start');
    }
    await waitFor(async () => (await fetch(`${server.url}/ready`)).status === 200, 30_000, 'the server to recover by itself');
    const report = await publishing;
    assert.ok(report.retried > 0, 'the publisher never had to retry: the outage missed the load');
    assert.deepEqual(report.checks.filter((check) => !check.ok), [], JSON.stringify(report.errors));
  });
});
