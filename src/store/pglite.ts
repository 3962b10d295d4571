import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LogaggError } from '../errors.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Engine, QueryFn } from './engine.js';
import { type ClusterCreated, createClusterIfMissing } from './pglite-create.js';
import { DiskGuard } from './pglite-disk.js';
import type { WireError, WorkerCall, WorkerInit, WorkerReply, WorkerRequest } from './pglite-protocol.js';

export interface PgliteEngineOptions {
  dataDir: string;
  /** Flush every commit to disk before it is reported (default). Off trades power-cut safety for speed. */
  sync?: boolean;
  /** Called once open, with how long opening (including crash recovery, or creating the cluster) took. */
  onOpen?: (info: { openMs: number; recoveredFromCrash: boolean; created?: ClusterCreated }) => void;
  /** EMBEDDED_STATEMENT_TIMEOUT_MS: a statement running longer gets the engine restarted (default 30 s). */
  statementTimeoutMs?: number;
  /** MIN_FREE_DISK_MB: writes are refused with STORE_FULL below this much free space in dataDir (default 64; 0 off). */
  minFreeDiskMb?: number;
  /** Told when the engine is restarted (watchdog, disk full, crash) and when it is back. */
  onRestart?: (event: { state: 'lost'; reason: string } | { state: 'reopened'; openMs: number }) => void;
}

// The engine's file next to this module: .js from dist/ (production), .ts when this module runs under tsx (tests,
// bench --server source). tsx 4 registers its loader in the main thread only on Node 20, so a .ts worker first
// registers it for itself.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/**
 * The engine thread's young generation: by default it grows to 16 MiB semi-spaces filled with PGlite's
 * per-statement garbage and holds the ArrayBuffers behind it until a scavenge; 4 MiB took its heap from 45–56 to
 * 18–22 MiB under load (docs/performance.md, "The embedded store's memory").
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };
const WORKER_URL = new URL(FROM_SOURCE ? './pglite-worker.ts' : './pglite-worker.js', import.meta.url);
const newWorker = (workerData: WorkerInit): Worker =>
  FROM_SOURCE
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`,
        { eval: true, workerData, resourceLimits: WORKER_LIMITS },
      )
    : new Worker(WORKER_URL, { workerData, resourceLimits: WORKER_LIMITS });
const BACKOFF_MS = { first: 100, max: 5000 };

interface Running {
  worker: Worker;
  exited: Promise<void>;
}

interface InFlight {
  id: number;
  resolve: (rows: unknown[]) => void;
  reject: (err: LogaggError) => void;
  timer: NodeJS.Timeout;
}

/** SQLSTATE XX000: an error PostgreSQL did not expect, which leaves a single-process engine suspect. */
const INTERNAL_ERROR = 'XX000';

function fromWire(error: WireError): LogaggError {
  const cause = Object.assign(new Error(error.cause), { code: error.sqlstate });
  return new LogaggError(error.code, { message: `${error.message}: ${error.cause}`, cause });
}

/** Starts a worker and waits until PGlite is open in it; rejects (the worker gone) if it cannot open. */
async function startWorker(init: WorkerInit, onReply: (reply: WorkerReply) => void, onExit: () => void): Promise<Running> {
  const worker = newWorker(init);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => reject(err instanceof LogaggError ? err : new LogaggError('STORE_FAILED', { cause: err }));
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'opened') resolve();
      else if (reply.type === 'open-failed') fail(fromWire(reply.error));
      else onReply(reply);
    });
    worker.once('error', fail);
    void exited.then(() => fail(new LogaggError('STORE_UNAVAILABLE', { message: 'The embedded engine exited while opening' })));
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  void exited.then(onExit);
  return { worker, exited };
}

/**
 * Embedded PostgreSQL (PGlite) persisted in dataDir/pgdata, run in a worker thread (src/store/pglite-worker.ts)
 * so that no statement can stall the main thread. Statements go to the worker one at a time, in call order: one
 * writer, one connection. A statement running past statementTimeoutMs, an engine that dies, or a full disk (after
 * which PGlite 0.5.16 spins in its next commit) fails the calls in flight with STORE_UNAVAILABLE (STORE_FULL for
 * the disk) and the worker is replaced, with backoff, once the old one has exited.
 */
export async function createPgliteEngine(options: PgliteEngineOptions): Promise<Engine> {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockDataDir(options.dataDir);
  const init: WorkerInit = { pgdata: join(options.dataDir, 'pgdata'), sync: options.sync ?? true };
  const timeoutMs = options.statementTimeoutMs ?? 30_000;
  const guard = new DiskGuard(options.dataDir, (options.minFreeDiskMb ?? 64) * 1048576);
  let running: Running | undefined;
  let inFlight: InFlight | undefined;
  let nextId = 0;
  let closed = false;
  let backoffMs = BACKOFF_MS.first;
  let reopenTimer: NodeJS.Timeout | undefined;
  let opening: Promise<unknown> | undefined;
  // What calls get while no engine runs: STORE_FULL when it was lost to a full disk (and reopening fails on it too).
  let downCode: 'STORE_UNAVAILABLE' | 'STORE_FULL' = 'STORE_UNAVAILABLE';
  // Calls run one after another: a transaction holds the chain until it ends.
  let tail: Promise<unknown> = Promise.resolve();

  const onReply = (reply: WorkerReply): void => {
    if ((reply.type !== 'result' && reply.type !== 'error') || reply.id !== inFlight?.id) return;
    const call = inFlight;
    inFlight = undefined;
    clearTimeout(call.timer);
    if (reply.type === 'result') return call.resolve(reply.rows);
    const err = fromWire(reply.error);
    if (err.code === 'STORE_FULL') {
      call.reject(err);
      restart('disk full: PGlite could not write', 'STORE_FULL');
    } else if (reply.error.sqlstate === INTERNAL_ERROR) {
      // PGlite's own state is broken (seen after its first ENOSPC with the search index: "XLogBeginInsert was
      // already called"), and every later write would fail the same way: start a fresh engine. The disk tells
      // whether the client should hear STORE_FULL; either way it is a 503 to retry, never a 500.
      const code = guard.nearlyFull() ? 'STORE_FULL' : 'STORE_UNAVAILABLE';
      call.reject(new LogaggError(code, { message: `The embedded engine failed and is restarting: ${reply.error.cause}`, cause: err }));
      restart(`internal error: ${reply.error.cause}`, code);
    } else call.reject(err);
  };

  const reopen = (): void => {
    reopenTimer = undefined;
    if (closed || running) return;
    const started = performance.now();
    opening = startWorker(init, onReply, onExit).then(
      (worker) => {
        if (closed) return worker.worker.terminate().then(() => worker.exited);
        running = worker;
        backoffMs = BACKOFF_MS.first;
        options.onRestart?.({ state: 'reopened', openMs: Math.round(performance.now() - started) });
      },
      (err: unknown) => {
        if (err instanceof LogaggError && err.code === 'STORE_FULL') downCode = 'STORE_FULL';
        // Still no space, or the directory is busy: try again later, never in a loop.
        reopenTimer = setTimeout(reopen, backoffMs);
        backoffMs = Math.min(BACKOFF_MS.max, backoffMs * 2);
      },
    );
    void opening.finally(() => (opening = undefined));
  };

  /** The worker is gone or going: fail the call in flight, and start a new worker after the old one exited. */
  function restart(reason: string, code: typeof downCode = 'STORE_UNAVAILABLE'): void {
    const gone = running;
    running = undefined;
    downCode = code;
    if (inFlight) {
      clearTimeout(inFlight.timer);
      inFlight.reject(new LogaggError(code, { message: `The embedded engine was restarted: ${reason}` }));
      inFlight = undefined;
    }
    if (!gone) return;
    options.onRestart?.({ state: 'lost', reason });
    void gone.worker.terminate();
    void gone.exited.then(() => {
      if (!closed) reopenTimer = setTimeout(reopen, backoffMs);
    });
  }

  function onExit(): void {
    if (running && !closed) restart('the engine thread exited');
  }

  const send = (request: WorkerCall): Promise<unknown[]> =>
    new Promise((resolve, reject) => {
      if (!running) {
        const why = downCode === 'STORE_FULL' ? 'the disk is full' : 'the engine is restarting';
        reject(new LogaggError(downCode, { message: `The embedded store cannot take statements now (${why}); retry later` }));
        return;
      }
      const id = ++nextId;
      const timer = setTimeout(() => {
        restart(`a statement ran longer than EMBEDDED_STATEMENT_TIMEOUT_MS (${timeoutMs} ms)`);
      }, timeoutMs);
      inFlight = { id, resolve, reject, timer };
      running.worker.postMessage({ ...request, id } as WorkerRequest);
    });

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn, fn);
    tail = result.catch(() => undefined);
    return result;
  };

  const started = performance.now();
  let created: ClusterCreated | undefined;
  try {
    created = await createClusterIfMissing(options.dataDir, init.pgdata, init.sync);
    running = await startWorker(init, onReply, onExit);
  } catch (err) {
    // The worker closes an engine it refused (not durable) before it fails, so the lock can go.
    lock.release();
    throw new LogaggError('STORE_FAILED', { message: `Could not open the embedded store in ${options.dataDir}`, cause: err });
  }
  options.onOpen?.({
    openMs: Math.round(performance.now() - started),
    recoveredFromCrash: lock.tookOverStale,
    ...(created ? { created } : {}),
  });

  const query: QueryFn = async <R>(text: string, params?: readonly unknown[]) =>
    (await send({ op: 'query', text, params: params as unknown[] | undefined })) as R[];
  const exec = async (text: string): Promise<void> => {
    await send({ op: 'exec', text });
  };

  return {
    kind: 'pglite',
    writers: 1,
    query: (text, params) => serial(() => query(text, params)),
    exec: (text) => serial(() => exec(text)),
    checkWritable: () => guard.check(),
    transaction: (fn) =>
      serial(async () => {
        await send({ op: 'begin' });
        try {
          const result = await fn(query, exec);
          await send({ op: 'commit' });
          return result;
        } catch (err) {
          // The original error is the one to report; a restarted engine has rolled back by itself.
          await send({ op: 'rollback' }).catch(() => undefined);
          throw err;
        }
      }),
    close: () =>
      serial(async () => {
        closed = true;
        clearTimeout(reopenTimer);
        // A worker being opened holds the directory too: the lock is released only after it is gone.
        await opening;
        const last = running;
        try {
          if (last) await send({ op: 'close' }).catch(() => undefined);
        } finally {
          running = undefined;
          if (last) {
            await last.worker.terminate();
            await last.exited;
          }
          lock.release();
        }
      }),
  };
}
