import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { StoreLocation } from './stores.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until check() is true (polling) or giveUp() is; throws after timeoutMs. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  giveUp: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !giveUp()) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (giveUp()) return;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The inodes of the sockets listening on `port` (IPv4, and IPv6 where the kernel has it), from /proc/net. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of orEmpty(readText, table).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields[3] === '0A' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port) inodes.add(fields[9] as string);
    }
  }
  return inodes;
}

/**
 * What `read` gives for `path`, or '' when it is not there: no tcp6 table (IPv6 off), no children file (a kernel
 * without CONFIG_PROC_CHILDREN), a descriptor closed while we looked.
 */
const orEmpty = (read: (path: string) => string, path: string): string => {
  try {
    return read(path);
  } catch {
    return '';
  }
};
const readText = (path: string): string => readFileSync(path, 'utf8');

const holdsSocket = (pid: string, inodes: Set<string>): boolean =>
  readdirSync(`/proc/${pid}/fd`).some((fd) => {
    const inode = /^socket:\[(\d+)\]$/.exec(orEmpty(readlinkSync, `/proc/${pid}/fd/${fd}`))?.[1];
    return inode !== undefined && inodes.has(inode);
  });

/**
 * Whether `pid` or one of its children (the server under a `prefix` program) holds the socket listening on `port`.
 * A port from freePort() is free only when probed: another test's server can take it meanwhile, and then its
 * /health answers for ours. Seen in CI: a test loaded that other server, then sent SIGTERM to its own, still
 * starting (no handler yet), which died of the signal.
 */
function listensOn(pid: number, port: number): boolean {
  const inodes = listeningInodes(port);
  if (holdsSocket(String(pid), inodes)) return true;
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    orEmpty(readText, `/proc/${pid}/task/${task}/children`).trim().split(/\s+/).filter(Boolean),
  );
  return children.some((child) => holdsSocket(child, inodes));
}

/**
 * The real server as a child process (src/server.ts through tsx), ready when /health answers and the socket
 * answering is its own. `prefix` runs it under another program (strace); the child is then that program. With no
 * PORT given, a server that lost its port to another process before it could listen is started again on another.
 */
export async function spawnServer(
  location: StoreLocation,
  env: Record<string, string> = {},
  prefix: string[] = [],
): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServerOnce(location, env, prefix);
    } catch (err) {
      const lostPort = err instanceof PortTakenError;
      if (!lostPort || env.PORT !== undefined || attempt === 3) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function spawnServerOnce(location: StoreLocation, env: Record<string, string> = {}, prefix: string[] = []): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const command = [...prefix, process.execPath, '--import', 'tsx', 'src/server.ts'];
  const child = spawn(command[0] as string, command.slice(1), {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: location.dataDir,
      DATABASE_URL: location.databaseUrl ?? '',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  let exitCode: number | string | undefined;
  void exited.then((code) => (exitCode = code));
  // Generous: CI runs two test files at a time and the Node version matrix beside them on two cores, and a first
  // start under that load (tsx, PGlite's initdb) has taken over 60 s. Only a failing start ever waits this long.
  // A server that never listened is killed here: no test holds it yet, and a live child would keep the test
  // file's process (and the suite) waiting for ever (seen in CI: 27 minutes).
  await waitFor(
    async () => (await fetch(`${url}/health`)).ok && child.pid !== undefined && listensOn(child.pid, port),
    120_000,
    'the server to listen',
    () => exitCode !== undefined,
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${err instanceof Error ? err.message : String(err)}; its output:\n${output}`);
  });
  if (exitCode !== undefined) {
    const message = `server exited (${exitCode}) before it was ready:\n${output}`;
    throw /EADDRINUSE|already in use/i.test(output) ? new PortTakenError(message) : new Error(message);
  }
  return { url, child, exited, output: () => output };
}

/** Peak resident memory of a process so far (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}
