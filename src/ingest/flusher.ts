import { LogaggError } from '../errors.js';
import type { TallyEntry } from '../schema/counters.js';
import type { Event } from '../schema/event.js';
import type { Store, TenantRun } from '../store/index.js';
import type { Pending, SubmitResult } from './queue.js';

export type BatchWriter = Pick<Store, 'insertBatch'>;

export type TopicTally = Map<string, TallyEntry>;

/** What one batch did, for the pipeline's figures and metrics. */
export interface FlushReport {
  events: number;
  unique: number;
  /** Set when the batch (or a request of it) failed. */
  failure?: LogaggError;
  /** Per (transport, topic) counts, only when asked for: it costs a map lookup per event. */
  byTopic?: TopicTally;
}

/** A tally being built: "transport NUL tenant" → topic → counts, so the per-event step joins no strings. */
type TallyByTransport = Map<string, Map<string, TallyEntry>>;

function toTopicTally(byTransport: TallyByTransport): TopicTally {
  const byTopic: TopicTally = new Map();
  for (const [source, topics] of byTransport) {
    for (const [topic, entry] of topics) byTopic.set(`${source}\u0000${topic}`, entry);
  }
  return byTopic;
}

/**
 * Commits one batch in one transaction, then hands each request its own share: the database returned the keys
 * it inserted; the first copy of such a key in arrival order is the one it kept (ON CONFLICT DO NOTHING keeps the
 * first row of a statement), every other copy is a duplicate. Answers go out only after the commit (docs/spec.md §1).
 * Keys are looked up as topic → event_id sets rather than joined strings: no allocation per event (measured in
 * docs/performance.md).
 */
export async function flushBatch(store: BatchWriter, batch: readonly Pending[], tally = false): Promise<FlushReport> {
  const events: readonly Event[] = batch.length === 1 ? (batch[0] as Pending).events : batch.flatMap((p) => p.events);
  let inserted: Awaited<ReturnType<BatchWriter['insertBatch']>>;
  try {
    inserted = await store.insertBatch(events, tenantRuns(batch));
  } catch (err) {
    return isolate(store, batch, err, tally);
  }
  // tenant → topic → event ids the database inserted.
  const fresh = new Map<string, Map<string, Set<string>>>();
  for (const row of inserted) {
    let topics = fresh.get(row.tenant);
    if (!topics) {
      topics = new Map();
      fresh.set(row.tenant, topics);
    }
    let ids = topics.get(row.topic);
    if (!ids) {
      ids = new Set();
      topics.set(row.topic, ids);
    }
    ids.add(row.event_id);
  }
  const byTransport: TallyByTransport | undefined = tally ? new Map() : undefined;
  for (const pending of batch) {
    let unique = 0;
    const source = byTransport ? `${pending.transport}\u0000${pending.tenant}` : '';
    let topics = byTransport?.get(source);
    if (byTransport && !topics) {
      topics = new Map();
      byTransport.set(source, topics);
    }
    const stored = pending.perEvent === true ? new Array<boolean>(pending.events.length) : undefined;
    const tenantFresh = fresh.get(pending.tenant);
    for (let i = 0; i < pending.events.length; i++) {
      const event = pending.events[i] as Event;
      const isNew = tenantFresh?.get(event.topic)?.delete(event.event_id) === true;
      if (isNew) unique++;
      if (stored) stored[i] = isNew;
      if (topics) {
        let entry = topics.get(event.topic);
        if (!entry) {
          entry = { transport: pending.transport, tenant: pending.tenant, topic: event.topic, received: 0, unique: 0 };
          topics.set(event.topic, entry);
        }
        entry.received++;
        if (isNew) entry.unique++;
      }
    }
    const result: SubmitResult = { received: pending.events.length, unique, duplicates: pending.events.length - unique };
    if (stored) result.stored = stored;
    pending.resolve(result);
  }
  const report: FlushReport = { events: events.length, unique: inserted.length };
  if (byTransport) report.byTopic = toTopicTally(byTransport);
  return report;
}

/** Whose events the batch holds, in order: one run per stretch of requests of one tenant. */
function tenantRuns(batch: readonly Pending[]): TenantRun[] {
  const runs: TenantRun[] = [];
  let last: TenantRun | undefined;
  for (const pending of batch) {
    if (last?.tenant === pending.tenant) last.count += pending.events.length;
    else {
      last = { tenant: pending.tenant, count: pending.events.length, maxTopics: pending.maxTopics };
      runs.push(last);
    }
  }
  return runs;
}

/**
 * A batch that failed for a reason other than the store being away may hold one request the database refuses;
 * retrying each request alone keeps that request from failing the others it happened to share a batch with.
 * If the store goes away during those retries, that is the batch's failure (STORE_UNAVAILABLE, which the
 * pipeline's circuit and the runbook key on), and the requests not yet retried get it at once instead of each
 * waiting out its own timeout.
 */
async function isolate(store: BatchWriter, batch: readonly Pending[], err: unknown, tally: boolean): Promise<FlushReport> {
  const failure = err instanceof LogaggError ? err : new LogaggError('STORE_FAILED', { cause: err });
  // Away or full, the store refuses every request alike: retrying each alone would only multiply the refusals.
  if (batch.length === 1 || failure.code === 'STORE_UNAVAILABLE' || failure.code === 'STORE_FULL') {
    for (const pending of batch) pending.reject(failure);
    return { events: 0, unique: 0, failure };
  }
  const report: FlushReport = { events: 0, unique: 0, failure };
  if (tally) report.byTopic = new Map();
  // A tenant at its max_topics (the refusal names it): the other tenants' requests go again as one statement
  // (isolated in turn if another tenant is refused too), and only that tenant's are retried one by one; so a
  // tenant at its limit costs the others one more statement, not one each, within the store deadline.
  const limited = refusedTenant(failure);
  const parts: Pending[][] =
    limited === undefined
      ? batch.map((pending) => [pending])
      : [batch.filter((p) => p.tenant !== limited), ...batch.filter((p) => p.tenant === limited).map((p) => [p])];
  for (const part of parts) {
    if (part.length === 0) continue;
    if (report.failure?.code === 'STORE_UNAVAILABLE') {
      for (const pending of part) pending.reject(report.failure);
      continue;
    }
    add(report, await flushBatch(store, part, tally));
  }
  return report;
}

function add(report: FlushReport, part: FlushReport): void {
  if (part.failure?.code === 'STORE_UNAVAILABLE') report.failure = part.failure;
  report.events += part.events;
  report.unique += part.unique;
  for (const [key, entry] of part.byTopic ?? []) {
    const sum = report.byTopic?.get(key);
    if (sum) {
      sum.received += entry.received;
      sum.unique += entry.unique;
    } else report.byTopic?.set(key, entry);
  }
}

/** The tenant a max_topics refusal names (src/store/topic-limit.ts), if the failure is one. */
function refusedTenant(failure: LogaggError): string | undefined {
  if (failure.code !== 'QUOTA_EXCEEDED') return undefined;
  const [detail] = failure.details ?? [];
  return typeof detail === 'object' && detail !== null && 'tenant' in detail && typeof detail.tenant === 'string'
    ? detail.tenant
    : undefined;
}
