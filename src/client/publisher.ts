import type { Event } from '../schema/event.js';
import { createEvent, type NewEvent } from './event.js';
import { createClient, type PublishReceipt } from './http.js';
import { PublisherClosedError, QueueFullError } from './publish-errors.js';
import { settleRefused } from './refusal.js';
import type { RetryNotice, RetryPolicy } from './retry.js';

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
  /** Told before each retry wait. A callback that throws is reported as a process warning, never to the publisher. */
  onRetry?: (notice: RetryNotice) => void;
  /**
   * Told once per group of events that will not be committed, with the error their promises reject with (`events`
   * is empty when publish() was not given an object). A throw from it is reported as a process warning.
   */
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

/**
 * Runs a caller's callback. One that throws must not break the bookkeeping of the events being settled, nor turn
 * into an unhandled rejection (it runs inside promise chains): the throw becomes a warning, visible on stderr.
 */
function callSafely(name: string, callback: () => void): void {
  try {
    callback();
  } catch (err) {
    process.emitWarning(`the ${name} callback threw: ${err instanceof Error ? err.message : String(err)}`, 'LogaggClientWarning');
  }
}

const describeInput = (input: unknown): string => (input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input);

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
    onRetry: options.onRetry && ((notice) => callSafely('onRetry', () => options.onRetry?.(notice))),
    random: options.random,
  });

  let queue: Entry[] = [];
  let pending = 0;
  // In flush order, so ascending by upTo.
  const flushWaiters: FlushWaiter[] = [];
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
    // A waiter counts the events still pending when its flush was called, which include everything an earlier
    // waiter still counts: waiters finish in order. So count down from the back while they wait for this event,
    // then pop the finished ones off the front (no scan or copy of the whole list per event).
    for (let i = flushWaiters.length - 1; i >= 0 && entry.seq <= (flushWaiters[i] as FlushWaiter).upTo; i--)
      (flushWaiters[i] as FlushWaiter).remaining--;
    while (flushWaiters.length > 0 && (flushWaiters[0] as FlushWaiter).remaining === 0) (flushWaiters.shift() as FlushWaiter).done();
    if (pending < maxQueue && roomWaiters.length > 0) {
      const waiters = roomWaiters;
      roomWaiters = [];
      for (const wake of waiters) wake();
    }
  };

  const tell = (error: Error, events: () => readonly Event[]): void => {
    const { onError } = options;
    if (onError) callSafely('onError', () => onError(error, events()));
  };

  const fail = (entries: readonly Entry[], error: Error): void => {
    for (const entry of entries) {
      // Marked handled just before it rejects: a caller that does not await (fire and forget) must not crash on
      // an unhandled rejection; one that awaits still gets the error, and onError hears of it either way.
      entry.promise.catch(noop);
      entry.reject(error);
      settle(entry);
    }
    tell(error, () => entries.map((entry) => JSON.parse(entry.json) as Event));
  };

  const send = async (entries: Entry[]): Promise<void> => {
    const body = entries.length === 1 ? (entries[0] as Entry).json : `[${entries.map((entry) => entry.json).join(',')}]`;
    let receipt: PublishReceipt;
    try {
      receipt = await client.publishRaw(body);
    } catch (err) {
      await settleRefused(entries, err, { send, fail });
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
      lingerTimer = setTimeout(
        () => {
          lingerTimer = undefined;
          timerHead = undefined;
          pump();
        },
        Math.max(0, head.at + lingerMs - performance.now()),
      );
    }
  };

  const refuse = (error: Error, events: readonly Event[]): Promise<PublishAck> => {
    tell(error, () => events);
    const refused = Promise.reject(error);
    refused.catch(noop);
    return refused;
  };

  const publish = (input: NewEvent): Promise<PublishAck> => {
    // Like every other refusal, a promise that rejects (a caller awaiting it in a try block sees it), not a throw.
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return refuse(new TypeError(`publish expects an event object, got ${describeInput(input)}`), []);
    }
    // Unknown fields ride along so the server refuses a typo (docs/spec.md §2) instead of the client dropping it.
    const complete = input.event_id !== undefined && input.timestamp !== undefined && input.payload !== undefined;
    const event: Event = complete ? (input as Event) : { ...input, ...createEvent(input) };
    if (closed) return refuse(new PublisherClosedError(), [event]);
    if (pending >= maxQueue) return refuse(new QueueFullError(maxQueue), [event]);
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch (err) {
      // A cycle or a BigInt in the payload: this event can never be sent, and no other event is affected.
      return refuse(err instanceof Error ? err : new TypeError(String(err)), [event]);
    }
    const promise = new Promise<PublishAck>(captureSettlers);
    pending++;
    queue.push({
      topic: event.topic,
      eventId: event.event_id,
      json,
      resolve: captured.resolve,
      reject: captured.reject,
      promise,
      seq: ++lastSeq,
      at: performance.now(),
    });
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
