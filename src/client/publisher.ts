import type { Event } from '../schema/event.js';
import { BatchQueue } from './batch-queue.js';
import { BatchSender } from './batch-sender.js';
import { createEvent, type NewEvent } from './event.js';
import { createClient } from './http.js';
import { PendingLedger } from './pending-ledger.js';
import { PublisherClosedError, QueueFullError } from './publish-errors.js';
import type { RetryNotice, RetryPolicy } from './retry.js';
import { callSafely, type Entry, newEntry, type PublishAck, Settlement } from './settlement.js';

export type { BatchReceipt, PublishAck, PublishOutcome } from './settlement.js';

export interface PublisherOptions {
  /** Base URL of an aggregator, e.g. http://127.0.0.1:8080. */
  url: string;
  apiKey?: string;
  /** The tenant the events are published to, sent as X-Scope-OrgID; unset: the key's own, or `default`. */
  tenant?: string;
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

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  return value;
}

const describeInput = (input: unknown): string => (input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input);

/**
 * Cuts the queue into requests: a full batch goes at once, a partial one once its oldest event has lingered
 * lingerMs or was published before a flush(); at most `concurrency` requests in flight.
 */
class Pump {
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerHead: Entry | undefined;
  /** Events published up to this order go without waiting for the linger. */
  flushedUpTo = 0;

  constructor(
    private readonly queue: BatchQueue<Entry>,
    private readonly sender: BatchSender,
    private readonly limits: { batchMax: number; lingerMs: number; concurrency: number },
  ) {}

  private ripe(head: Entry): boolean {
    return head.seq <= this.flushedUpTo || performance.now() >= head.at + this.limits.lingerMs;
  }

  readonly run = (): void => {
    const { batchMax, concurrency, lingerMs } = this.limits;
    const { queue } = this;
    while (queue.length > 0 && this.inFlight < concurrency && (queue.length >= batchMax || this.ripe(queue.peek() as Entry))) {
      this.inFlight++;
      void this.sender.send(queue.take(batchMax)).finally(() => {
        this.inFlight--;
        this.run();
      });
    }
    // With every slot busy no timer is needed: the next request to finish pumps again.
    const head = queue.peek();
    if (head === undefined || this.inFlight >= concurrency) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerHead = undefined;
    } else if (this.timerHead !== head) {
      clearTimeout(this.timer);
      this.timerHead = head;
      // Not unref'd: a process ending naturally still sends what lingers instead of dropping it.
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.timerHead = undefined;
          this.run();
        },
        Math.max(0, head.at + lingerMs - performance.now()),
      );
    }
  };
}

/** Creates a batching publisher: size and linger batches, retries by the one policy, bounded memory. */
export function createPublisher(options: PublisherOptions): Publisher {
  const batchMax = positiveInteger('batchMax', options.batchMax ?? DEFAULT_PUBLISHER_OPTIONS.batchMax, 1);
  const lingerMs = positiveInteger('lingerMs', options.lingerMs ?? DEFAULT_PUBLISHER_OPTIONS.lingerMs, 0);
  const maxQueue = positiveInteger('maxQueue', options.maxQueue ?? DEFAULT_PUBLISHER_OPTIONS.maxQueue, 1);
  const concurrency = positiveInteger('concurrency', options.concurrency ?? DEFAULT_PUBLISHER_OPTIONS.concurrency, 1);
  const client = createClient({
    url: options.url,
    apiKey: options.apiKey,
    ...(options.tenant ? { tenant: options.tenant } : {}),
    concurrency,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    onRetry: options.onRetry && ((notice) => callSafely('onRetry', () => options.onRetry?.(notice))),
    random: options.random,
  });
  const ledger = new PendingLedger(maxQueue);
  const settlement = new Settlement(ledger, options.onError);
  const queue = new BatchQueue<Entry>();
  const pump = new Pump(queue, new BatchSender(client, settlement), { batchMax, lingerMs, concurrency });
  let closed = false;
  let closing: Promise<void> | undefined;

  const publish = (input: NewEvent): Promise<PublishAck> => {
    // Like every other refusal, a promise that rejects (a caller awaiting it in a try block sees it), not a throw.
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return settlement.refuse(new TypeError(`publish expects an event object, got ${describeInput(input)}`), []);
    }
    // Unknown fields ride along so the server refuses a typo (docs/spec.md §2) instead of the client dropping it.
    const complete = input.event_id !== undefined && input.timestamp !== undefined && input.payload !== undefined;
    const event: Event = complete ? (input as Event) : { ...input, ...createEvent(input) };
    if (closed) return settlement.refuse(new PublisherClosedError(), [event]);
    if (ledger.full) return settlement.refuse(new QueueFullError(maxQueue), [event]);
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch (err) {
      // A cycle or a BigInt in the payload: this event can never be sent, and no other event is affected.
      return settlement.refuse(err instanceof Error ? err : new TypeError(String(err)), [event]);
    }
    const entry = newEntry(event.topic, event.event_id, json, ledger.admit());
    queue.push(entry);
    pump.run();
    return entry.promise;
  };

  const flush = (): Promise<void> => {
    pump.flushedUpTo = ledger.lastAdmitted;
    pump.run();
    return ledger.whenSettled();
  };

  return {
    publish,
    flush,
    close() {
      closing ??= (async () => {
        closed = true;
        await flush();
        client.close();
        ledger.wakeRoomWaiters();
      })();
      return closing;
    },
    waitForRoom: () => ledger.whenRoom(closed),
    get pending() {
      return ledger.pending;
    },
  };
}
