import type { Predicate } from '../query/predicate.js';
import type { FeedEvent, Store } from '../store/index.js';

export type { FeedEvent } from '../store/index.js';

/** Someone following committed events (an SSE connection). push() must not block. */
export interface FeedSubscriber {
  /** Only this tenant's events reach it. */
  readonly tenant: string;
  readonly topic: string | undefined;
  /** A search (q) the subscriber follows: `key` is its text, so subscribers of the same q share one read. */
  readonly search?: { key: string; predicate: Predicate } | undefined;
  push(events: readonly FeedEvent[]): void;
}

export interface FeedOptions {
  /** How often to look for events committed by other replicas while anyone listens. */
  pollIntervalMs: number;
  pageSize: number;
  onError?: (err: unknown) => void;
}

/**
 * Fan-out of committed events, tailing the store by seq. The store never reads past its read horizon (no batch
 * still running can commit at or below it), so a reader that has seen seq S will never later find a row below S:
 * tailing needs no gap detection. Local commits wake the tail at once; a timer catches what other replicas
 * commit. The store is the data path, never a notification. Costs nothing while nobody listens: no timer, no query.
 */
export class Feed {
  private readonly subscribers = new Set<FeedSubscriber>();
  private position = 0;
  private stale = true;
  private polling: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Pick<Store, 'eventsAfter' | 'headSeq'>,
    private readonly options: FeedOptions,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Adds a subscriber; it will be pushed every event committed after the returned position. Events at or
   * before the position are the subscriber's to read from the store (its catch-up).
   */
  async subscribe(subscriber: FeedSubscriber): Promise<{ position: number; unsubscribe(): void }> {
    if (this.stale) {
      // Nobody listened, so the position is old; let any running tail finish, then jump to the head.
      await this.polling;
      if (this.stale) {
        this.position = await this.store.headSeq();
        this.stale = false;
      }
    }
    this.subscribers.add(subscriber);
    this.timer ??= setInterval(() => this.wake(), this.options.pollIntervalMs).unref();
    return {
      position: this.position,
      unsubscribe: () => {
        this.subscribers.delete(subscriber);
        if (this.subscribers.size === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
          this.stale = true;
        }
      },
    };
  }

  /** Something may have been committed: read and fan out what is new. */
  wake(): void {
    if (this.subscribers.size === 0) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = this.tail().finally(() => {
      this.polling = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async tail(): Promise<void> {
    try {
      for (;;) {
        // One tail for every tenant: each subscriber is handed its own tenant's events below.
        const events = await this.store.eventsAfter(null, this.position, undefined, this.options.pageSize);
        if (events.length === 0) return;
        const through = (events[events.length - 1] as FeedEvent).seq;
        const found = await this.searchPage(this.position, through);
        // The position moves only once every read of this page succeeded: a failure retries the whole page.
        this.position = through;
        for (const subscriber of this.subscribers) {
          const matched = subscriber.search ? (found.get(subscriber.search.key) ?? []) : events;
          const { tenant, topic } = subscriber;
          subscriber.push(matched.filter((e) => e.tenant === tenant && (topic === undefined || e.topic === topic)));
        }
        if (events.length < this.options.pageSize) return;
      }
    } catch (err) {
      // The store is away: the next wake (timer or commit) tries again from the same position.
      this.options.onError?.(err);
    }
  }

  /**
   * The events of the page (from, through] that each distinct search matches, read by the store (in SQL, on its
   * index), once per search however many follow it. At most pageSize of them, as the page itself holds.
   */
  private async searchPage(from: number, through: number): Promise<Map<string, FeedEvent[]>> {
    const found = new Map<string, FeedEvent[]>();
    for (const subscriber of this.subscribers) {
      const search = subscriber.search;
      if (!search || found.has(search.key)) continue;
      found.set(
        search.key,
        await this.store.eventsAfter(null, from, undefined, this.options.pageSize, { predicate: search.predicate, through }),
      );
    }
    return found;
  }
}
