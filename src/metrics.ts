import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TallyEntry } from './schema/counters.js';
import type { Transport } from './schema/transport.js';

/** Distinct topics that get a label of their own; the rest share `_other`, so series stay bounded. */
export const TOPIC_LABEL_LIMIT = 100;
export const OTHER_TOPIC = '_other';
/** Distinct tenants that get a label of their own (the client names tenants); the rest share `_other`. */
export const TENANT_LABEL_LIMIT = 100;
export const OTHER_TENANT = '_other';

/** What one committed batch did, per (transport, topic). */
export interface BatchTally {
  events: number;
  durationSeconds: number;
  byTopic: ReadonlyMap<string, TallyEntry>;
}

/** Live figures read when /metrics is scraped, never pushed on the hot path. */
export interface MetricsSources {
  queuedEvents(): number;
  subscribers(): number;
}

/** `value` as a label: itself while fewer than `limit` values have labels of their own, else `_other`. */
function capped(seen: Set<string>, limit: number, value: string): string {
  if (seen.has(value)) return value;
  if (seen.size >= limit) return OTHER_TOPIC;
  seen.add(value);
  return value;
}

/** The Prometheus registry and every logagg_* metric (docs/spec.md §3). */
export class Metrics {
  readonly registry = new Registry();
  private readonly topics = new Set<string>();
  private readonly tenants = new Set<string>();
  private readonly received: Counter<'transport' | 'tenant' | 'topic'>;
  private readonly unique: Counter<'transport' | 'tenant' | 'topic'>;
  private readonly duplicates: Counter<'transport' | 'tenant' | 'topic'>;
  private readonly rejected: Counter<'transport' | 'reason'>;
  private readonly storeErrors: Counter<'code'>;
  private readonly quotaRefused: Counter<'tenant' | 'limit'>;
  private readonly expired: Counter<'kind'>;
  private readonly deleted: Counter;
  private readonly batchSize: Histogram;
  private readonly commitSeconds: Histogram;
  private readonly inFlight: Gauge;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'logagg_' });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    const labels: Array<'transport' | 'tenant' | 'topic'> = ['transport', 'tenant', 'topic'];
    this.received = counter('logagg_events_received_total', 'Events in committed requests', labels);
    this.unique = counter('logagg_events_unique_total', 'Events stored for the first time', labels);
    this.duplicates = counter('logagg_events_duplicate_total', 'Events dropped as duplicates', labels);
    this.rejected = counter('logagg_requests_rejected_total', 'Requests or messages refused, by error code', ['transport', 'reason']);
    this.quotaRefused = counter(
      'logagg_quota_refused_total',
      'Requests refused by a tenant quota (TENANT_LIMITS), by tenant and limit; tenants past the first 100 are _other',
      ['tenant', 'limit'],
    );
    this.storeErrors = counter('logagg_store_errors_total', 'Batches the store failed, by error code', ['code']);
    this.expired = counter(
      'logagg_retention_deleted_total',
      'Rows deleted by retention: kind="events" (RETENTION) or "keys" (DEDUP_RETENTION)',
      ['kind'],
    );
    this.deleted = new Counter({
      name: 'logagg_deletion_deleted_total',
      help: 'Events deleted by deletion jobs (POST /admin/delete)',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'logagg_batch_events',
      help: 'Events per group commit',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'logagg_batch_commit_seconds',
      help: 'Time to commit one batch (insert, counters, commit, flush)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.inFlight = new Gauge({ name: 'logagg_http_requests_in_flight', help: 'HTTP requests being handled', registers });
    new Gauge({
      name: 'logagg_queue_events',
      help: 'Events waiting for a flusher',
      registers,
      collect() {
        this.set(sources.queuedEvents());
      },
    });
    new Gauge({
      name: 'logagg_stream_subscribers',
      help: 'Open live-stream (SSE) connections',
      registers,
      collect() {
        this.set(sources.subscribers());
      },
    });
  }

  private topicLabel(topic: string): string {
    return capped(this.topics, TOPIC_LABEL_LIMIT, topic);
  }

  private tenantLabel(tenant: string): string {
    return capped(this.tenants, TENANT_LABEL_LIMIT, tenant);
  }

  recordBatch(tally: BatchTally): void {
    this.batchSize.observe(tally.events);
    this.commitSeconds.observe(tally.durationSeconds);
    for (const { transport, tenant, topic, received, unique } of tally.byTopic.values()) {
      const labels = { transport, tenant: this.tenantLabel(tenant), topic: this.topicLabel(topic) };
      this.received.inc(labels, received);
      this.unique.inc(labels, unique);
      if (received > unique) this.duplicates.inc(labels, received - unique);
    }
  }

  recordRejected(transport: Transport, reason: string): void {
    this.rejected.inc({ transport, reason });
  }

  recordQuotaRefused(tenant: string, limit: string): void {
    this.quotaRefused.inc({ tenant: this.tenantLabel(tenant), limit });
  }

  recordStoreError(code: string): void {
    this.storeErrors.inc({ code });
  }

  recordDeleted(events: number): void {
    this.deleted.inc(events);
  }

  recordExpired(events: number, keys: number): void {
    this.expired.inc({ kind: 'events' }, events);
    this.expired.inc({ kind: 'keys' }, keys);
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  requestFinished(): void {
    this.inFlight.dec();
  }
}
