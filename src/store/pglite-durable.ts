import { closeSync, existsSync, fsyncSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Extension, PGlite } from '@electric-sql/pglite';

/*
 * PGlite 0.5.16 (pinned) never makes a commit durable by itself: its start parameters include -F (fsync off),
 * its WebAssembly glue makes fdatasync a no-op, and its Node filesystem (NODEFS) has no stream_ops.fsync, so
 * fd_sync silently succeeds. Here PostgreSQL's own logic decides what to flush and when (WAL at every commit,
 * data files at checkpoints, directories after renames); we only make its fsync reach the disk:
 *  - start without -F, with fsync=on and wal_sync_method=fsync (the fdatasync path is the no-op one);
 *  - supply NODEFS.stream_ops.fsync as fs.fsyncSync on the stream's host fd, installed in an Emscripten preRun
 *    hook, before PostgreSQL starts or replays WAL after a crash;
 *  - flush the files initdb created once, because PGlite copies them in without any fsync.
 * test/store/durability.test.ts checks the result on a system-call trace.
 */

/**
 * The buffer pool, given to initdb and to every start, durable or not (a cluster made by PGlite's own initdb, as
 * stores were before src/store/pglite-initdb.ts, says 128MB in its postgresql.conf): PGlite touches the whole pool
 * in its WebAssembly memory at start, and that memory never shrinks, so 128MB cost ~120 MiB of resident memory;
 * 16MB measured the same ingest rate. 8MB saved another 8 MiB but inserted slower once the indexes outgrew it
 * (docs/performance.md, "The embedded store's memory").
 */
export const BUFFER_POOL_PARAMS: readonly string[] = ['-c', 'shared_buffers=16MB'];

/** PGlite's defaults without -F, with a WAL sync method whose path reaches fsync, and our buffer pool. */
export const DURABLE_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams.filter((param) => param !== '-F'),
  '-c',
  'fsync=on',
  '-c',
  'wal_sync_method=fsync',
  '-c',
  'full_page_writes=on',
  ...BUFFER_POOL_PARAMS,
];

/** EMBEDDED_SYNC=off: PGlite's defaults (fsync off), with the same buffer pool. */
export const UNSYNCED_START_PARAMS: readonly string[] = [...PGlite.defaultStartParams, ...BUFFER_POOL_PARAMS];

// The few Emscripten internals touched; they are not in PGlite's public types, hence the pinned version.
interface NodefsStream {
  nfd?: number;
}
interface EmscriptenModule {
  NODEFS: {
    stream_ops: { fsync?: (stream: NodefsStream) => number };
    tryFSOperation<T>(operation: () => T): T;
  };
}

function installFsync(module: EmscriptenModule): void {
  const { NODEFS } = module;
  NODEFS.stream_ops.fsync = (stream) => {
    const fd = stream.nfd;
    if (fd === undefined) return 0;
    // A failure becomes an errno for PostgreSQL, which PANICs on a failed WAL flush rather than go on unsafely.
    NODEFS.tryFSOperation(() => fsyncSync(fd));
    return 0;
  };
}

/** A JS-only PGlite extension whose only job is the preRun hook above. */
export const durableFsyncExtension: Extension = {
  name: 'logagg-durable-fsync',
  setup: async (_pg, emscriptenOpts: { preRun?: unknown }) => {
    const previous = emscriptenOpts.preRun ?? [];
    return {
      emscriptenOpts: {
        ...emscriptenOpts,
        preRun: [...(Array.isArray(previous) ? previous : [previous]), installFsync],
      },
    };
  },
};

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes every file, then each directory bottom-up, then the root's parent (new entries need it too). */
export function fsyncTree(root: string): void {
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) fsyncPath(path);
    }
    fsyncPath(dir);
  };
  walk(root);
  fsyncPath(dirname(root));
}

const SYNCED_MARKER = 'logagg-initdb-synced';

/**
 * Makes sure the files initdb wrote are on disk once; a marker records it. A missing marker (first start, or a
 * crash before the flush finished) means: flush again.
 */
export function ensureInitdbSynced(pgdata: string): void {
  const marker = join(pgdata, SYNCED_MARKER);
  if (existsSync(marker)) return;
  fsyncTree(pgdata);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  fsyncPath(marker);
  fsyncPath(pgdata);
}
