import type { Pending, IngestQueue } from './queue.js';

export interface BatcherOptions {
  batchMax: number;
  lingerMs: number;
  workers: number;
}

/**
 * Cuts batches for the flushers: a batch leaves when it holds batchMax events or its oldest request has waited
 * lingerMs, and only when a flusher is free. While every flusher is busy, requests pile up and the next batch
 * is bigger: group commit grows with load by itself.
 */
export class Batcher {
  private idle: number;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly queue: IngestQueue,
    private readonly options: BatcherOptions,
    private readonly flush: (batch: Pending[]) => Promise<void>,
  ) {
    this.idle = options.workers;
  }

  get busyFlushers(): number {
    return this.options.workers - this.idle;
  }

  /** From now on cut batches without lingering; resolves once the queue is empty and every flusher idle. */
  drain(): Promise<void> {
    this.draining = true;
    this.kick();
    if (this.isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isSettled(): boolean {
    return this.idle === this.options.workers && this.queue.isEmpty;
  }

  /** Call after anything changed: a request queued or a flusher came free. */
  kick(): void {
    while (this.idle > 0 && !this.queue.isEmpty) {
      const waited = performance.now() - (this.queue.oldestAt ?? 0);
      if (!this.draining && this.queue.events < this.options.batchMax && waited < this.options.lingerMs) {
        this.arm(this.options.lingerMs - waited);
        return;
      }
      this.run(this.queue.take(this.options.batchMax));
    }
  }

  private arm(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.kick();
      },
      Math.max(0, Math.ceil(delayMs)),
    );
  }

  private run(batch: Pending[]): void {
    this.idle--;
    // flush() settles every request itself and never rejects; finally keeps the flusher count right regardless.
    void this.flush(batch).finally(() => {
      this.idle++;
      this.kick();
      if (this.isSettled()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }
}
