import type { Predicate } from '../query/predicate.js';
import type { Feed, FeedEvent, FeedSubscriber } from './feed.js';

/** Live events a follower holds while it catches up; past this it is closed (it resumes from its cursor). */
export const MAX_HELD = 10_000;

/** Where a follower's events go: a live SSE stream, a Loki tail socket. */
export interface FollowSink {
  /** Events past the cursor, in seq order, each once. Must not block. */
  send(events: readonly FeedEvent[]): void;
  /** The follower fell too far behind (more than MAX_HELD held): end the connection. */
  overflow(): void;
}

/**
 * The gap-free handoff between a catch-up from the store and the live feed, for any connection that follows
 * committed events: subscribe to the feed first (live events are held back), let the caller send what came before
 * (its catch-up, through deliver()), then release the held events past the cursor. Each event reaches the sink
 * once, in seq order: the feed never hands out a seq below its read horizon, and the cursor drops repeats.
 */
export class Follower implements FeedSubscriber {
  private live = false;
  private held: FeedEvent[] = [];
  private closed = false;
  private cursor = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly tenant: string,
    readonly topic: string | undefined,
    readonly search: { key: string; predicate: Predicate } | undefined,
    private readonly sink: FollowSink,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  push(events: readonly FeedEvent[]): void {
    if (this.closed || events.length === 0) return;
    if (!this.live) {
      this.held.push(...events);
      if (this.held.length > MAX_HELD) this.sink.overflow();
      return;
    }
    this.deliver(events);
  }

  /**
   * Subscribes, runs `catchUp` with the feed's position (it sends the events before the live ones through
   * deliver(), and returns the cursor to go live from), then turns live. Events at or below the cursor are not
   * sent again. A follower closed meanwhile (its client left) unsubscribes and sends nothing more.
   */
  async start(feed: Feed, catchUp: (position: number) => Promise<number>): Promise<void> {
    const subscription = await feed.subscribe(this);
    if (this.closed) {
      subscription.unsubscribe();
      return;
    }
    this.unsubscribe = subscription.unsubscribe;
    const from = await catchUp(subscription.position);
    if (this.closed) return;
    if (from > this.cursor) this.cursor = from;
    this.live = true;
    const held = this.held;
    this.held = [];
    this.deliver(held);
  }

  /** Sends the events past the cursor to the sink and moves the cursor (the catch-up calls it too). */
  deliver(events: readonly FeedEvent[]): void {
    if (this.closed) return;
    const fresh = events.filter((event) => event.seq > this.cursor);
    if (fresh.length === 0) return;
    this.cursor = (fresh[fresh.length - 1] as FeedEvent).seq;
    this.sink.send(fresh);
  }

  /** Where the follower stands: the last seq sent (or the catch-up's start). */
  get position(): number {
    return this.cursor;
  }

  set position(seq: number) {
    this.cursor = seq;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    this.unsubscribe?.();
  }
}
