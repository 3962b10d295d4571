import { fork } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What the initdb process (src/store/pglite-initdb.ts) answers. */
export type InitdbReply = { type: 'created'; initdbMs: number; peakRssMb: number } | { type: 'failed'; message: string };

/** Told to onOpen when this start created the cluster. */
export interface ClusterCreated {
  /** From starting the initdb process to the cluster in place, flushed. */
  ms: number;
  /** initdb alone, inside that process. */
  initdbMs: number;
  /** The initdb process's peak resident memory (its getrusage maxrss). */
  initdbPeakRssMb: number;
}

const STAGING = 'pgdata.creating-';
/** DATA_DIR/pgdata/<this>: when the cluster was made, and what making it cost (written by the initdb process). */
export const CREATION_RECORD = 'logagg-created.json';
// As for the worker (src/store/pglite.ts): the .ts entry under tsx, which the child then loads itself.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './pglite-initdb.ts' : './pglite-initdb.js', import.meta.url);
/**
 * Liftoff only: the optimizing tier compiles PGlite's 9 MB module for a run of seconds, ~100 MiB of code for no
 * gain (initdb measured no slower without it). A 1 MiB young generation and one platform thread: its peak from
 * 176 to 154 MiB, initdb no slower (docs/performance.md, "The initdb process's flags"); its peak plus the waiting
 * server's is what a container limit sees on a first start.
 */
const NODE_FLAGS = [
  ...(FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : []),
  '--liftoff-only',
  '--max-semi-space-size=1',
  '--v8-pool-size=1',
];

/**
 * Creates DATA_DIR/pgdata when it holds no cluster yet, in a short-lived child process, so that the server never
 * holds initdb's memory (docs/architecture.md). Called with the data-dir lock held. Returns undefined when the
 * cluster was already there.
 */
export async function createClusterIfMissing(dataDir: string, pgdata: string, sync: boolean): Promise<ClusterCreated | undefined> {
  if (existsSync(join(pgdata, 'PG_VERSION'))) return undefined;
  // Never initdb over files we did not make (an empty directory is replaced by the new cluster).
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
    throw new Error(`${pgdata} exists but holds no cluster (no PG_VERSION): move it away to start with an empty store`);
  }
  // A creation interrupted by a crash left its staging directory; under the lock nobody else is making one.
  for (const name of readdirSync(dataDir)) {
    if (name.startsWith(STAGING)) rmSync(join(dataDir, name), { recursive: true, force: true });
  }
  const staging = join(dataDir, `${STAGING}${process.pid}`);
  const started = performance.now();
  const child = fork(ENTRY, [pgdata, staging, sync ? 'on' : 'off'], { execArgv: NODE_FLAGS, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const reply = await new Promise<InitdbReply>((resolve) => {
    child.once('message', (message: InitdbReply) => resolve(message));
    child.once('error', (err) => resolve({ type: 'failed', message: err.message }));
    child.once('exit', (code, signal) =>
      resolve({ type: 'failed', message: `the initdb process exited (${signal ?? `code ${code}`}): ${stderr.trim()}` }),
    );
  });
  if (reply.type === 'failed') {
    child.kill('SIGKILL');
    throw new Error(`Could not create the embedded store's cluster: ${reply.message}`);
  }
  return { ms: Math.round(performance.now() - started), initdbMs: reply.initdbMs, initdbPeakRssMb: reply.peakRssMb };
}
