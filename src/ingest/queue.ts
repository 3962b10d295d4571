import { LogaggError } from '../errors.js';
import type { Event } from '../schema/event.js';
import type { PublishResult } from '../schema/publish.js';
import type { Transport } from '../schema/transport.js';

/**
 * A request's outcome: its counts, and when asked for (SubmitOptions.perEvent) whether the database stored each
 * event (true) or already held its key (false), in the request's order. An inlet whose protocol answers per item
 * (the Elasticsearch bulk API) reads this: the database's answer, never a guess kept in memory.
 */
export interface SubmitResult extends PublishResult {
  stored?: boolean[];
}

export interface SubmitOptions {
  /** Fill SubmitResult.stored (one boolean per event: a little work per event, so only when asked). */
  perEvent?: boolean;
  /** Whose events they are (docs/tenants.md); default: the default tenant. */
  tenant?: string;
}

/** One publish request waiting for its commit. */
export interface Pending {
  readonly events: readonly Event[];
  readonly tenant: string;
  /** The tenant's max_topics when it has one (the store refuses a batch that would pass it). */
  readonly maxTopics?: number | undefined;
  /** Where the events came from, for metrics. */
  readonly transport: Transport;
  readonly enqueuedAt: number;
  readonly perEvent?: boolean;
  resolve(result: SubmitResult): void;
  reject(err: Error): void;
}

/**
 * FIFO of pending requests, bounded in events (MAX_QUEUE): past the bound a request is refused with OVERLOADED
 * instead of growing memory. Requests are never split, so a request commits or fails as a whole.
 */
export class IngestQueue {
  // Taken slots are cleared, so answered requests (and their events) can be collected at once.
  private items: Array<Pending | undefined> = [];
  private head = 0;
  private queuedEvents = 0;

  constructor(private readonly maxEvents: number) {}

  get events(): number {
    return this.queuedEvents;
  }

  get isEmpty(): boolean {
    return this.head === this.items.length;
  }

  /** When the oldest waiting request arrived (performance.now()), or undefined when empty. */
  get oldestAt(): number | undefined {
    return this.items[this.head]?.enqueuedAt;
  }

  push(pending: Pending): void {
    if (this.queuedEvents + pending.events.length > this.maxEvents) {
      throw new LogaggError('OVERLOADED', {
        message: `The ingest queue holds ${this.queuedEvents} of ${this.maxEvents} events; retry later`,
      });
    }
    this.items.push(pending);
    this.queuedEvents += pending.events.length;
  }

  /** Takes whole requests in arrival order up to maxEvents (always at least one). */
  take(maxEvents: number): Pending[] {
    const batch: Pending[] = [];
    let size = 0;
    while (this.head < this.items.length) {
      const next = this.items[this.head] as Pending;
      if (batch.length > 0 && size + next.events.length > maxEvents) break;
      batch.push(next);
      size += next.events.length;
      this.items[this.head] = undefined;
      this.head++;
    }
    this.queuedEvents -= size;
    // Compact now and then instead of shift() per item, which is O(n).
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return batch;
  }
}
