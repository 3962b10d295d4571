import { createEvent } from '../client/index.js';
import type { Event } from '../schema/event.js';

/** What the publisher sends: how many copies in all, how many of them re-sends, over how many topics. */
export interface StreamOptions {
  /** Copies sent in all, re-sends included. */
  events: number;
  /** Share of the copies that are re-sends of an event already sent. */
  dupRate: number;
  topics: number;
  seed: number;
  payloadBytes: number;
  /** Events per request and requests in flight: where a re-send lands relative to its original depends on them. */
  batch: number;
  concurrency: number;
  /** Names this run's topics, so its /stats deltas are its own even on a busy server. */
  topicPrefix: string;
}

/** A planned stream: the distinct event sent at each position, and the events themselves, made on demand. */
export interface Stream {
  /** order[k] = index of the distinct event sent as the kth copy. */
  order: Uint32Array;
  distinct: number;
  topics: string[];
  eventAt(index: number): Event;
}

/** mulberry32: a tiny seeded PRNG, so a seed replays the same stream (same events, same duplicate placement). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Where each re-send goes, in "distinct index" units after its original i, for the three ways at-least-once
 * duplicates arrive: right after the original (same request when batching), within the in-flight window
 * (concurrent with it), or anywhere later in the run (a late retry, a replay after a crash).
 */
function resendKey(i: number, distinct: number, window: number, random: () => number): number {
  const kind = random();
  if (kind < 1 / 3) return i + 0.5 * random();
  if (kind < 2 / 3) return i + 1 + random() * window;
  const start = i + window;
  return start + random() * Math.max(1, distinct - start);
}

/** Plans a reproducible stream from the seed; events are built lazily, so a million costs only the order array. */
export function planStream(options: StreamOptions): Stream {
  const random = createRandom(options.seed);
  const total = options.events;
  const distinct = total === 0 ? 0 : Math.max(1, Math.round(total * (1 - options.dupRate)));
  const resends = total - distinct;
  const window = options.batch * options.concurrency;

  // Originals sit at keys 0..distinct-1 already in order; sort only the re-sends and merge them in.
  const resendKeys = new Float64Array(resends);
  const resendOf = new Uint32Array(resends);
  for (let r = 0; r < resends; r++) {
    const i = Math.floor(random() * distinct);
    resendOf[r] = i;
    resendKeys[r] = resendKey(i, distinct, window, random);
  }
  const byKey = Array.from({ length: resends }, (_, r) => r).sort((a, b) => (resendKeys[a] as number) - (resendKeys[b] as number));
  const order = new Uint32Array(total);
  let k = 0;
  let next = 0;
  for (let i = 0; i < distinct; i++) {
    order[k++] = i;
    while (next < resends && (resendKeys[byKey[next] as number] as number) < i + 1)
      order[k++] = resendOf[byKey[next++] as number] as number;
  }
  while (next < resends) order[k++] = resendOf[byKey[next++] as number] as number;

  const topics = Array.from({ length: options.topics }, (_, t) => `${options.topicPrefix}.topic-${t + 1}`);
  const text = Array.from({ length: options.payloadBytes + 256 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
  const createdAt = Date.now();
  const eventAt = (index: number): Event => {
    // Derived from (seed, index) alone, so every copy of an event is byte-for-byte the same event.
    const r = createRandom(options.seed ^ Math.imul(index + 1, 0x9e3779b1));
    const offset = Math.floor(r() * 256);
    return createEvent({
      topic: topics[Math.floor(r() * topics.length)] as string,
      event_id: `${options.topicPrefix}-${index}`,
      timestamp: new Date(createdAt + index).toISOString(),
      source: `publisher-${1 + Math.floor(r() * 4)}`,
      payload: {
        content: text.slice(offset, offset + options.payloadBytes),
        metadata: { seq: index, amount: Math.floor(r() * 1_000_000) },
      },
    });
  };
  return { order, distinct, topics, eventAt };
}
