import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';
import { type Figure, meets, type ScenarioResult } from './scenario.js';

export interface Environment {
  command: string;
  date: string;
  commit: string;
  machine: string;
  versions: string;
  server: string;
  runs: number;
}

const packageVersion = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout (a tarball): the report says so instead of failing the bench.
    return '';
  }
}

/** Where and with what the figures were measured: the command, versions, machine and database settings. */
export async function describeEnvironment(adminUrl: string, argv: string[], runs: number, serverLine: string): Promise<Environment> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const setting = async (name: string): Promise<string> =>
    (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '?';
  const postgres = `PostgreSQL ${await setting('server_version')} (fsync ${await setting('fsync')}, synchronous_commit ${await setting('synchronous_commit')})`;
  await client.end();
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = git(['status', '--porcelain']) !== '';
  const cpu = cpus();
  return {
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    date: new Date().toISOString(),
    commit: `${commit}${dirty ? ' with uncommitted changes' : ''}`,
    machine: `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${process.platform}`,
    versions: `Node.js ${process.version}, pg ${packageVersion('pg')}, PGlite ${packageVersion('@electric-sql/pglite')}, ${postgres}`,
    server: serverLine,
    runs,
  };
}

function formatValue(value: number, unit: string): string {
  if (Number.isNaN(value)) return '–';
  if (unit === 'events/s' || unit === 'rows/s' || unit === 'rows') return Math.round(value).toLocaleString('en');
  if (unit === 'ratio') return value.toFixed(2);
  if (unit === 'MiB') return value.toFixed(0);
  return value.toFixed(value < 10 ? 2 : 1);
}

function formatTarget(f: Figure): string {
  if (!f.target) return '';
  return `${f.target.op === '>=' ? '≥' : '≤'} ${formatValue(f.target.value, f.unit)}`;
}

/** The figures as one markdown table: scenario, figure, median, the samples it is the median of, target, met. */
export function resultsTable(results: readonly ScenarioResult[]): string {
  const rows = ['| scenario | figure | median | unit | samples | target | met |', '|---|---|---:|---|---|---|---|'];
  for (const result of results) {
    for (const f of result.figures) {
      const met = meets(f);
      const samples = f.samples.map((s) => formatValue(s, f.unit)).join(', ');
      rows.push(
        `| ${result.title} | ${f.name} | ${formatValue(f.median, f.unit)} | ${f.unit} | ${samples} | ${formatTarget(f)} | ${met === undefined ? '' : met ? 'yes' : '**no**'} |`,
      );
    }
  }
  return rows.join('\n');
}

/** The whole RESULTS.md. */
export function renderResults(env: Environment, results: readonly ScenarioResult[]): string {
  return [
    '# Benchmark results',
    '',
    'Written by `bench/run.ts`; do not edit by hand. docs/performance.md explains each scenario and how to read it.',
    '',
    `- command: \`${env.command}\``,
    `- date: ${env.date}`,
    `- commit: ${env.commit}`,
    `- machine: ${env.machine} (load generator and aggregator share it)`,
    `- versions: ${env.versions}`,
    `- aggregator: ${env.server}`,
    `- each figure is the median of ${env.runs} run(s); the samples column lists every run`,
    '',
    resultsTable(results),
    '',
    '## Workloads and verification',
    '',
    "Ingest scenarios pass when the publisher's check against /stats deltas holds (unique gained = distinct keys sent, and",
    'so on); the raw ceiling checks the stored row count after each pass.',
    '',
    ...results.map((r) => `- **${r.title}**: ${r.workload}. Verification: ${r.verified ? 'passed on every run' : '**FAILED**'}.`),
    '',
  ].join('\n');
}
