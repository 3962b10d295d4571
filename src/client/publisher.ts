import type { Event } from '../schema/event.js';
import { createEvent, type NewEvent } from './event.js';
import { createClient, type PublishReceipt } from './http.js';
import { PublisherClosedError, PublishRejectedError, QueueFullError } from './publish-errors.js';
import { GaveUpError, HttpError, isRetryable, type RetryNotice, type RetryPolicy } from './retry.js';

export interface PublisherOptions {
  /** Base URL of an aggregator, e.g. http://127.0.0.1:8080. */
  url: string;
  apiKey?: string;
  /** Most events in one request; a full batch is sent at once. */
  batchMax?: number;
  /** Longest an event waits for others to fill its batch. */
  lingerMs?: number;
  /** Most events pending (waiting or in flight); past it publish() rejects with QueueFullError. */
  maxQueue?: number;
  /** Most requests in flight. */
  concurrency?: number;
  /** Longest wait for one attempt's answer before it is retried. */
  timeoutMs?: number;
  /** The project's one retry policy (src/client/retry.ts); these fields override its defaults. */
  retry?: Partial<RetryPolicy>;
  onRetry?: (notice: RetryNotice) => void;
  /** Told once per group of events that will not be committed, with the error their promises reject with. */
  onError?: (error: Error, events: readonly Event[]) => void;
  random?: () => number;
}

// 500 events of ~300 bytes is ~150 KB a request, well inside the server's 10 MiB and 10,000-event limits; 50 ms
// of linger adds little to a log line's latency and lets a busy process fill batches.
export const DEFAULT_PUBLISHER_OPTIONS = Object.freeze({ batchMax: 500, lingerMs: 50, maxQueue: 10_000, concurrency: 4 });

/** One committed request, shared by the acks of all its events. */
export interface BatchReceipt extends PublishReceipt {
  /** Events in the request. */
  events: number;
}

/**
 * What the server's answer says about this event. The server counts per request, not per event, so this is
 * `unique` or `duplicate` only when the whole request was; otherwise `unknown` (still committed, stored once).
 */
export type PublishOutcome = 'unique' | 'duplicate' | 'unknown';

/** The resolution of publish(): the event is committed in the store. */
export interface PublishAck {
  topic: string;
  event_id: string;
  outcome: PublishOutcome;
  batch: BatchReceipt;
}

export interface Publisher {
  /** Enqueues one event (id and timestamp fixed now unless given); resolves once the server committed it. */
  publish(event: NewEvent): Promise<PublishAck>;
  /** Sends what is waiting now; resolves when every event published before the call is settled. Never rejects. */
  flush(): Promise<void>;
  /** Refuses new events, then flushes and releases the sockets. Idempotent. */
  close(): Promise<void>;
  /** Resolves when another event fits under maxQueue (at once if it does now). */
  waitForRoom(): Promise<void>;
  /** Events waiting or in flight. */
  readonly pending: number;
}

// An entry keeps the event only as JSON: the caller's objects die young, which measurably cut the garbage
// collector's share of a busy publisher (objects living through a round trip get promoted to the old generation).
interface Entry {
  topic: string;
  eventId: string;
  /** Serialized at publish time: a caller mutating its payload afterwards cannot change what a retry sends. */
  json: string;
  resolve: (ack: PublishAck) => void;
  reject: (error: Error) => void;
  promise: Promise<PublishAck>;
  /** Publish order, and when it was enqueued (performance.now()). */
  seq: number;
  at: number;
}

/** A flush() waiting for the events published up to `upTo` that were still pending when it was called. */
interface FlushWaiter {
  upTo: number;
  remaining: number;
  done: () => void;
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  return value;
}

function outcomeOf(receipt: PublishReceipt): PublishOutcome {
  const { received, unique, duplicates } = receipt.result;
  if (unique === received) return 'unique';
  // A retried request whose first answer was lost reports its own earlier copy as a duplicate.
  if (duplicates === received && receipt.uncertainAttempts === 0) return 'duplicate';
  return 'unknown';
}

/** Details of a 422 grouped by the request index they name; empty when they name none of the request's events. */
function detailsByIndex(details: readonly unknown[], size: number): Map<number, unknown[]> {
  const byIndex = new Map<number, unknown[]>();
  for (const detail of details) {
    const index = typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>).index : undefined;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= size) continue;
    byIndex.set(index, [...(byIndex.get(index) ?? []), detail]);
  }
  return byIndex;
}

const noop = (): void => undefined;

// One shared executor instead of a closure per publish(): the Promise constructor runs it synchronously, so the
// settlers are read back right after.
const captured: { resolve: (ack: PublishAck) => void; reject: (error: Error) => void } = { resolve: noop, reject: noop };
const captureSettlers = (resolve: (ack: PublishAck) => void, reject: (error: Error) => void): void => {
  captured.resolve = resolve;
  captured.reject = reject;
};

/** Creates a batching publisher: size and linger batches, retries by the one policy, bounded memory. */
export function createPublisher(options: PublisherOptions): Publisher {
  const batchMax = positiveInteger('batchMax', options.batchMax ?? DEFAULT_PUBLISHER_OPTIONS.batchMax, 1);
  const lingerMs = positiveInteger('lingerMs', options.lingerMs ?? DEFAULT_PUBLISHER_OPTIONS.lingerMs, 0);
  const maxQueue = positiveInteger('maxQueue', options.maxQueue ?? DEFAULT_PUBLISHER_OPTIONS.maxQueue, 1);
  const concurrency = positiveInteger('concurrency', options.concurrency ?? DEFAULT_PUBLISHER_OPTIONS.concurrency, 1);
  const client = createClient({
    url: options.url,
    apiKey: options.apiKey,
    concurrency,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    onRetry: options.onRetry,
    random: options.random,
  });

  let queue: Entry[] = [];
  let pending = 0;
  let flushWaiters: FlushWaiter[] = [];
  let roomWaiters: (() => void)[] = [];
  let inFlight = 0;
  let lingerTimer: NodeJS.Timeout | undefined;
  let timerHead: Entry | undefined;
  let lastSeq = 0;
  let flushedUpTo = 0;
  let closed = false;
  let closing: Promise<void> | undefined;

  // Bookkeeping runs synchronously as each event settles: no promise per event beyond the caller's own.
  const settle = (entry: Entry): void => {
    pending--;
    if (flushWaiters.length > 0) {
      for (const waiter of flushWaiters) if (entry.seq <= waiter.upTo && --waiter.remaining === 0) waiter.done();
      flushWaiters = flushWaiters.filter((waiter) => waiter.remaining > 0);
    }
    if (pending < maxQueue && roomWaiters.length > 0) {
      const waiters = roomWaiters;
      roomWaiters = [];
      for (const wake of waiters) wake();
    }
  };

  const fail = (entries: readonly Entry[], error: Error): void => {
    for (const entry of entries) {
      // Marked handled just before it rejects: a caller that does not await (fire and forget) must not crash on
      // an unhandled rejection; one that awaits still gets the error, and onError hears of it either way.
      entry.promise.catch(noop);
      entry.reject(error);
      settle(entry);
    }
    options.onError?.(error, entries.map((entry) => JSON.parse(entry.json) as Event));
  };

  const send = async (entries: Entry[]): Promise<void> => {
    const body = entries.length === 1 ? (entries[0] as Entry).json : `[${entries.map((entry) => entry.json).join(',')}]`;
    let receipt: PublishReceipt;
    try {
      receipt = await client.publishRaw(body);
    } catch (err) {
      await handleFailure(entries, err);
      return;
    }
    const batch: BatchReceipt = { ...receipt, events: entries.length };
    const outcome = outcomeOf(receipt);
    // Each event's own promise settles before any flush() that waits for it.
    for (const entry of entries) {
      entry.resolve({ topic: entry.topic, event_id: entry.eventId, outcome, batch });
      settle(entry);
    }
  };

  // Retryable failures were already retried by the client (one policy); what reaches here is final for this request.
  const handleFailure = async (entries: Entry[], err: unknown): Promise<void> => {
    const cause = err instanceof GaveUpError ? err.cause : err;
    if (!(cause instanceof HttpError) || isRetryable(cause)) {
      fail(entries, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (cause.status === 413 && entries.length > 1) {
      // Body or batch over the server's limit: halves until each fits, or a single event is refused alone.
      const half = Math.ceil(entries.length / 2);
      await send(entries.slice(0, half));
      await send(entries.slice(half));
      return;
    }
    const byIndex = cause.status === 422 ? detailsByIndex(cause.details, entries.length) : new Map<number, unknown[]>();
    if (byIndex.size === 0) {
      fail(entries, new PublishRejectedError(cause, cause.details));
      return;
    }
    // A 422 stores nothing and names every bad event: refuse those, send the rest again (each round drops >= 1).
    const good: Entry[] = [];
    entries.forEach((entry, index) => {
      const own = byIndex.get(index);
      if (own) fail([entry], new PublishRejectedError(cause, own));
      else good.push(entry);
    });
    if (good.length > 0) await send(good);
  };

  // A partial batch goes once its oldest event has lingered lingerMs, or was published before a flush().
  const ripe = (head: Entry): boolean => head.seq <= flushedUpTo || performance.now() >= head.at + lingerMs;

  const pump = (): void => {
    while (queue.length > 0 && inFlight < concurrency && (queue.length >= batchMax || ripe(queue[0] as Entry))) {
      const entries = queue.length <= batchMax ? queue : queue.slice(0, batchMax);
      queue = queue.length <= batchMax ? [] : queue.slice(batchMax);
      inFlight++;
      void send(entries).finally(() => {
        inFlight--;
        pump();
      });
    }
    // With every slot busy no timer is needed: the next request to finish pumps again.
    const head = queue[0];
    if (head === undefined || inFlight >= concurrency) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
      timerHead = undefined;
    } else if (timerHead !== head) {
      clearTimeout(lingerTimer);
      timerHead = head;
      // Not unref'd: a process ending naturally still sends what lingers instead of dropping it.
      lingerTimer = setTimeout(() => {
        lingerTimer = undefined;
        timerHead = undefined;
        pump();
      }, Math.max(0, head.at + lingerMs - performance.now()));
    }
  };

  const refuse = (error: Error, event: Event): Promise<PublishAck> => {
    options.onError?.(error, [event]);
    const refused = Promise.reject(error);
    refused.catch(noop);
    return refused;
  };

  const publish = (input: NewEvent): Promise<PublishAck> => {
    // Unknown fields ride along so the server refuses a typo (SPEC §2) instead of the client dropping it.
    const complete = input.event_id !== undefined && input.timestamp !== undefined && input.payload !== undefined;
    const event: Event = complete ? (input as Event) : { ...input, ...createEvent(input) };
    if (closed) return refuse(new PublisherClosedError(), event);
    if (pending >= maxQueue) return refuse(new QueueFullError(maxQueue), event);
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch (err) {
      // A cycle or a BigInt in the payload: this event can never be sent, and no other event is affected.
      return refuse(err instanceof Error ? err : new TypeError(String(err)), event);
    }
    const promise = new Promise<PublishAck>(captureSettlers);
    pending++;
    queue.push({ topic: event.topic, eventId: event.event_id, json, resolve: captured.resolve, reject: captured.reject, promise, seq: ++lastSeq, at: performance.now() });
    pump();
    return promise;
  };

  const flush = (): Promise<void> => {
    flushedUpTo = lastSeq;
    pump();
    // Every pending event was published before this call, so the flush waits for exactly `pending` of them.
    if (pending === 0) return Promise.resolve();
    return new Promise((done) => flushWaiters.push({ upTo: lastSeq, remaining: pending, done }));
  };

  return {
    publish,
    flush,
    close() {
      closing ??= (async () => {
        closed = true;
        await flush();
        client.close();
        for (const wake of roomWaiters.splice(0)) wake();
      })();
      return closing;
    },
    waitForRoom() {
      if (pending < maxQueue || closed) return Promise.resolve();
      return new Promise((resolve) => roomWaiters.push(resolve));
    },
    get pending() {
      return pending;
    },
  };
}
