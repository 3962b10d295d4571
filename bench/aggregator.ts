import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** How the aggregator child is started: the built dist/server.js (what ships) or src/server.ts through tsx. */
export type ServerEntry = 'dist' | 'source';

/** A postgres store gets a fresh scratch database, dropped on stop, unless `databaseUrl` names one to join (a replica). */
export type BenchStore = { kind: 'postgres'; adminUrl: string; databaseUrl?: string } | { kind: 'pglite' };

export interface Aggregator {
  url: string;
  pid: number;
  /** The scratch database it runs on (PostgreSQL runs), for scenarios that measure the tables. */
  databaseUrl: string | undefined;
  /** Peak resident set (VmHWM) of the aggregator process so far, in MiB. */
  peakRssMb(): number;
  /** SIGTERM, wait for exit, then drop its database or data directory. */
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A fresh scratch database on the server of adminUrl; returns its URL and a function that drops it. */
export async function createScratchDatabase(adminUrl: string, label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `logagg_bench_${label}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * How `npm start` runs the server (package.json): its environment assignments (MALLOC_ARENA_MAX) and node flags,
 * for the scenarios that measure the default embedded aggregator. Both act only when the process starts, so the
 * bench has to pass them the same way.
 */
export function npmStart(): { env: Record<string, string>; nodeArgs: string[] } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const match = /((?:\b[A-Z_]+=\S+ )*)node((?: --\S+)*) dist\/server\.js/.exec(pkg.scripts.start);
  if (match === null)
    throw new Error(`package.json's start script no longer runs [VAR=value …] node … dist/server.js: ${pkg.scripts.start}`);
  const words = (text: string | undefined): string[] => (text ?? '').split(' ').filter((word) => word !== '');
  const env = Object.fromEntries(words(match[1]).map((assignment) => assignment.split('=', 2) as [string, string]));
  return { env, nodeArgs: words(match[2]) };
}

function vmHwmMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
}

async function waitUntilHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`aggregator exited (${child.exitCode}) before it was ready:\n${output()}`);
    const healthy = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`aggregator not healthy within 60 s:\n${output()}`);
}

/** Starts the aggregator as its own process on a fresh store, so load generator and server never share a heap. */
export async function startAggregator(
  store: BenchStore,
  entry: ServerEntry,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<Aggregator> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logagg-bench-'));
  const joined = store.kind === 'postgres' ? store.databaseUrl : undefined;
  const database =
    joined !== undefined
      ? { url: joined, drop: () => Promise.resolve() }
      : store.kind === 'postgres'
        ? await createScratchDatabase(store.adminUrl, 'run')
        : undefined;
  const port = await freePort();
  const args = [...nodeArgs, ...(entry === 'dist' ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts'])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: database?.url ?? '',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = async (): Promise<void> => {
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilHealthy(url, child, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    throw err;
  }
  const pid = child.pid as number;
  return {
    url,
    pid,
    databaseUrl: database?.url,
    peakRssMb: () => vmHwmMb(pid),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await cleanup();
    },
  };
}
