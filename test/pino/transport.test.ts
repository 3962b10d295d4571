import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { firstPublishes, startFaultProxy } from '../client/fault-proxy.js';
import { get, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/**
 * A built copy of the package in a temporary directory: package.json (with its "exports"), dist/ compiled by tsc
 * from src/pino/index.ts and everything it imports, node_modules linked. The fixture runs there with plain node,
 * so 'logagg/pino' resolves as it does for a user: package self-reference → exports → dist/pino/index.js, loaded
 * by pino in its worker thread. (TypeScript source cannot be used: on Node 20 a worker thread does not inherit
 * tsx's loader hooks.) Built aside rather than in ./dist, which other work may be writing.
 */
async function buildPackage(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'logagg-pino-'));
  await run(process.execPath, [
    join(ROOT, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(ROOT, 'test/pino/fixtures/tsconfig.pino.json'),
    '--outDir',
    join(dir, 'dist'),
  ]);
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  mkdirSync(join(dir, 'fixtures'));
  copyFileSync(join(ROOT, 'test/pino/fixtures/log-lines.mjs'), join(dir, 'fixtures/log-lines.mjs'));
  return dir;
}

interface Run {
  code: number | null;
  stderr: string;
}

interface LogSettings {
  url: string;
  topic: string;
  lines: number;
  ending: 'exit' | 'natural';
  transport?: Record<string, unknown>;
  /** The line that carries a `__proto__` key. */
  poisoned?: number;
}

function logLines(dir: string, settings: LogSettings): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['fixtures/log-lines.mjs', JSON.stringify(settings)], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the logging process did not exit within 30 s:\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      done({ code, stderr });
    });
  });
}

async function storedLines(url: string, topic: string): Promise<StoredEvent[]> {
  return (await get<StoredEvent[]>(`${url}/events?topic=${encodeURIComponent(topic)}&limit=10000`)).body;
}

function assertEachLineOnce(rows: readonly StoredEvent[], lines: number): void {
  const seen = rows.map((row) => (row.payload as { n: number }).n).sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    Array.from({ length: lines }, (_, n) => n),
  );
}

describe('logagg/pino transport in a real pino worker', { timeout: 120_000 }, () => {
  const server = serverForSuite('pglite');
  let dir = '';
  before(async () => {
    dir = await buildPackage();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a service that logs 300 lines and calls process.exit at once has every line stored exactly once', async () => {
    const topic = uniqueTopic('pino-exit');
    // A linger of a minute and room for every line in one batch: only the close hook's flush can send them.
    const result = await logLines(dir, {
      url: server.url,
      topic,
      lines: 300,
      ending: 'exit',
      transport: { lingerMs: 60_000, batchMax: 10_000 },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /LOGAGG_PINO_NOT_STORED/);
    const rows = await storedLines(server.url, topic);
    assertEachLineOnce(rows, 300);
    const first = rows[0] as StoredEvent;
    const payload = first.payload as { time: number; msg: string; n: number; hostname: string; level: number };
    assert.match(first.event_id, UUID_V7);
    assert.equal(first.source, hostname(), 'no source option: the line hostname');
    assert.equal(Date.parse(first.timestamp), payload.time, 'the event time is the line time');
    assert.deepEqual({ msg: payload.msg, level: payload.level }, { msg: `line ${payload.n}`, level: 30 });
    const counts = (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
    assert.deepEqual(counts && [counts.received, counts.unique_processed, counts.duplicate_dropped], [300, 300, 0]);
  });

  test('a service that ends by itself has every line stored exactly once, in several batches', async () => {
    const topic = uniqueTopic('pino-natural');
    const result = await logLines(dir, {
      url: server.url,
      topic,
      lines: 1200,
      ending: 'natural',
      transport: { source: 'checkout-7', batchMax: 500 },
    });
    assert.equal(result.code, 0, result.stderr);
    const rows = await storedLines(server.url, topic);
    assertEachLineOnce(rows, 1200);
    assert.ok(rows.every((row) => row.source === 'checkout-7'));
  });

  test('lines refused with 503 + Retry-After while the service exits are retried before the worker stops', async (t) => {
    const topic = uniqueTopic('pino-retry');
    const overloaded = {
      kind: 'answer',
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: 'OVERLOADED', message: 'queue full' },
    } as const;
    const proxy = await startFaultProxy(t, server.url, firstPublishes(1, overloaded));
    const result = await logLines(dir, { url: proxy.url, topic, lines: 100, ending: 'exit', transport: { lingerMs: 60_000 } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(proxy.requests.filter((r) => r.path.startsWith('/publish')).length, 2);
    assertEachLineOnce(await storedLines(server.url, topic), 100);
  });

  test('lines the server refuses for good are reported on stderr, not dropped silently', async () => {
    const result = await logLines(dir, { url: server.url, topic: 'x'.repeat(300), lines: 3, ending: 'exit' });
    assert.equal(result.code, 0);
    const reports = result.stderr.split('\n').filter((text) => text.includes('LOGAGG_PINO_NOT_STORED'));
    assert.equal(reports.length, 3, result.stderr);
    for (const report of reports)
      assert.match(report, /1 log line\(s\) not stored: the server refused the event: HTTP 422 VALIDATION_FAILED: \/topic /);
  });

  test('with the queue full at the end (maxQueue 2, a slow server), the line held while waiting for room is still stored', async (t) => {
    // Each request waits 20 ms, so the last line reaches the transport while two are pending: the loop holds it in
    // waitForRoom when the stream ends, and the close hook must let it be published before closing the publisher.
    const proxy = await startFaultProxy(t, server.url, (_n, path) =>
      path.startsWith('/publish') ? { kind: 'delay', ms: 20 } : { kind: 'forward' },
    );
    for (const ending of ['exit', 'natural'] as const) {
      const topic = uniqueTopic(`pino-full-${ending}`);
      const result = await logLines(dir, {
        url: proxy.url,
        topic,
        lines: 20,
        ending,
        transport: { maxQueue: 2, batchMax: 1, lingerMs: 0 },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /LOGAGG_PINO_NOT_STORED/, ending);
      assertEachLineOnce(await storedLines(server.url, topic), 20);
    }
  });

  test('a line carrying a __proto__ key is refused alone: the lines that shared its request are stored', async () => {
    const topic = uniqueTopic('pino-proto');
    // One batch of the three lines: the server refuses the whole body (400 INVALID_JSON), the publisher halves it.
    const result = await logLines(dir, { url: server.url, topic, lines: 3, ending: 'exit', poisoned: 1, transport: { lingerMs: 60_000 } });
    assert.equal(result.code, 0, result.stderr);
    const reports = result.stderr.split('\n').filter((text) => text.includes('LOGAGG_PINO_NOT_STORED'));
    assert.equal(reports.length, 1, result.stderr);
    assert.match(reports[0] ?? '', /1 log line\(s\) not stored: the server refused the event: HTTP 400 INVALID_JSON/);
    assert.deepEqual((await storedLines(server.url, topic)).map((row) => (row.payload as { n: number }).n).sort(), [0, 2]);
  });

  test('when the server does not answer, the app still exits after at most 10 s and reports the unconfirmed lines', async (t) => {
    const proxy = await startFaultProxy(t, server.url, () => ({ kind: 'hang' }));
    const result = await logLines(dir, { url: proxy.url, topic: uniqueTopic('pino-hang'), lines: 5, ending: 'exit' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /LOGAGG_PINO_NOT_STORED\] 5 log line\(s\) not confirmed stored when the app exited/);
  });

  test('package.json exports name built files that exist, with types, and the client entry points load', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      for (const condition of ['types', 'default'] as const) {
        const file = target[condition];
        assert.ok(file, `${entry} has a "${condition}" condition`);
        assert.doesNotThrow(() => readFileSync(join(dir, file)), `${entry} → ${file} is built`);
      }
      assert.equal(
        target['logagg-source']?.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js'),
        target.default,
        `${entry}: source and build are the same module`,
      );
    }
    const probe =
      "for (const name of ['logagg', 'logagg/client']) { const m = await import(name); if (typeof m.createPublisher !== 'function') throw new Error(name); } console.log('ok')";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir });
    assert.equal(stdout.trim(), 'ok');
  });
});
