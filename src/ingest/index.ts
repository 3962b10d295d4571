import { LogaggError } from '../errors.js';
import type { BatchTally } from '../metrics.js';
import type { Event } from '../schema/event.js';
import type { Transport } from '../schema/transport.js';
import { DEFAULT_TENANT } from '../schema/keys.js';
import { Batcher } from './batcher.js';
import { Circuit } from './circuit.js';
import { type BatchWriter, type FlushReport, flushBatch } from './flusher.js';
import { IngestQueue, type Pending, type SubmitOptions, type SubmitResult } from './queue.js';

export type { SubmitOptions, SubmitResult } from './queue.js';

export interface PipelineOptions {
  batchMax: number;
  lingerMs: number;
  workers: number;
  maxQueue: number;
  /** STORE_TIMEOUT_MS: a batch the store has not answered by then is answered 503 STORE_UNAVAILABLE (default 5000). */
  storeTimeoutMs?: number;
  /** While the store is away, one batch per this interval probes it; the others are refused at once (default 1000). */
  probeIntervalMs?: number;
  /** Called after each batch that committed something (wakes the live feed). */
  onCommit?: () => void;
  /** Called after each committed batch with its counts per (transport, topic); off costs nothing. */
  onBatch?: (tally: BatchTally) => void;
  /** A tenant's max_topics (TENANT_LIMITS), looked up as a request is queued; absent: no tenant is limited. */
  topicLimit?: (tenant: string) => number | undefined;
  /** Called for each request refused for its tenant's max_topics (logagg_quota_refused_total). */
  onTopicLimitRefused?: (tenant: string) => void;
  /** Called when a batch fails, with the error code. */
  onStoreError?: (code: string) => void;
  /** Told once per change of state (store lost/back, queue full/drained), never per request. */
  logger?: IngestLogger;
}

/** The slice of a pino logger the pipeline uses. */
export interface IngestLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface PipelineFigures {
  queued_events: number;
  max_queue: number;
  batches_in_flight: number;
  batches_committed: number;
  events_committed: number;
  workers: number;
  batch_max: number;
  batch_linger_ms: number;
}

export interface Pipeline {
  /** Queues a request's events; resolves once they are committed, with this request's own outcome. */
  submit(events: readonly Event[], transport?: Transport, options?: SubmitOptions): Promise<SubmitResult>;
  figures(): PipelineFigures;
  /** Refuses new requests, commits everything queued, resolves when the last batch is answered. */
  close(): Promise<void>;
}

/** The group-commit pipeline (docs/spec.md §5): bounded queue → batcher → parallel flushers → store. */
export function createPipeline(store: BatchWriter, options: PipelineOptions): Pipeline {
  const queue = new IngestQueue(options.maxQueue);
  let closing = false;
  let batchesCommitted = 0;
  let eventsCommitted = 0;
  let overloaded = false;
  let diskFull = false;
  const logger = options.logger;

  const { topicLimit, onTopicLimitRefused: topicLimitRefused } = options;
  const rejectCounted = (err: Error, tenant: string, reject: (err: Error) => void): void => {
    if (err instanceof LogaggError && err.code === 'QUOTA_EXCEEDED') topicLimitRefused?.(tenant);
    reject(err);
  };

  const circuit = new Circuit(options.probeIntervalMs ?? 1000);
  const storeTimeoutMs = options.storeTimeoutMs ?? 5000;

  const storeLost = (failure: LogaggError, probe: boolean): void => {
    if (circuit.failed(probe)) logger?.warn({ err: failure }, 'store unavailable; publishes get 503 until it returns');
  };

  /** Books what a batch's store call did; `answered` is false when its requests already got the deadline's 503. */
  const record = (report: FlushReport, started: number, probe: boolean, answered: boolean): void => {
    if (report.events > 0) batchesCommitted++;
    eventsCommitted += report.events;
    if (report.unique > 0) options.onCommit?.();
    if (report.byTopic && report.events > 0) {
      options.onBatch?.({ events: report.events, durationSeconds: (performance.now() - started) / 1000, byTopic: report.byTopic });
    }
    if (report.failure?.code === 'STORE_UNAVAILABLE') {
      // A late failure of a batch given up on was already counted and reported at its deadline.
      if (!answered) return;
      options.onStoreError?.(report.failure.code);
      storeLost(report.failure, probe);
      return;
    }
    // A tenant's max_topics refuses through the store, but the store is well: no store error.
    if (report.failure && answered && report.failure.code !== 'QUOTA_EXCEEDED') options.onStoreError?.(report.failure.code);
    // A full disk answers at once, so it never opens the circuit: every batch keeps asking, and the first one
    // after space returns commits. It is logged once per episode.
    const full = report.failure?.code === 'STORE_FULL';
    if (full && !diskFull) logger?.warn({ err: report.failure }, 'store full; publishes get 503 STORE_FULL until space is freed');
    else if (!full && diskFull && report.events > 0) logger?.info({}, 'store has space again');
    if (full || report.events > 0) diskFull = full;
    if (circuit.answered(probe)) logger?.info({}, 'store reachable again');
  };

  const drained = (): void => {
    if (overloaded && queue.events * 2 < options.maxQueue) {
      overloaded = false;
      logger?.info({ queuedEvents: queue.events }, 'ingest queue below half; accepting again');
    }
  };

  const flush = async (batch: Pending[]): Promise<void> => {
    const admission = circuit.admit();
    if (admission === 'refuse') {
      const refusal = new LogaggError('STORE_UNAVAILABLE', {
        message: 'The store is not answering; publishes are refused until a probe commits. Retry after Retry-After',
      });
      for (const pending of batch) pending.reject(refusal);
      return;
    }
    const probe = admission === 'probe';
    const started = performance.now();
    let late = false;
    const flushed = flushBatch(store, batch, options.onBatch !== undefined).then(
      // Once late, this batch is no longer the probe in flight (the deadline ended that); a late answer still
      // proves the store is back.
      (report) => record(report, started, probe && !late, !late),
      (err: unknown) => {
        // flushBatch settles its requests; this only guards against a bug leaving them hanging.
        const failure = new LogaggError('INTERNAL', { cause: err });
        for (const pending of batch) pending.reject(failure);
      },
    );
    // The flusher's deadline: a store that does not answer (frozen, partitioned) must not hold these requests
    // or this flusher. Their events were not acknowledged, so the 503 is safe to retry; if the commit lands
    // after all, the retry is answered as a duplicate. The store call itself is bounded below (query timeout).
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), storeTimeoutMs);
    });
    const outcome = await Promise.race([flushed, deadline]);
    clearTimeout(timer);
    if (outcome !== 'late') return;
    late = true;
    const failure = new LogaggError('STORE_UNAVAILABLE', { message: `The store did not answer within ${storeTimeoutMs} ms; retry later` });
    for (const pending of batch) pending.reject(failure);
    options.onStoreError?.(failure.code);
    storeLost(failure, probe);
  };

  const batcher = new Batcher(queue, options, async (batch) => {
    await flush(batch);
    drained();
  });

  return {
    submit(events, transport = 'http', submitOptions = {}) {
      if (closing) return Promise.reject(new LogaggError('SHUTTING_DOWN'));
      if (events.length === 0)
        return Promise.resolve({ received: 0, unique: 0, duplicates: 0, ...(submitOptions.perEvent ? { stored: [] } : {}) });
      const tenant = submitOptions.tenant ?? DEFAULT_TENANT;
      return new Promise<SubmitResult>((resolve, reject) => {
        const pending: Pending = {
          events,
          tenant,
          maxTopics: topicLimit?.(tenant),
          transport,
          enqueuedAt: performance.now(),
          perEvent: submitOptions.perEvent,
          resolve,
          reject: topicLimitRefused ? (err) => rejectCounted(err, tenant, reject) : reject,
        };
        try {
          queue.push(pending);
        } catch (err) {
          if (!overloaded) {
            overloaded = true;
            logger?.warn({ queuedEvents: queue.events, maxQueue: options.maxQueue }, 'ingest queue full; publishes get 503');
          }
          throw err;
        }
        batcher.kick();
      });
    },
    figures: () => ({
      queued_events: queue.events,
      max_queue: options.maxQueue,
      batches_in_flight: batcher.busyFlushers,
      batches_committed: batchesCommitted,
      events_committed: eventsCommitted,
      workers: options.workers,
      batch_max: options.batchMax,
      batch_linger_ms: options.lingerMs,
    }),
    close() {
      closing = true;
      return batcher.drain();
    },
  };
}
