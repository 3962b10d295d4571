import type { ErrorCode } from '../errors.js';

/*
 * The messages between the main thread (src/store/pglite.ts) and the worker that owns PGlite
 * (src/store/pglite-worker.ts). Only plain data crosses: errors travel as their code and message.
 */

/** Given to the worker as workerData. */
export interface WorkerInit {
  /** DATA_DIR/pgdata. */
  pgdata: string;
  sync: boolean;
}

/** One statement (or transaction step) for the worker; the main thread sends the next only after the reply. */
export type WorkerRequest =
  | { id: number; op: 'query'; text: string; params: unknown[] | undefined }
  | { id: number; op: 'exec'; text: string }
  | { id: number; op: 'begin' | 'commit' | 'rollback' | 'close' };

/** A request before the main thread numbers it. */
export type WorkerCall = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** An error as it crosses the thread boundary. */
export interface WireError {
  code: Extract<ErrorCode, 'STORE_FAILED' | 'STORE_FULL' | 'STORE_UNAVAILABLE'>;
  message: string;
  /** PostgreSQL's SQLSTATE, when the engine gave one. */
  sqlstate: string | undefined;
  /** PostgreSQL's own message (or the host error's). */
  cause: string;
}

export type WorkerReply =
  | { type: 'opened' }
  | { type: 'open-failed'; error: WireError }
  | { type: 'result'; id: number; rows: unknown[] }
  | { type: 'error'; id: number; error: WireError };

// SQLSTATE 53100 disk_full; a host error with ENOSPC (or EDQUOT) means the same to an operator.
const FULL_SQLSTATE = '53100';
const FULL_ERRNO = /\b(ENOSPC|EDQUOT)\b|No space left on device|Disk quota exceeded/;

/** Classifies an engine error: a full disk is retryable after the operator frees space, the rest is STORE_FAILED. */
export function toWireError(err: unknown): WireError {
  const sqlstate = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const cause = err instanceof Error ? err.message : String(err);
  if (sqlstate === FULL_SQLSTATE || FULL_ERRNO.test(cause) || sqlstate === 'ENOSPC') {
    return { code: 'STORE_FULL', message: 'The embedded store has no disk space left; retry later', sqlstate, cause };
  }
  return { code: 'STORE_FAILED', message: 'The store refused or failed the statement', sqlstate, cause };
}
