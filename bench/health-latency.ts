/**
 * /health latency while the embedded store is busy: a server on a fresh DATA_DIR, TOPICS events in as many topics,
 * then a long read requested back to back while /health is timed every 20 ms.
 * Usage: npx tsx bench/health-latency.ts [--topics N] [--seconds S] [--mode stats|scan]
 * Figures go to stdout; they belong in a report or docs, never in a test assertion.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { topics: { type: 'string' }, seconds: { type: 'string' }, port: { type: 'string' }, mode: { type: 'string' } },
});
// stats: /stats over many topics (engine time plus JSON on the main thread); scan: /events filtered on a source no
// event has, so the engine scans every row and returns nothing (engine time only).
const mode = values.mode ?? 'stats';
const busyPath = mode === 'scan' ? '/events?source=nobody&limit=10' : '/stats';
const topics = Number(values.topics ?? 30_000);
const seconds = Number(values.seconds ?? 10);
const port = Number(values.port ?? 18_000 + Math.floor(Math.random() * 1000));
const url = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'logagg-health-bench-'));

const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function timeHealth(until: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  while (!until()) {
    const started = performance.now();
    await fetch(`${url}/health`).then((r) => r.arrayBuffer());
    samples.push(performance.now() - started);
    await sleep(20);
  }
  return samples.sort((a, b) => a - b);
}

const show = (label: string, s: number[]): void =>
  console.log(
    `${label}: n=${s.length} p50=${pct(s, 50).toFixed(1)} ms p99=${pct(s, 99).toFixed(1)} ms max=${(s.at(-1) ?? NaN).toFixed(1)} ms`,
  );

try {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error('server did not start');
    await sleep(100);
  }
  const ts = '2025-10-21T10:00:00.000Z';
  for (let from = 0; from < topics; from += 5000) {
    const events = [];
    for (let i = from; i < Math.min(topics, from + 5000); i++)
      events.push({ topic: `t${i}`, event_id: '1', timestamp: ts, source: 's', payload: {} });
    const res = await fetch(`${url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    if (!res.ok) throw new Error(`publish ${res.status} ${await res.text()}`);
  }
  show(
    'idle /health',
    await timeHealth(
      (
        (end) => () =>
          Date.now() > end
      )(Date.now() + 3000),
    ),
  );
  let done = false;
  const statsMs: number[] = [];
  const load = (async () => {
    while (!done) {
      const started = performance.now();
      await fetch(`${url}${busyPath}`).then((r) => r.arrayBuffer());
      statsMs.push(performance.now() - started);
    }
  })();
  const busy = await timeHealth(
    (
      (end) => () =>
        Date.now() > end
    )(Date.now() + seconds * 1000),
  );
  done = true;
  await load;
  show(`/health while ${busyPath} runs back to back (${topics} events/topics)`, busy);
  show(
    `${busyPath} itself`,
    statsMs.sort((a, b) => a - b),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
