import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { LogaggError } from '../errors.js';

/**
 * Free space below which an engine failure is blamed on the disk: PostgreSQL claims WAL a 16 MiB segment at a
 * time, so it can meet ENOSPC with up to one segment still free.
 */
const NEARLY_FULL_BYTES = 32 * 1048576;

/** How long one statfs answer is trusted: a batch every millisecond must not cost a system call each. */
const FRESH_MS = 250;

/**
 * MIN_FREE_DISK_MB on the embedded store: refuses writes with STORE_FULL while the filesystem holding DATA_DIR has
 * less free space than the floor, so PostgreSQL's WAL never reaches ENOSPC (PGlite 0.5.16 answers the first
 * ENOSPC with 53100, then spins inside its next commit). Reads (queries, /stats) are never refused.
 */
export class DiskGuard {
  private checkedAt = 0;
  private freeBytes = Number.POSITIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly minFreeBytes: number,
  ) {}

  /** Throws STORE_FULL when below the floor; reads the filesystem at most every FRESH_MS. */
  async check(): Promise<void> {
    if (this.minFreeBytes <= 0) return;
    if (performance.now() - this.checkedAt > FRESH_MS) {
      this.pending ??= this.refresh().finally(() => (this.pending = undefined));
      await this.pending;
    }
    if (this.freeBytes < this.minFreeBytes) {
      const freeMb = Math.floor(this.freeBytes / 1048576);
      throw new LogaggError('STORE_FULL', {
        message: `The embedded store's disk is full: ${freeMb} MiB free in DATA_DIR, below MIN_FREE_DISK_MB (${this.minFreeBytes / 1048576}); retry later`,
      });
    }
  }

  /**
   * Whether the filesystem holding DATA_DIR is (nearly) out of space now, whatever the floor: asked when the engine
   * fails in a way that does not say why (an internal error), which a full disk is the usual cause of.
   */
  nearlyFull(): boolean {
    try {
      const stats = statfsSync(this.dir);
      return stats.bavail * stats.bsize < NEARLY_FULL_BYTES;
    } catch {
      return false;
    }
  }

  private async refresh(): Promise<void> {
    try {
      const stats = await statfs(this.dir);
      // bavail: what an unprivileged writer may use; PostgreSQL's files are written by this process either way.
      this.freeBytes = stats.bavail * stats.bsize;
    } catch {
      // A filesystem that cannot be asked is not judged full; the engine's own ENOSPC still maps to STORE_FULL.
      this.freeBytes = Number.POSITIVE_INFINITY;
    }
    this.checkedAt = performance.now();
  }
}
