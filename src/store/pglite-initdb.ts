import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Extension, PGlite } from '@electric-sql/pglite';
import { BUFFER_POOL_PARAMS, ensureInitdbSynced, fsyncPath } from './pglite-durable.js';
import { CREATION_RECORD, type InitdbReply } from './pglite-create.js';

/*
 * The short-lived process that creates the embedded store's cluster (src/store/pglite-create.ts starts it). PGlite
 * 0.5.16 creates a missing cluster inside the process that opens it: a second PostgreSQL instance plus a copy of its
 * whole heap, restored before each backend run, then a tar of the result: ~700 MiB resident at peak, kept for the
 * server's life. Here initdb runs alone, the way PGlite runs it (same binaries, arguments and backend runs), except:
 *  - one PostgreSQL instance, with its data directory on disk (NODEFS), so nothing is copied afterwards;
 *  - between backend runs only what the run could have touched is reset: the pages below the allocator's break
 *    are put back from a snapshot of the few that held data, and the rest up to the break is zeroed. Emscripten's
 *    dlmalloc only grows the break (MORECORE_CANNOT_TRIM), so nothing above it was written. PGlite's copy of the
 *    full 128 MiB heap, and writing it all back, touched every page.
 * The node flags (--liftoff-only: no optimizing compile of the 9 MB module for a run of seconds) come from the
 * parent. The result is made in a staging directory, flushed (when EMBEDDED_SYNC is on), and renamed into place,
 * so DATA_DIR/pgdata holds either nothing or a whole cluster.
 */

const PAGE = 65536;
const ZERO_PAGE = Buffer.alloc(PAGE);
const POSTGRES = '/pglite/bin/postgres';
const STDIN = '/pglite/pgstdin';
const STDOUT = '/pglite/pgstdout';
/** What PGlite passes to initdb (its initdb runner), then ours: the buffer pool the server uses anyway. */
const INITDB_ARGS = ['--allow-group-access', '--encoding', 'UTF8', '--locale=C.UTF-8', '--locale-provider=libc', '--auth=trust'];
const EXTRA_ARGS = BUFFER_POOL_PARAMS;

// The Emscripten internals used; not in PGlite's public types, hence the pinned version.
interface Runtime {
  HEAPU8: Uint8Array;
  ENV: Record<string, string>;
  FS: { mkdirTree(path: string): void; mount(type: unknown, options: object, path: string): void };
  PROXYFS: unknown;
  addFunction(fn: (...args: number[]) => number, signature: string): number;
  UTF8ToString(ptr: number): string;
  stringToUTF8OnStack(text: string): number;
  callMain(args: string[]): number;
  _fopen(path: number, mode: number): number;
  _pclose(stream: number): number;
  _pgl_freopen(path: number, mode: number, stream: number): number;
  _pgl_set_system_fn(fn: number): void;
  _pgl_set_popen_fn(fn: number): void;
  _pgl_set_pclose_fn(fn: number): void;
}
type Factory = (options: object) => Promise<Runtime>;
// The WebAssembly API, which this project's TypeScript libraries (ES2024 and node, no DOM) do not declare.
type WasmModule = object;
interface WasmInstance {
  exports: Record<string, unknown>;
}
type Receive = (instance: WasmInstance, module: WasmModule) => void;
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      compile(bytes: Uint8Array): Promise<WasmModule>;
      instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
      Memory: new (descriptor: { initial: number; maximum: number }) => object;
    };
  }
).WebAssembly;
interface EmscriptenOpts {
  instantiateWasm(imports: object, done: Receive): object;
}

/** The words of a command initdb runs, up to its first redirection (PGlite ignores redirections too). */
export function commandWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/"((?:\\"|[^"])*)"|'([^']*)'|(\S+)/g)) {
    const bare = match[3];
    if (bare !== undefined && /^(?:\d?[<>]|[|&;])/.test(bare)) break;
    words.push(match[1] ?? match[2] ?? bare ?? '');
  }
  return words;
}

/** A PostgreSQL instance on pgdata that has not started PostgreSQL, and a way to reset it between backend runs. */
async function openBackend(pgdata: string): Promise<{ runtime: Runtime; reset: () => void }> {
  let exports: WasmInstance['exports'] | undefined;
  const capture: Extension = {
    name: 'logagg-initdb-exports',
    setup: async (_pg, opts: EmscriptenOpts) => ({
      emscriptenOpts: {
        ...opts,
        instantiateWasm: (imports: object, done: Receive) =>
          opts.instantiateWasm(imports, (instance, module) => {
            exports = instance.exports;
            done(instance, module);
          }),
      },
    }),
  };
  const pg = await PGlite.create({ dataDir: pgdata, noInitDb: true, extensions: { capture } });
  const runtime = pg.Module as unknown as Runtime;
  const sbrkPtr = (exports?.emscripten_get_sbrk_ptr as (() => number) | undefined)?.();
  if (sbrkPtr === undefined) throw new Error('PGlite no longer exports emscripten_get_sbrk_ptr');
  const brk = (): number => new Uint32Array(runtime.HEAPU8.buffer)[sbrkPtr >> 2] as number;
  const base = brk();
  const saved = new Map<number, Uint8Array>();
  for (let at = 0; at < base; at += PAGE) {
    const page = runtime.HEAPU8.subarray(at, Math.min(at + PAGE, base));
    if (!Buffer.from(page.buffer, page.byteOffset, page.length).equals(ZERO_PAGE.subarray(0, page.length))) saved.set(at, page.slice());
  }
  const reset = (): void => {
    const heap = runtime.HEAPU8;
    const top = brk();
    for (let at = 0; at < base; at += PAGE) {
      const page = saved.get(at);
      if (page) heap.set(page, at);
      else heap.fill(0, at, Math.min(at + PAGE, base));
    }
    heap.fill(0, base, top);
  };
  return { runtime, reset };
}

/** Runs initdb into pgdata (an empty or missing directory); throws with initdb's complaint when it fails. */
async function initdb(pgdata: string): Promise<void> {
  const backend = await openBackend(pgdata);
  const pg = backend.runtime;
  const dist = new URL('.', import.meta.resolve('@electric-sql/pglite'));
  const factory = ((await import(new URL('initdb.js', dist).href)) as { default: Factory }).default;
  const wasm = await wasmApi.compile(readFileSync(new URL('initdb.wasm', dist)));
  let stderr = '';
  // initdb starts the backend three ways: system(), popen(…, "r") and popen(…, "w") run at pclose().
  let words: string[] = [];
  let lastExit = 0;
  let writing = false;
  const runBackend = (argv: string[]): number => {
    const [program, ...args] = argv;
    if (program !== POSTGRES) throw new Error(`initdb tried to run ${program ?? 'nothing'}`);
    backend.reset();
    return pg.callMain(args);
  };
  let readStream = -1;
  let writeStream = -1;
  const tool = await factory({
    arguments: [],
    noExitRuntime: false,
    wasmMemory: new wasmApi.Memory({ initial: 8, maximum: 100 }),
    thisProgram: '/pglite/bin/initdb',
    stdin: () => null,
    print: () => undefined,
    printErr: (line: string) => (stderr += `${line}\n`),
    instantiateWasm: (imports: object, done: Receive) => {
      void wasmApi.instantiate(wasm, imports).then((instance) => done(instance, wasm));
      return {};
    },
    locateFile: (path: string, prefix: string) => (path.endsWith('.so') ? `/pglite/lib/${path}` : prefix + path),
    preRun: [
      (tool: Runtime) => {
        Object.assign(tool.ENV, {
          PGDATA: '/pglite/data',
          HOME: '/home/postgres',
          USER: 'postgres',
          LOGNAME: 'postgres',
          ICU_DATA: '/pglite/icu',
          TZ: 'UTC',
        });
        // initdb sees the backend's files: its binaries, share/ and the data directory.
        tool.FS.mkdirTree('/pglite');
        tool.FS.mount(tool.PROXYFS, { root: '/pglite', fs: pg.FS }, '/pglite');
      },
      (tool: Runtime & { onRuntimeInitialized?: () => void }) => {
        tool.onRuntimeInitialized = () => {
          tool._pgl_set_system_fn(tool.addFunction((command) => runBackend(commandWords(tool.UTF8ToString(command))), 'pi'));
          const popen = (command: number, modePtr: number): number => {
            words = commandWords(tool.UTF8ToString(command));
            const mode = tool.UTF8ToString(modePtr);
            if (mode === 'r') {
              lastExit = runBackend(words);
              return readStream;
            }
            if (mode !== 'w') throw new Error(`initdb asked for popen mode ${mode}`);
            writing = true;
            return writeStream;
          };
          tool._pgl_set_popen_fn(tool.addFunction(popen, 'ppi'));
          const pclose = (stream: number): number => {
            if (stream !== readStream && stream !== writeStream) return tool._pclose(stream);
            if (writing) {
              writing = false;
              lastExit = runBackend(words);
            }
            return lastExit;
          };
          tool._pgl_set_pclose_fn(tool.addFunction(pclose, 'pi'));
          // The backend reads what initdb writes to its "pipe" and writes what initdb reads back, through two files.
          pg._pgl_freopen(pg.stringToUTF8OnStack(STDIN), pg.stringToUTF8OnStack('r'), 0);
          pg._pgl_freopen(pg.stringToUTF8OnStack(STDOUT), pg.stringToUTF8OnStack('w'), 1);
          readStream = tool._fopen(tool.stringToUTF8OnStack(STDOUT), tool.stringToUTF8OnStack('r'));
          writeStream = tool._fopen(tool.stringToUTF8OnStack(STDIN), tool.stringToUTF8OnStack('w'));
        };
      },
    ],
  });
  const exit = tool.callMain([...INITDB_ARGS, ...EXTRA_ARGS]);
  if (exit !== 0) throw new Error(`initdb failed (exit ${exit}): ${stderr.trim().slice(-2000)}`);
}

/** The resident memory of the server waiting for this process: both are on the machine at once (Linux only). */
function parentRssMb(): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${process.ppid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Math.round(Number(kb) / 1024);
  } catch {
    return null;
  }
}

async function main(): Promise<InitdbReply> {
  const [pgdata, staging, sync] = process.argv.slice(2);
  if (!pgdata || !staging) throw new Error('usage: pglite-initdb <pgdata> <staging> <on|off>');
  const started = performance.now();
  try {
    await initdb(staging);
    const initdbMs = Math.round(performance.now() - started);
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    // What this creation cost, for operators and the bench (docs/operations.md); PostgreSQL ignores the file.
    const record = {
      created_at: new Date().toISOString(),
      initdb_ms: initdbMs,
      initdb_peak_rss_mib: peakRssMb,
      server_rss_mib: parentRssMb(),
    };
    writeFileSync(join(staging, CREATION_RECORD), `${JSON.stringify(record)}\n`);
    // Flushed like a cluster PGlite made (the marker says so), before it can be used.
    if (sync === 'on') ensureInitdbSynced(staging);
    // A server that was killed meanwhile no longer holds DATA_DIR: its successor makes its own cluster.
    if (!process.connected) throw new Error('the server that asked for the cluster is gone');
    renameSync(staging, pgdata);
    if (sync === 'on') fsyncPath(dirname(pgdata));
    return { type: 'created', initdbMs, peakRssMb };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

const send = (reply: InitdbReply): void => {
  if (process.send) process.send(reply, () => process.exit(0));
  else process.exit(reply.type === 'created' ? 0 : 1);
};
main().then(send, (err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }));
