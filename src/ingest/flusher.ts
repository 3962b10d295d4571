import { LogaggError } from '../errors.js';
import type { Event } from '../schema/event.js';
import type { Store } from '../store/index.js';
import type { Pending } from './queue.js';

export type BatchWriter = Pick<Store, 'insertBatch'>;

/** What one committed batch did, for the pipeline's figures. */
export interface FlushReport {
  events: number;
  unique: number;
  /** Set when the store was unreachable and the whole batch failed. */
  unavailable?: LogaggError;
}

const keyOf = (topic: string, eventId: string): string => `${topic}\u0000${eventId}`;

/**
 * Commits one batch in one transaction, then hands each request its own share: the database returned the keys
 * it inserted; the first copy of such a key in arrival order is the one it kept (ON CONFLICT DO NOTHING keeps the
 * first row of a statement), every other copy is a duplicate. Answers go out only after the commit (SPEC §1).
 */
export async function flushBatch(store: BatchWriter, batch: readonly Pending[]): Promise<FlushReport> {
  const events: Event[] = batch.length === 1 ? (batch[0] as Pending).events.slice() : batch.flatMap((p) => p.events);
  let inserted: Awaited<ReturnType<BatchWriter['insertBatch']>>;
  try {
    inserted = await store.insertBatch(events);
  } catch (err) {
    return isolate(store, batch, err);
  }
  const fresh = new Set<string>();
  for (const row of inserted) fresh.add(keyOf(row.topic, row.event_id));
  for (const pending of batch) {
    let unique = 0;
    for (const event of pending.events) {
      if (fresh.delete(keyOf(event.topic, event.event_id))) unique++;
    }
    pending.resolve({ received: pending.events.length, unique, duplicates: pending.events.length - unique });
  }
  return { events: events.length, unique: inserted.length };
}

/**
 * A batch that failed for a reason other than the store being away may hold one request the database refuses;
 * retrying each request alone keeps that request from failing the others it happened to share a batch with.
 */
async function isolate(store: BatchWriter, batch: readonly Pending[], err: unknown): Promise<FlushReport> {
  const failure =
    err instanceof LogaggError ? err : new LogaggError('STORE_FAILED', { cause: err });
  if (batch.length === 1 || failure.code === 'STORE_UNAVAILABLE') {
    for (const pending of batch) pending.reject(failure);
    return failure.code === 'STORE_UNAVAILABLE' ? { events: 0, unique: 0, unavailable: failure } : { events: 0, unique: 0 };
  }
  const report: FlushReport = { events: 0, unique: 0 };
  for (const pending of batch) {
    const one = await flushBatch(store, [pending]);
    report.events += one.events;
    report.unique += one.unique;
  }
  return report;
}
