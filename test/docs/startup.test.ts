import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { explainStartupError } from '../../src/startup-errors.js';
import { freePort } from '../helpers/process.js';

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'logagg-startup-'));

/** `logagg serve` with this environment, expected to fail at start: its exit code, stderr and stdout. */
async function failedStart(env: Record<string, string>): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'serve'], {
      env: { ...process.env, DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      timeout: 60_000,
    });
  } catch (err) {
    const failure = err as { code?: number; stderr?: string; stdout?: string };
    return { code: failure.code ?? -1, stderr: failure.stderr ?? '', stdout: failure.stdout ?? '' };
  }
  assert.fail('the server started');
}

// A wrong setting at start names the setting and says what is wrong in words (issue 14 §5).
describe('start-up failures explain themselves', { timeout: 240_000 }, () => {
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a database that does not exist: PostgreSQL own reason and DATABASE_URL', { skip: !process.env.TEST_DATABASE_URL }, async () => {
    const url = new URL(process.env.TEST_DATABASE_URL as string);
    url.pathname = '/logagg_no_such_database';
    const { code, stderr } = await failedStart({ DATABASE_URL: url.toString() });
    assert.equal(code, 1);
    assert.match(stderr, /PostgreSQL refused: database "logagg_no_such_database" does not exist \(SQLSTATE 3D000\); check DATABASE_URL/);
  });

  test('NATS unreachable names NATS and NATS_URL, before any "Server listening"', async () => {
    const natsPort = await freePort();
    const { code, stderr, stdout } = await failedStart({ PORT: String(await freePort()), NATS_URL: `nats://127.0.0.1:${natsPort}` });
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`Cannot start the NATS transport at nats://127.0.0.1:${natsPort}/? \\(NATS_URL\\): .*ECONNREFUSED`));
    assert.doesNotMatch(stdout, /Server listening/);
  });

  test('a busy port and an unknown HOST are explained in words', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const { code, stderr } = await failedStart({ PORT: String(port) });
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`Port ${port} on 127.0.0.1 is already in use by another process \\(PORT=${port}, HOST=127.0.0.1\\)`));
    } finally {
      busy.close();
    }
    const { stderr } = await failedStart({ HOST: 'no-such-host.invalid', PORT: '0' });
    assert.match(stderr, /HOST "no-such-host.invalid" is not a name this machine can resolve \(HOST, E[A-Z_]+\)/);
  });

  test('a bad retention rule stops the start and is named, before any "Server listening"', async () => {
    const { code, stderr, stdout } = await failedStart({
      PORT: '0',
      RETENTION: '30d',
      RETENTION_RULES: 'payments.*=400d/800d, debug.*=3x',
    });
    assert.equal(code, 1);
    assert.match(
      stderr + stdout,
      /RETENTION_RULES rule 2 \("debug\.\*=3x"\): the window must be a duration like 30d, 12h, 90m or 45s, or "forever"; got "3x"/,
    );
    assert.doesNotMatch(stdout, /Server listening/);
  });

  test('EACCES, EADDRNOTAVAIL and an unreachable PostgreSQL map to STARTUP_FAILED with the setting', () => {
    const ctx = { host: '10.0.0.9', port: 80, databaseUrl: 'postgres://u:secret@db:5432/x' };
    const explain = (step: 'store' | 'listen', code: string) =>
      explainStartupError(step, Object.assign(new Error(`listen ${code}`), { code }), ctx) as Error & { code?: string };
    assert.match(explain('listen', 'EACCES').message, /Not allowed to listen on port 80 \(PORT\)/);
    assert.match(explain('listen', 'EADDRNOTAVAIL').message, /HOST "10.0.0.9" is not an address of this machine \(HOST\)/);
    const pg = explain('store', 'ECONNREFUSED');
    assert.equal(pg.code, 'STARTUP_FAILED');
    assert.match(pg.message, /Cannot reach PostgreSQL: .*check DATABASE_URL \(postgres:\/\/u:\*\*\*@db:5432\/x\)/);
    assert.doesNotMatch(pg.message, /secret/);
    const other = new Error('something else');
    assert.equal(explainStartupError('listen', other, ctx), other, 'an unknown failure is passed on as it is');
  });
});
