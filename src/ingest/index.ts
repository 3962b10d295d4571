import { LogaggError } from '../errors.js';
import type { BatchTally } from '../metrics.js';
import type { Event } from '../schema/event.js';
import type { PublishResult } from '../schema/publish.js';
import type { Transport } from '../schema/transport.js';
import { Batcher } from './batcher.js';
import { type BatchWriter, flushBatch } from './flusher.js';
import { IngestQueue, type Pending } from './queue.js';

export interface PipelineOptions {
  batchMax: number;
  lingerMs: number;
  workers: number;
  maxQueue: number;
  /** Called after each batch that committed something (wakes the live feed). */
  onCommit?: () => void;
  /** Called after each committed batch with its counts per (transport, topic); off costs nothing. */
  onBatch?: (tally: BatchTally) => void;
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
  submit(events: readonly Event[], transport?: Transport): Promise<PublishResult>;
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
  let storeLost = false;
  let overloaded = false;
  const logger = options.logger;

  const batcher = new Batcher(queue, options, async (batch) => {
    try {
      const started = performance.now();
      const report = await flushBatch(store, batch, options.onBatch !== undefined);
      if (report.events > 0) batchesCommitted++;
      eventsCommitted += report.events;
      if (report.unique > 0) options.onCommit?.();
      if (report.byTopic && report.events > 0) {
        options.onBatch?.({ events: report.events, durationSeconds: (performance.now() - started) / 1000, byTopic: report.byTopic });
      }
      if (report.failure) options.onStoreError?.(report.failure.code);
      const unavailable = report.failure?.code === 'STORE_UNAVAILABLE';
      if (unavailable && !storeLost) {
        storeLost = true;
        logger?.warn({ err: report.failure }, 'store unavailable; publishes get 503 until it returns');
      } else if (!unavailable && storeLost && report.events > 0) {
        storeLost = false;
        logger?.info({}, 'store reachable again');
      }
      if (overloaded && queue.events * 2 < options.maxQueue) {
        overloaded = false;
        logger?.info({ queuedEvents: queue.events }, 'ingest queue below half; accepting again');
      }
    } catch (err) {
      // flushBatch settles its requests; this only guards against a bug leaving them hanging.
      const failure = new LogaggError('INTERNAL', { cause: err });
      for (const pending of batch) pending.reject(failure);
    }
  });

  return {
    submit(events, transport = 'http') {
      if (closing) return Promise.reject(new LogaggError('SHUTTING_DOWN'));
      if (events.length === 0) return Promise.resolve({ received: 0, unique: 0, duplicates: 0 });
      return new Promise<PublishResult>((resolve, reject) => {
        const pending: Pending = { events, transport, enqueuedAt: performance.now(), resolve, reject };
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
