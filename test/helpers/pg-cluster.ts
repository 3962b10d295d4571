import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

/**
 * A PostgreSQL cluster of the test's own, so that a fault test may stop, freeze or starve it without touching
 * the shared cluster on 5432 that every other test (and every other worktree's run) relies on.
 */
export interface PgCluster {
  /** Connection URL of the cluster's `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  start(): void;
  /** Stops at once (`-m immediate`): what a crash or a power cut looks like to clients. */
  stop(): void;
  /** SIGSTOP to every server process: packets get no answer and nothing is refused. */
  freeze(): void;
  thaw(): void;
  isUp(): boolean;
  destroy(): void;
}

export interface PgClusterOptions {
  /** Where the data directory goes (a small filesystem for disk-full tests); a temporary directory otherwise. */
  parentDir?: string;
  /** Extra postgresql.conf lines. */
  settings?: Record<string, string | number>;
  walSegmentMiB?: number;
}

const bin = (name: string): string => join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().at(-1) ?? '', 'bin', name);

/** initdb refuses root, so the cluster belongs to `postgres` when the suite runs as root (CI does). */
const asOwner = (args: string[]): string[] => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args);

const run = (args: string[]): void => {
  const [command, ...rest] = asOwner(args);
  execFileSync(command as string, rest, { stdio: 'ignore' });
};

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const parent = mkdtempSync(join(options.parentDir ?? tmpdir(), 'logagg-pg-'));
  const dataDir = join(parent, 'data');
  if (process.getuid?.() === 0)
    chownSync(parent, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const port = await freePort();
  run([
    bin('initdb'),
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    ...(options.walSegmentMiB ? [`--wal-segsize=${options.walSegmentMiB}`] : []),
  ]);
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${parent}'`,
    max_connections: 40,
    shared_buffers: "'32MB'",
    ...options.settings,
  };
  const conf = Object.entries(settings)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n');
  writeFileSync(join(dataDir, 'postgresql.auto.conf'), `${conf}\n`);
  const postmasterPid = (): string | undefined => {
    try {
      return execFileSync('head', ['-1', join(dataDir, 'postmaster.pid')])
        .toString()
        .trim();
    } catch {
      return undefined;
    }
  };
  const children = (): string[] => {
    const pid = postmasterPid();
    if (!pid) return [];
    try {
      return [pid, ...execFileSync('pgrep', ['-P', pid]).toString().trim().split('\n').filter(Boolean)];
    } catch {
      return [pid];
    }
  };
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start: () => run([bin('pg_ctl'), '-D', dataDir, '-w', '-t', '60', '-l', join(parent, 'log'), 'start']),
    stop: () => run([bin('pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop']),
    freeze: () => {
      for (const pid of children()) process.kill(Number(pid), 'SIGSTOP');
    },
    thaw: () => {
      for (const pid of children()) process.kill(Number(pid), 'SIGCONT');
    },
    isUp: () => {
      try {
        execFileSync(bin('pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
        return true;
      } catch {
        return false;
      }
    },
    destroy: () => {
      cluster.thaw();
      try {
        cluster.stop();
      } catch {
        // already stopped
      }
      rmSync(parent, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
