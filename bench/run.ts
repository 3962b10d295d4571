import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ServerEntry } from './aggregator.js';
import { describeEnvironment, renderResults, resultsTable } from './report.js';
import type { BenchContext, Scenario, ScenarioResult } from './scenario.js';
import { batchedIngestScenario } from './scenarios/batched-ingest.bench.js';
import { briefWorkloadScenario } from './scenarios/brief-workload.bench.js';
import { esBulkScenario } from './scenarios/es-bulk.bench.js';
import { embeddedBatchedScenario } from './scenarios/embedded-batched.bench.js';
import { lokiPushScenario } from './scenarios/loki-push.bench.js';
import { ndjsonIngestScenario } from './scenarios/ndjson-ingest.bench.js';
import { otlpIngestScenario } from './scenarios/otlp-ingest.bench.js';
import { quotaIsolationScenario } from './scenarios/quota-isolation.bench.js';
import { queryLatencyScenario } from './scenarios/query-latency.bench.js';
import { rawCeilingScenario } from './scenarios/raw-ceiling.bench.js';
import { replicasScenario } from './scenarios/replicas.bench.js';
import { retentionScenario } from './scenarios/retention.bench.js';
import { search5mScenario, searchIngestScenario, searchScenario } from './scenarios/search.bench.js';
import { singleIngestScenario } from './scenarios/single-ingest.bench.js';
import { streamLatencyScenario } from './scenarios/stream-latency.bench.js';
import { topicsScenario } from './scenarios/topics.bench.js';

// Raw ceiling first: the ingest scenarios report their share of it.
const SCENARIOS: readonly Scenario[] = [
  rawCeilingScenario,
  batchedIngestScenario,
  replicasScenario,
  streamLatencyScenario,
  ndjsonIngestScenario,
  esBulkScenario,
  lokiPushScenario,
  singleIngestScenario,
  briefWorkloadScenario,
  queryLatencyScenario,
  embeddedBatchedScenario,
  retentionScenario,
  topicsScenario,
  otlpIngestScenario,
  searchScenario,
  search5mScenario,
  searchIngestScenario,
  quotaIsolationScenario,
];

const USAGE = `usage: npm run bench -- [--runs N] [--quick] [--only id,id] [--server dist|source] [--out FILE] [--cpu-prof DIR]
  scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}
  BENCH_DATABASE_URL: PostgreSQL to create scratch databases on (default postgres://postgres@127.0.0.1:5432/postgres)`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      server: { type: 'string' },
      out: { type: 'string', default: fileURLToPath(new URL('RESULTS.md', import.meta.url)) },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  const entry = (values.server ?? (values.quick ? 'source' : 'dist')) as ServerEntry;
  const only = values.only?.split(',');
  const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
  if (!Number.isInteger(runs) || runs < 1 || !['dist', 'source'].includes(entry) || unknown.length > 0) {
    console.error(`bench: bad arguments${unknown.length > 0 ? ` (unknown scenario ${unknown.join(', ')})` : ''}\n${USAGE}`);
    return 2;
  }
  const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  if (entry === 'dist') {
    console.error('bench: building dist/ (npm run build)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const ctx: BenchContext = {
    quick: values.quick,
    runs,
    adminUrl,
    entry,
    // One .cpuprofile per aggregator process, written when it exits: open in Chrome DevTools or speedscope.
    nodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [],
    log: (message) => console.error(`bench: ${message}`),
  };
  const serverLine = `${entry === 'dist' ? 'node dist/server.js' : 'node --import tsx src/server.ts'} as a child process, default settings, fresh database or data directory per run`;
  const env = await describeEnvironment(adminUrl, argv, runs, serverLine);
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
    ctx.log(`── ${scenario.title}`);
    const started = performance.now();
    results.push(await scenario.run(ctx));
    ctx.log(`   ${scenario.id} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  writeFileSync(values.out, renderResults(env, results));
  console.log(resultsTable(results));
  console.log(`\nwritten to ${values.out}`);
  const failed = results.filter((r) => !r.verified);
  if (failed.length > 0) console.error(`bench: verification FAILED in ${failed.map((r) => r.title).join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('bench: failed', err);
    process.exitCode = 1;
  },
);
