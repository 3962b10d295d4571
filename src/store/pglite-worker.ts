import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { DURABLE_START_PARAMS, durableFsyncExtension, ensureInitdbSynced, UNSYNCED_START_PARAMS } from './pglite-durable.js';
import { toWireError, type WorkerInit, type WorkerReply, type WorkerRequest } from './pglite-protocol.js';

/*
 * The worker thread that owns PGlite: every statement of the embedded store runs here, so a long or stuck one
 * (a big read, a commit on a full disk) blocks this thread only, never HTTP or signal handling on the main
 * thread. The main thread sends one request at a time and waits for its reply, so this thread never queues:
 * one writer, one connection, as before. It never opens the data directory twice: the main thread starts a new
 * worker only after the old one has exited.
 */

const port = parentPort;
if (!port) throw new Error('pglite-worker.ts runs as a worker thread only');
const init = workerData as WorkerInit;
const send = (reply: WorkerReply): void => port.postMessage(reply);

/** Refuses to run with a setting that would make commits volatile (a PGlite upgrade changing its defaults). */
async function assertDurable(db: PGlite): Promise<void> {
  const settings = await db.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'wal_sync_method', 'synchronous_commit')",
  );
  const value = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
  if (value.fsync !== 'on' || value.wal_sync_method !== 'fsync' || value.synchronous_commit !== 'on') {
    throw new Error(`The embedded store is not durable: ${JSON.stringify(value)}`);
  }
}

async function open(): Promise<PGlite> {
  // pg_trgm: migration 4 creates the extension (its index is gone since migration 5, the extension stays).
  const db = init.sync
    ? await PGlite.create(init.pgdata, { startParams: [...DURABLE_START_PARAMS], extensions: { durableFsyncExtension, pg_trgm } })
    : await PGlite.create(init.pgdata, { startParams: [...UNSYNCED_START_PARAMS], extensions: { pg_trgm } });
  try {
    if (init.sync) {
      ensureInitdbSynced(init.pgdata);
      await assertDurable(db);
    }
  } catch (err) {
    // Not left open behind a refusal: the main thread may reopen the directory.
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

async function serve(db: PGlite, request: WorkerRequest): Promise<unknown[]> {
  switch (request.op) {
    case 'query':
      return (await db.query(request.text, request.params)).rows;
    case 'exec':
      await db.exec(request.text);
      return [];
    case 'begin':
      await db.exec('BEGIN');
      return [];
    case 'commit':
      await db.exec('COMMIT');
      return [];
    case 'rollback':
      await db.exec('ROLLBACK');
      return [];
    case 'close':
      await db.close();
      return [];
  }
}

try {
  const db = await open();
  send({ type: 'opened' });
  port.on('message', (request: WorkerRequest) => {
    serve(db, request).then(
      (rows) => {
        send({ type: 'result', id: request.id, rows });
        if (request.op === 'close') port.close();
      },
      (err: unknown) => send({ type: 'error', id: request.id, error: toWireError(err) }),
    );
  });
} catch (err) {
  send({ type: 'open-failed', error: toWireError(err) });
  port.close();
}
