import type { Event } from '../schema/event.js';
import type { PublishReceipt } from './http.js';
import type { PendingLedger } from './pending-ledger.js';

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

// An entry keeps the event only as JSON: the caller's objects die young, which measurably cut the garbage
// collector's share of a busy publisher (objects living through a round trip get promoted to the old generation).
export interface Entry {
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

export const noop = (): void => undefined;

/**
 * Runs a caller's callback. One that throws must not break the bookkeeping of the events being settled, nor turn
 * into an unhandled rejection (it runs inside promise chains): the throw becomes a warning, visible on stderr.
 */
export function callSafely(name: string, callback: () => void): void {
  try {
    callback();
  } catch (err) {
    process.emitWarning(`the ${name} callback threw: ${err instanceof Error ? err.message : String(err)}`, 'LogaggClientWarning');
  }
}

// One shared executor instead of a closure per publish(): the Promise constructor runs it synchronously, so the
// settlers are read back right after.
const captured: { resolve: (ack: PublishAck) => void; reject: (error: Error) => void } = { resolve: noop, reject: noop };
const captureSettlers = (resolve: (ack: PublishAck) => void, reject: (error: Error) => void): void => {
  captured.resolve = resolve;
  captured.reject = reject;
};

/** A queued event and the promise its caller holds. */
export function newEntry(topic: string, eventId: string, json: string, seq: number): Entry {
  const promise = new Promise<PublishAck>(captureSettlers);
  return { topic, eventId, json, resolve: captured.resolve, reject: captured.reject, promise, seq, at: performance.now() };
}

function outcomeOf(receipt: PublishReceipt): PublishOutcome {
  const { received, unique, duplicates } = receipt.result;
  if (unique === received) return 'unique';
  // A retried request whose first answer was lost reports its own earlier copy as a duplicate.
  if (duplicates === received && receipt.uncertainAttempts === 0) return 'duplicate';
  return 'unknown';
}

export type OnError = (error: Error, events: readonly Event[]) => void;

/** Settles events: their promises, the pending ledger, and the caller's onError, in that order. */
export class Settlement {
  constructor(
    private readonly ledger: PendingLedger,
    private readonly onError: OnError | undefined,
  ) {}

  /** Every event of a committed request resolves, each before any flush() that waits for it. */
  commit(entries: readonly Entry[], receipt: PublishReceipt): void {
    const batch: BatchReceipt = { ...receipt, events: entries.length };
    const outcome = outcomeOf(receipt);
    for (const entry of entries) {
      entry.resolve({ topic: entry.topic, event_id: entry.eventId, outcome, batch });
      this.ledger.settle(entry.seq);
    }
  }

  fail(entries: readonly Entry[], error: Error): void {
    for (const entry of entries) {
      // Marked handled just before it rejects: a caller that does not await (fire and forget) must not crash on
      // an unhandled rejection; one that awaits still gets the error, and onError hears of it either way.
      entry.promise.catch(noop);
      entry.reject(error);
      this.ledger.settle(entry.seq);
    }
    this.tell(error, () => entries.map((entry) => JSON.parse(entry.json) as Event));
  }

  /** A publish() refused before it was queued: a rejected promise (already handled), and onError is told. */
  refuse(error: Error, events: readonly Event[]): Promise<PublishAck> {
    this.tell(error, () => events);
    const refused = Promise.reject(error);
    refused.catch(noop);
    return refused;
  }

  private tell(error: Error, events: () => readonly Event[]): void {
    const { onError } = this;
    if (onError) callSafely('onError', () => onError(error, events()));
  }
}
