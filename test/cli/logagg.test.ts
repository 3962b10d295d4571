import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Stats } from '../../src/schema/stats.js';
import { counters, kept, makeEvent, post, uniqueTopic } from '../helpers/events.js';
import { freePort, waitFor } from '../helpers/process.js';
import { freshStore } from '../helpers/stores.js';

const run = promisify(execFile);
const logagg = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { env: { ...process.env, ...env } });

describe('logagg CLI', { timeout: 300_000 }, () => {
  test('every subcommand has --help, and an unknown command exits 2 with the usage', async () => {
    for (const command of ['serve', 'publish', 'tail', 'stats', 'migrate']) {
      const { stdout } = await logagg([command, '--help']);
      assert.match(stdout, new RegExp(`usage: logagg ${command}`), command);
    }
    await assert.rejects(
      logagg(['bogus']),
      (err: { code?: number; stderr?: string }) => err.code === 2 && /unknown command/.test(err.stderr ?? ''),
    );
  });

  test('migrate applies the schema once; serve, stats and publish work against it', async (t) => {
    const location = await freshStore('pglite');
    t.after(() => location.destroy());
    const env = { DATA_DIR: location.dataDir, LOG_LEVEL: 'warn' };
    assert.match((await logagg(['migrate'], env)).stdout, /applied migration\(s\) 1/);
    assert.match((await logagg(['migrate'], env)).stdout, /schema is current/);

    const port = String(await freePort());
    const url = `http://127.0.0.1:${port}`;
    const { spawn } = await import('node:child_process');
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'serve'], {
      env: { ...process.env, ...env, PORT: port, HOST: '127.0.0.1' },
    });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    t.after(async () => {
      server.kill('SIGTERM');
      await exited;
    });
    await waitFor(async () => (await fetch(`${url}/health`)).ok, 30_000, 'logagg serve to listen');
    const topic = uniqueTopic('cli');
    await post(`${url}/publish`, [makeEvent(topic, '1'), makeEvent(topic, '1')]);
    const stats = JSON.parse((await logagg(['stats', '--url', url, '--topic', topic, '--json'])).stdout) as Stats;
    assert.deepEqual(counters(stats.per_topic[topic]), kept(2, 1));
    const published = await logagg(['publish', '--url', url, '--events', '500', '--batch', '20', '--json']);
    assert.equal((JSON.parse(published.stdout) as { ok: boolean }).ok, true);

    // --tenant: publish into acme and verify there; stats sees it as acme and not as default.
    const into = await logagg([
      'publish',
      '--url',
      url,
      '--events',
      '200',
      '--batch',
      '20',
      '--tenant',
      'acme',
      '--topic-prefix',
      `${topic}-t`,
      '--json',
    ]);
    const report = JSON.parse(into.stdout) as { ok: boolean; topics: string[] };
    assert.equal(report.ok, true);
    const read = async (...tenant: string[]) =>
      JSON.parse((await logagg(['stats', '--url', url, '--topic', report.topics[0] as string, ...tenant, '--json'])).stdout) as Stats;
    assert.ok(((await read('--tenant', 'acme')).per_topic[report.topics[0] as string]?.received ?? 0) > 0);
    assert.equal((await read()).per_topic[report.topics[0] as string], undefined);
  });
});
