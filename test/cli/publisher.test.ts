import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { parsePublisherArgs } from '../../src/cli/publish.js';
import { type PublisherOptions, runPublisher } from '../../src/cli/publish-run.js';
import { uniqueTopic } from '../helpers/events.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshStore, type StoreLocation, storeKinds } from '../helpers/stores.js';

const options = (url: string, overrides: Partial<PublisherOptions>): PublisherOptions => ({
  url,
  events: 2000,
  dupRate: 0.3,
  topics: 5,
  batch: 50,
  concurrency: 8,
  seed: 7,
  payloadBytes: 64,
  topicPrefix: uniqueTopic('publisher'),
  ...overrides,
});

/** Runs the CLI as a real process; resolves with its exit code and output. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/publish.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const kind of storeKinds()) {
  describe(`publisher against the real aggregator [${kind}]`, { timeout: 120_000 }, () => {
    let location: StoreLocation;
    let server: TestServer;
    before(async () => {
      location = await freshStore(kind);
      server = await startServer(location);
    });
    after(async () => {
      await server.stop();
      await location.destroy();
    });

    for (const batch of [50, 1]) {
      test(`2,000 events with 30% re-sends in batches of ${batch} pass the /stats verification`, async () => {
        const report = await runPublisher(options(server.url, { batch, concurrency: batch === 1 ? 32 : 8 }));
        assert.deepEqual(
          report.checks.filter((c) => !c.ok),
          [],
        );
        assert.equal(report.ok, true);
        assert.equal(report.sent, 2000);
        assert.equal(report.distinctSent, 1400);
        assert.deepEqual(report.gained, { received: 2000, unique_processed: 1400, duplicate_dropped: 600 });
        assert.equal(report.latencyMs.count, report.requests);
      });
    }

    test('replaying a stream already sent fails the verification: every event is a duplicate the second time', async () => {
      const replayed = options(server.url, { events: 300 });
      assert.equal((await runPublisher(replayed)).ok, true);
      const again = await runPublisher(replayed);
      assert.equal(again.ok, false);
      const unique = again.checks.find((c) => c.name.startsWith('unique gained'));
      assert.deepEqual(unique && { expected: unique.expected, actual: unique.actual }, { expected: '210', actual: 0 });
    });

    test('the CLI exits 0 and prints the verification when it passes', async () => {
      const result = await runCli(['--url', server.url, '--events', '500', '--batch', '25', '--topic-prefix', uniqueTopic('cli')]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /verification passed/);
    });

    test('the CLI prints the report as JSON with --json', async () => {
      const result = await runCli(['--url', server.url, '--events', '100', '--json', '--topic-prefix', uniqueTopic('cli-json')]);
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { ok: boolean; sent: number };
      assert.deepEqual({ ok: report.ok, sent: report.sent }, { ok: true, sent: 100 });
    });
  });
}

describe('publisher command line', { timeout: 60_000 }, () => {
  test('defaults follow the brief: 20,000 events, 30% duplicates, 5 topics, local aggregator', () => {
    const parsed = parsePublisherArgs([]);
    assert.notEqual(parsed, 'help');
    if (parsed === 'help') return;
    const { url, events, dupRate, topics } = parsed.options;
    assert.deepEqual({ url, events, dupRate, topics }, { url: 'http://127.0.0.1:8080', events: 20000, dupRate: 0.3, topics: 5 });
    assert.equal(parsed.json, false);
  });

  test('a bad option value is refused with a message naming the option', () => {
    assert.throws(() => parsePublisherArgs(['--dup-rate', '1.5']), /--dup-rate/);
    assert.throws(() => parsePublisherArgs(['--batch', '0']), /--batch/);
    assert.throws(() => parsePublisherArgs(['--nope']), /nope/);
  });

  test('the CLI exits 2 on bad usage and 1 when the aggregator cannot be reached', async () => {
    assert.equal((await runCli(['--events', 'many'])).code, 2);
    const unreachable = await runCli(['--url', 'http://127.0.0.1:9', '--events', '10', '--max-attempts', '1']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /ECONNREFUSED|gave up/);
  });
});
