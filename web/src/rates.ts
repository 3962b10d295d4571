import type { Snapshot, TopicFigures } from './poller.js';

/** Figures derived from two consecutive polls; null where there is not enough to say. */
export interface Rates {
  /** Events per second over the last interval. */
  unique: number | null;
  duplicates: number | null;
  /** Mean batch commit latency over the last interval (ms); null when no batch committed. */
  commitMs: number | null;
  queued: number | null;
}

const ZERO: TopicFigures = {
  received: 0,
  unique_processed: 0,
  duplicate_dropped: 0,
  stored: 0,
  expired: 0,
  deleted: 0,
  last_received_at: null,
};

/** The counters for the whole aggregator or for one topic. */
export function countsFor(snapshot: Snapshot, topic: string | null): TopicFigures | null {
  const stats = snapshot.stats;
  if (!stats) return null;
  if (topic === null) return { ...stats, last_received_at: null };
  return stats.per_topic[topic] ?? ZERO;
}

/**
 * Ingest rate is the change of the persisted /stats counters between polls (so it covers every replica sharing
 * the store); commit latency is the change of the /metrics histogram's sum and count (this process only).
 */
export function computeRates(snapshot: Snapshot, previous: Snapshot | null, topic: string | null): Rates {
  const rates: Rates = { unique: null, duplicates: null, commitMs: null, queued: snapshot.stats?.pipeline.queued_events ?? null };
  if (!previous) return rates;
  const seconds = (snapshot.at - previous.at) / 1000;
  const now = countsFor(snapshot, topic);
  const before = countsFor(previous, topic);
  if (seconds > 0 && now && before) {
    const unique = now.unique_processed - before.unique_processed;
    const duplicates = now.duplicate_dropped - before.duplicate_dropped;
    // Counters only grow; a drop means another store behind the same URL (restored backup): no rate this time.
    if (unique >= 0 && duplicates >= 0) {
      rates.unique = unique / seconds;
      rates.duplicates = duplicates / seconds;
    }
  }
  if (snapshot.metrics && previous.metrics) {
    const batches = snapshot.metrics.commitCount - previous.metrics.commitCount;
    const sum = snapshot.metrics.commitSecondsSum - previous.metrics.commitSecondsSum;
    // A restarted process resets its histogram: a negative count is no reading.
    if (batches > 0 && sum >= 0) rates.commitMs = (sum / batches) * 1000;
  }
  return rates;
}
