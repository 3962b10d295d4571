import type { FeedEvent, Store } from '../store/index.js';

export type { FeedEvent } from '../store/index.js';

/** Someone following committed events (an SSE connection). push() must not block. */
export interface FeedSubscriber {
  readonly topic: string | undefined;
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
        const events = await this.store.eventsAfter(this.position, undefined, this.options.pageSize);
        if (events.length === 0) return;
        this.position = (events[events.length - 1] as FeedEvent).seq;
        for (const subscriber of this.subscribers) {
          subscriber.push(subscriber.topic === undefined ? events : events.filter((e) => e.topic === subscriber.topic));
        }
        if (events.length < this.options.pageSize) return;
      }
    } catch (err) {
      // The store is away: the next wake (timer or commit) tries again from the same position.
      this.options.onError?.(err);
    }
  }
}
