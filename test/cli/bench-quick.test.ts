import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

// The bench needs PostgreSQL for its raw ceiling and most scenarios: it runs where the suite has one.
const databaseUrl = process.env.TEST_DATABASE_URL;

// It takes about 3 minutes on a quiet machine; 15 leaves room for a CI machine busy with other work (each scenario
// starts servers and load generators, the most CPU-hungry file in the suite).
describe('npm run bench:quick', { timeout: 900_000 }, () => {
  test(
    'runs every scenario at smoke size, passes each verification and writes the results table',
    { skip: databaseUrl ? false : 'needs TEST_DATABASE_URL' },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'logagg-bench-test-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, 'RESULTS.md');
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
        env: { ...process.env, BENCH_DATABASE_URL: databaseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, output);
      const results = readFileSync(out, 'utf8');
      for (const title of [
        'Raw ceiling',
        'Batched ingest (PostgreSQL)',
        'Replicas: 2 vs 1 (PostgreSQL)',
        'Commit to live subscriber (PostgreSQL, 2 replicas)',
        'Single-event ingest',
        "Brief's workload",
        'Query latency',
        'Batched ingest (embedded PGlite)',
        'Retention and the dedup window (PostgreSQL)',
        'NDJSON vs JSON batched ingest (PostgreSQL)',
        'Loki push (JSON, protobuf) vs POST /publish JSON (PostgreSQL)',
      ]) {
        assert.ok(results.includes(`| ${title}`), `${title} is in the table`);
      }
      assert.doesNotMatch(results, /FAILED/);
      assert.match(results, /command: `npm run bench -- --quick/);
      assert.match(results, /÷ raw ceiling \| \d+\.\d\d \| ratio/);
      // Read from the server's /metrics: a name or format change there would leave NaN here.
      assert.match(results, /\| events per batch \(mean\) \| \d[\d,.]* \| events/);
      assert.match(results, /\| batch commit time \(mean\) \| \d[\d,.]* \| ms/);
    },
  );
});
