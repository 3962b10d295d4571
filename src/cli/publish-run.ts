import { createClient, GaveUpError, type PublishReceipt, type RetryPolicy } from '../client/index.js';
import type { Event } from '../schema/event.js';
import type { Stats, TopicCounts } from '../schema/stats.js';
import { latencySummary, type LatencySummary } from './percentiles.js';
import { planStream, type StreamOptions } from './publish-stream.js';

export interface PublisherOptions extends StreamOptions {
  url: string;
  apiKey?: string;
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

const zero = (): TopicCounts => ({ received: 0, unique_processed: 0, duplicate_dropped: 0 });

export function sumTopics(stats: Stats, topics: readonly string[]): TopicCounts {
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

export const exact = (name: string, expected: number, actual: number): Check => ({ name, expected: String(expected), actual, ok: actual === expected });
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
function verify(r: { sent: number; distinctSent: number; uncertainEvents: number; ackedUnique: number; failedRequests: number }, gained: TopicCounts): Check[] {
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

/** Sends the planned stream with `concurrency` requests in flight and verifies the server's counters. */
export async function runPublisher(options: PublisherOptions, onProgress?: (progress: Progress) => void, progressEveryMs = 250): Promise<PublisherReport> {
  const stream = planStream(options);
  const total = stream.order.length;
  const requests = Math.ceil(total / options.batch);
  let retried = 0;
  const client = createClient({
    url: options.url,
    concurrency: options.concurrency,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    onRetry: () => retried++,
  });
  const latencies = new Float64Array(requests).fill(Number.NaN);
  const acked = new Uint8Array(stream.distinct);
  const errors: string[] = [];
  let sent = 0;
  let ackedUnique = 0;
  let uncertainEvents = 0;
  let failedRequests = 0;
  let failedEvents = 0;

  try {
    const before = await client.stats();
    const started = performance.now();
    const progress = (): Progress => ({ sentEvents: sent, totalEvents: total, retried, failedRequests, elapsedMs: performance.now() - started });
    const ticker = onProgress ? setInterval(() => onProgress(progress()), progressEveryMs) : undefined;

    let next = 0;
    const worker = async (): Promise<void> => {
      for (let r = next++; r < requests; r = next++) {
        const from = r * options.batch;
        const to = Math.min(total, from + options.batch);
        const events: Event[] = [];
        for (let k = from; k < to; k++) events.push(stream.eventAt(stream.order[k] as number));
        let receipt: PublishReceipt;
        try {
          receipt = await client.publishRaw(JSON.stringify(options.batch === 1 ? events[0] : events));
        } catch (err) {
          failedRequests++;
          failedEvents += to - from;
          if (errors.length < 10) errors.push(err instanceof Error ? err.message : String(err));
          if (!(err instanceof GaveUpError)) throw err;
          continue;
        }
        latencies[r] = receipt.latencyMs;
        sent += to - from;
        ackedUnique += receipt.result.unique;
        uncertainEvents += receipt.uncertainAttempts * (to - from);
        for (let k = from; k < to; k++) acked[stream.order[k] as number] = 1;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, requests)) }, worker));
    } finally {
      if (ticker) clearInterval(ticker);
    }
    const elapsedMs = performance.now() - started;
    onProgress?.(progress());

    const after = await client.stats();
    const was = sumTopics(before, stream.topics);
    const now = sumTopics(after, stream.topics);
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
      requests,
      sent,
      distinctSent,
      duplicatesSent: sent - distinctSent,
      retried,
      failedRequests,
      failedEvents,
      uncertainEvents,
      elapsedMs,
      eventsPerSecond: elapsedMs > 0 ? (sent / elapsedMs) * 1000 : 0,
      latencyMs: latencySummary(latencies),
      gained,
      checks,
      ok: checks.every((check) => check.ok),
      errors,
    };
  } finally {
    client.close();
  }
}
