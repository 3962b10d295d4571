import {
  type BatchReceipt,
  createClient,
  createPublisher,
  GaveUpError,
  type LogaggClient,
  type PublishAck,
  PublishRejectedError,
  type RetryPolicy,
} from '../client/index.js';
import { MAX_STATS_NAMED, type Stats, type TopicCounts } from '../schema/stats.js';
import { latencySummary, type LatencySummary } from './percentiles.js';
import { planStream, type StreamOptions } from './publish-stream.js';

export interface PublisherOptions extends StreamOptions {
  url: string;
  apiKey?: string;
  /** X-Scope-OrgID on every request, the /stats check included. */
  tenant?: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

/** Where a run is, for a progress display. */
export interface Progress {
  sentEvents: number;
  totalEvents: number;
  retried: number;
  failedRequests: number;
  elapsedMs: number;
}

export interface Check {
  name: string;
  expected: string;
  actual: number;
  ok: boolean;
}

export interface PublisherReport {
  url: string;
  seed: number;
  topics: string[];
  requests: number;
  /** Copies acknowledged (2xx), re-sends included. */
  sent: number;
  distinctSent: number;
  duplicatesSent: number;
  /** Retry attempts, over all requests. */
  retried: number;
  failedRequests: number;
  failedEvents: number;
  /** Events in failed attempts whose answer was lost: the server may have counted them once more. */
  uncertainEvents: number;
  /** Over NATS: re-sends JetStream itself dropped (same Nats-Msg-Id within its window); logagg never saw them. */
  droppedByStream?: number;
  elapsedMs: number;
  eventsPerSecond: number;
  latencyMs: LatencySummary;
  gained: TopicCounts;
  checks: Check[];
  ok: boolean;
  errors: string[];
}

const noop = (): void => undefined;

const zero = (): TopicCounts => ({ received: 0, unique_processed: 0, duplicate_dropped: 0 });

/**
 * The counters of a run's topics, which may be thousands: GET /stats lists at most 100 named topics, so they are
 * asked for in groups of at most 100 names and a few KiB of URL. Read after the run (or before it), when nothing
 * else writes to them, the groups add up to one snapshot.
 */
export async function countTopics(client: Pick<LogaggClient, 'stats'>, topics: readonly string[]): Promise<TopicCounts> {
  const sum = zero();
  let group: string[] = [];
  let length = 0;
  const flush = async (): Promise<void> => {
    if (group.length === 0) return;
    const part = sumTopics(await client.stats({ top: 0, topics: group }), group);
    sum.received += part.received;
    sum.unique_processed += part.unique_processed;
    sum.duplicate_dropped += part.duplicate_dropped;
    group = [];
    length = 0;
  };
  for (const topic of topics) {
    const encoded = encodeURIComponent(topic).length + 7;
    if (group.length >= MAX_STATS_NAMED || length + encoded > 8192) await flush();
    group.push(topic);
    length += encoded;
  }
  await flush();
  return sum;
}

function sumTopics(stats: Stats, topics: readonly string[]): TopicCounts {
  const sum = zero();
  for (const topic of topics) {
    const counts = stats.per_topic[topic];
    if (!counts) continue;
    sum.received += counts.received;
    sum.unique_processed += counts.unique_processed;
    sum.duplicate_dropped += counts.duplicate_dropped;
  }
  return sum;
}

export const exact = (name: string, expected: number, actual: number): Check => ({
  name,
  expected: String(expected),
  actual,
  ok: actual === expected,
});
export const within = (name: string, low: number, high: number, actual: number): Check => ({
  name,
  expected: low === high ? String(low) : `${low}..${high}`,
  actual,
  ok: actual >= low && actual <= high,
});

/**
 * The verification against /stats deltas of this run's topics. The database decides uniqueness, so unique gained
 * is exact whatever happened; received and duplicates are exact only when no answer was lost, because a retried
 * request that had committed is counted again (as duplicates, by design).
 */
function verify(
  r: { sent: number; distinctSent: number; uncertainEvents: number; ackedUnique: number; failedRequests: number },
  gained: TopicCounts,
): Check[] {
  const resends = r.sent - r.distinctSent;
  return [
    exact('requests failed', 0, r.failedRequests),
    exact('unique gained == distinct keys sent', r.distinctSent, gained.unique_processed),
    within('received gained == copies sent', r.sent, r.sent + r.uncertainEvents, gained.received),
    exact('received gained == unique + duplicates gained', gained.unique_processed + gained.duplicate_dropped, gained.received),
    within('duplicates gained == copies sent - distinct', resends, resends + r.uncertainEvents, gained.duplicate_dropped),
    within('unique in 2xx answers == distinct keys sent', r.distinctSent - r.uncertainEvents, r.distinctSent, r.ackedUnique),
  ];
}

/**
 * Sends the planned stream through createPublisher (batches of `batch` copies, `concurrency` requests in flight,
 * the one retry policy) and verifies the server's counters.
 */
export async function runPublisher(
  options: PublisherOptions,
  onProgress?: (progress: Progress) => void,
  progressEveryMs = 250,
): Promise<PublisherReport> {
  const stream = planStream(options);
  const total = stream.order.length;
  let retried = 0;
  const client = createClient({
    url: options.url,
    apiKey: options.apiKey,
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    concurrency: 2,
  });
  const latencies: number[] = [];
  const acked = new Uint8Array(stream.distinct);
  const errors: string[] = [];
  let lastBatch: BatchReceipt | undefined;
  let sent = 0;
  let ackedUnique = 0;
  let uncertainEvents = 0;
  let failedRequests = 0;
  let failedEvents = 0;
  let bug: unknown;

  try {
    const was = await countTopics(client, stream.topics);
    const started = performance.now();
    const progress = (): Progress => ({
      sentEvents: sent,
      totalEvents: total,
      retried,
      failedRequests,
      elapsedMs: performance.now() - started,
    });
    const ticker = onProgress ? setInterval(() => onProgress(progress()), progressEveryMs) : undefined;
    // Room for every request in flight plus the next full batch of each: the slots never wait on this loop,
    // and memory stays bounded however many events the run sends.
    const publisher = createPublisher({
      url: options.url,
      apiKey: options.apiKey,
      ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      batchMax: options.batch,
      concurrency: options.concurrency,
      maxQueue: options.batch * (options.concurrency + 1),
      // Batches are cut by size while the loop below keeps the queue full; linger only cuts the last one.
      lingerMs: 5,
      onRetry: () => retried++,
      onError: (error, events) => {
        failedRequests++;
        failedEvents += events.length;
        if (errors.length < 10) errors.push(error.message);
        if (!(error instanceof GaveUpError || error instanceof PublishRejectedError)) bug ??= error;
      },
    });
    const record = (index: number, ack: PublishAck): void => {
      acked[index] = 1;
      sent++;
      // The acks of one request are resolved in one loop, so their callbacks run back to back: a request is
      // counted when its first ack arrives (a WeakSet of receipts did the same, at a measurable GC cost).
      if (ack.batch === lastBatch) return;
      lastBatch = ack.batch;
      latencies.push(ack.batch.latencyMs);
      ackedUnique += ack.batch.result.unique;
      uncertainEvents += ack.batch.uncertainAttempts * ack.batch.events;
    };
    try {
      for (let k = 0; k < total; k++) {
        if (publisher.pending >= options.batch * (options.concurrency + 1)) await publisher.waitForRoom();
        const index = stream.order[k] as number;
        // Failures reach onError (the promise is only for the ack); nothing is dropped silently.
        publisher.publish(stream.eventAt(index)).then((ack) => record(index, ack), noop);
      }
      await publisher.close();
    } finally {
      if (ticker) clearInterval(ticker);
    }
    if (bug !== undefined) throw bug;
    const elapsedMs = performance.now() - started;
    onProgress?.(progress());

    const now = await countTopics(client, stream.topics);
    const gained: TopicCounts = {
      received: now.received - was.received,
      unique_processed: now.unique_processed - was.unique_processed,
      duplicate_dropped: now.duplicate_dropped - was.duplicate_dropped,
    };
    const distinctSent = acked.reduce((n, bit) => n + bit, 0);
    const checks = verify({ sent, distinctSent, uncertainEvents, ackedUnique, failedRequests }, gained);
    return {
      url: options.url,
      seed: options.seed,
      topics: stream.topics,
      requests: latencies.length + failedRequests,
      sent,
      distinctSent,
      duplicatesSent: sent - distinctSent,
      retried,
      failedRequests,
      failedEvents,
      uncertainEvents,
      elapsedMs,
      eventsPerSecond: elapsedMs > 0 ? (sent / elapsedMs) * 1000 : 0,
      latencyMs: latencySummary(Float64Array.from(latencies)),
      gained,
      checks,
      ok: checks.every((check) => check.ok),
      errors,
    };
  } finally {
    client.close();
  }
}
