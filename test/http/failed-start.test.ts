import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startAggregator } from '../../src/server.js';
import { freePort } from '../helpers/process.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

/** A pino logger whose lines the test reads back. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** A TCP port held by another listener for the duration of `use`. */
async function withBusyPort<T>(use: (port: number) => Promise<T>): Promise<T> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  try {
    return await use((holder.address() as { port: number }).port);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
}

const env = (dataDir: string, databaseUrl: string | undefined, extra: Record<string, string> = {}) =>
  loadConfig({ HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ...extra });

async function connectionsTo(databaseUrl: string): Promise<number> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
    return rows[0]?.n ?? 0;
  } finally {
    await admin.end();
  }
}

for (const kind of storeKinds()) {
  describe(`a failed start unwinds what it started [${kind}]`, { timeout: 180_000 }, () => {
    test('a busy port: the store is closed and the lock released, and the next start reports no crash recovery', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      await withBusyPort(async (port) => {
        const { logger } = capturingLogger();
        await assert.rejects(
          startAggregator(env(location.dataDir, location.databaseUrl, { PORT: String(port) }), logger),
          /already in use/,
        );
      });
      assert.equal(existsSync(join(location.dataDir, 'logagg.lock')), false, 'the data-dir lock was left behind');
      if (location.databaseUrl) assert.equal(await connectionsTo(location.databaseUrl), 0, 'the pool was left open');

      const { logger, lines } = capturingLogger();
      const again = await startAggregator(env(location.dataDir, location.databaseUrl), logger);
      try {
        const opened = lines.find((line) => line.msg === 'embedded store opened');
        if (kind === 'pglite') assert.equal(opened?.recoveredFromCrash, false, JSON.stringify(opened));
        assert.equal((await fetch(`${again.url}/ready`)).status, 200);
      } finally {
        await again.stop();
      }
    });

    test('NATS unreachable: the HTTP server stops listening and the store is closed', async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const [httpPort, natsPort] = [await freePort(), await freePort()];
      const config = env(location.dataDir, location.databaseUrl, { PORT: String(httpPort), NATS_URL: `nats://127.0.0.1:${natsPort}` });
      await assert.rejects(startAggregator(config, capturingLogger().logger));
      await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/health`), 'the HTTP server still listens after a failed start');
      assert.equal(existsSync(join(location.dataDir, 'logagg.lock')), false, 'the data-dir lock was left behind');
      if (location.databaseUrl) assert.equal(await connectionsTo(location.databaseUrl), 0, 'the pool was left open');
    });
  });
}
