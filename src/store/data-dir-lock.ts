import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { LogaggError } from '../errors.js';

export interface DataDirLock {
  /** True when a lock left by a process that died was taken over: the store is recovering from a crash. */
  readonly tookOverStale: boolean;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process owns a data directory (docs/spec.md §4): an exclusive lock file holding the owner's pid. A lock whose
 * pid is gone is stale (the owner was killed) and is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, 'logagg.lock');
  let tookOverStale = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      return {
        tookOverStale,
        release: () => {
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing left to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new LogaggError('DATA_DIR_LOCKED', {
        message: `Data directory ${dataDir} is in use by process ${owner}; stop it or use another DATA_DIR`,
      });
    }
    unlinkSync(path);
    tookOverStale = true;
  }
  throw new LogaggError('DATA_DIR_LOCKED', { message: `Could not lock data directory ${dataDir}` });
}
