/** A flush() waiting for the events published up to `upTo` that were still pending when it was called. */
interface FlushWaiter {
  upTo: number;
  remaining: number;
  done: () => void;
}

/**
 * Counts the events pending (waiting or in flight) and wakes who waits on them: flush() callers, once every event
 * published before their call is settled, and waitForRoom() callers, once the count is under maxQueue.
 */
export class PendingLedger {
  private count = 0;
  private lastSeq = 0;
  // In flush order, so ascending by upTo.
  private readonly flushWaiters: FlushWaiter[] = [];
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly maxQueue: number) {}

  get pending(): number {
    return this.count;
  }

  /** The publish order of the last event admitted. */
  get lastAdmitted(): number {
    return this.lastSeq;
  }

  get full(): boolean {
    return this.count >= this.maxQueue;
  }

  /** Counts one more pending event and returns its publish order (1, 2, …). */
  admit(): number {
    this.count++;
    return ++this.lastSeq;
  }

  /** One event (publish order `seq`) is settled: runs synchronously, no promise per event. */
  settle(seq: number): void {
    this.count--;
    const waiters = this.flushWaiters;
    // A waiter counts the events still pending when its flush was called, which include everything an earlier
    // waiter still counts: waiters finish in order. So count down from the back while they wait for this event,
    // then pop the finished ones off the front (no scan or copy of the whole list per event).
    for (let i = waiters.length - 1; i >= 0 && seq <= (waiters[i] as FlushWaiter).upTo; i--) (waiters[i] as FlushWaiter).remaining--;
    while (waiters.length > 0 && (waiters[0] as FlushWaiter).remaining === 0) (waiters.shift() as FlushWaiter).done();
    if (this.count < this.maxQueue && this.roomWaiters.length > 0) this.wakeRoomWaiters();
  }

  /** Resolves when every event admitted so far is settled. */
  whenSettled(): Promise<void> {
    // Every pending event was admitted before this call, so the flush waits for exactly `count` of them.
    if (this.count === 0) return Promise.resolve();
    return new Promise((done) => this.flushWaiters.push({ upTo: this.lastSeq, remaining: this.count, done }));
  }

  /** Resolves when another event fits under maxQueue (at once if it does now, or if `closed`). */
  whenRoom(closed: boolean): Promise<void> {
    if (this.count < this.maxQueue || closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
