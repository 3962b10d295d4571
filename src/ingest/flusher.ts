import { LogaggError } from '../errors.js';
import type { Event } from '../schema/event.js';
import type { Store } from '../store/index.js';
import type { Pending } from './queue.js';

export type BatchWriter = Pick<Store, 'insertBatch'>;

export type TopicTally = Map<string, { transport: string; topic: string; received: number; unique: number }>;

/** What one batch did, for the pipeline's figures and metrics. */
export interface FlushReport {
  events: number;
  unique: number;
  /** Set when the batch (or a request of it) failed. */
  failure?: LogaggError;
  /** Per (transport, topic) counts, only when asked for: it costs a map lookup per event. */
  byTopic?: TopicTally;
}

function tallyEvent(byTopic: TopicTally, transport: string, topic: string, unique: boolean): void {
  const key = `${transport}\u0000${topic}`;
  let entry = byTopic.get(key);
  if (!entry) {
    entry = { transport, topic, received: 0, unique: 0 };
    byTopic.set(key, entry);
  }
  entry.received++;
  if (unique) entry.unique++;
}

const keyOf = (topic: string, eventId: string): string => `${topic}\u0000${eventId}`;

/**
 * Commits one batch in one transaction, then hands each request its own share: the database returned the keys
 * it inserted; the first copy of such a key in arrival order is the one it kept (ON CONFLICT DO NOTHING keeps the
 * first row of a statement), every other copy is a duplicate. Answers go out only after the commit (SPEC §1).
 */
export async function flushBatch(store: BatchWriter, batch: readonly Pending[], tally = false): Promise<FlushReport> {
  const events: Event[] = batch.length === 1 ? (batch[0] as Pending).events.slice() : batch.flatMap((p) => p.events);
  let inserted: Awaited<ReturnType<BatchWriter['insertBatch']>>;
  try {
    inserted = await store.insertBatch(events);
  } catch (err) {
    return isolate(store, batch, err, tally);
  }
  const fresh = new Set<string>();
  for (const row of inserted) fresh.add(keyOf(row.topic, row.event_id));
  const byTopic: TopicTally | undefined = tally ? new Map() : undefined;
  for (const pending of batch) {
    let unique = 0;
    for (const event of pending.events) {
      const isNew = fresh.delete(keyOf(event.topic, event.event_id));
      if (isNew) unique++;
      if (byTopic) tallyEvent(byTopic, pending.transport, event.topic, isNew);
    }
    pending.resolve({ received: pending.events.length, unique, duplicates: pending.events.length - unique });
  }
  return byTopic ? { events: events.length, unique: inserted.length, byTopic } : { events: events.length, unique: inserted.length };
}

/**
 * A batch that failed for a reason other than the store being away may hold one request the database refuses;
 * retrying each request alone keeps that request from failing the others it happened to share a batch with.
 */
async function isolate(store: BatchWriter, batch: readonly Pending[], err: unknown, tally: boolean): Promise<FlushReport> {
  const failure = err instanceof LogaggError ? err : new LogaggError('STORE_FAILED', { cause: err });
  if (batch.length === 1 || failure.code === 'STORE_UNAVAILABLE') {
    for (const pending of batch) pending.reject(failure);
    return { events: 0, unique: 0, failure };
  }
  const report: FlushReport = { events: 0, unique: 0, failure };
  if (tally) report.byTopic = new Map();
  for (const pending of batch) {
    const one = await flushBatch(store, [pending], tally);
    report.events += one.events;
    report.unique += one.unique;
    for (const [key, entry] of one.byTopic ?? []) {
      const sum = report.byTopic?.get(key);
      if (sum) {
        sum.received += entry.received;
        sum.unique += entry.unique;
      } else report.byTopic?.set(key, entry);
    }
  }
  return report;
}
