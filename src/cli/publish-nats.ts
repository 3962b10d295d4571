import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createClient } from '../client/index.js';
import type { TopicCounts } from '../schema/stats.js';
import { natsSubject } from '../schema/nats.js';
import { latencySummary } from './percentiles.js';
import { countTopics, exact, type Progress, type PublisherOptions, type PublisherReport, within } from './publish-run.js';
import { planStream } from './publish-stream.js';

export interface NatsPublisherOptions extends PublisherOptions {
  natsUrl: string;
  /** Subjects are `<prefix>.<topic>`; the aggregator's NATS_SUBJECTS must be `<prefix>.>`. */
  subjectPrefix: string;
  /** Longest wait, after the last publish, for the aggregator to commit what the stream holds. */
  settleTimeoutMs?: number;
}

/**
 * Publishes the planned stream to JetStream (one event per message, Nats-Msg-Id = event_id), waits until the
 * aggregator has committed it, then verifies /stats deltas. JetStream's own window drops a re-send it has seen
 * within 2 minutes (PubAck.duplicate) before logagg sees it: those copies are counted apart.
 */
export async function runNatsPublisher(options: NatsPublisherOptions, onProgress?: (progress: Progress) => void): Promise<PublisherReport> {
  const stream = planStream(options);
  const total = stream.order.length;
  const http = createClient({ url: options.url, apiKey: options.apiKey, concurrency: 2 });
  const nc = await connect({ servers: options.natsUrl, name: 'logagg-publisher' });
  const js = jetstream(nc);
  const latencies = new Float64Array(total).fill(Number.NaN);
  const acked = new Uint8Array(stream.distinct);
  const errors: string[] = [];
  let sent = 0;
  let droppedByStream = 0;
  let failed = 0;
  try {
    const before = await countTopics(http, stream.topics);
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let k = next++; k < total; k = next++) {
        const index = stream.order[k] as number;
        const event = stream.eventAt(index);
        const t0 = performance.now();
        try {
          const ack = await js.publish(natsSubject(options.subjectPrefix, event.topic), JSON.stringify(event), { msgID: event.event_id });
          latencies[k] = performance.now() - t0;
          sent++;
          acked[index] = 1;
          if (ack.duplicate) droppedByStream++;
        } catch (err) {
          failed++;
          if (errors.length < 10) errors.push(err instanceof Error ? err.message : String(err));
        }
        if (k % 1000 === 0)
          onProgress?.({
            sentEvents: sent,
            totalEvents: total,
            retried: 0,
            failedRequests: failed,
            elapsedMs: performance.now() - started,
          });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    const distinctSent = acked.reduce((n, bit) => n + bit, 0);
    // The stream holds the events now; the aggregator commits them at its own pace.
    const deadline = Date.now() + (options.settleTimeoutMs ?? 60_000);
    let gained: TopicCounts;
    for (;;) {
      const now = await countTopics(http, stream.topics);
      gained = {
        received: now.received - before.received,
        unique_processed: now.unique_processed - before.unique_processed,
        duplicate_dropped: now.duplicate_dropped - before.duplicate_dropped,
      };
      if (gained.received >= sent - droppedByStream || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const elapsedMs = performance.now() - started;
    const delivered = sent - droppedByStream;
    const checks = [
      exact('messages failed', 0, failed),
      exact('unique gained == distinct keys sent', distinctSent, gained.unique_processed),
      // A redelivery after a lost ack is committed again as a duplicate: received may exceed what was delivered.
      within('received gained == copies the stream delivered', delivered, delivered + Math.ceil(delivered * 0.05), gained.received),
      exact('received gained == unique + duplicates gained', gained.unique_processed + gained.duplicate_dropped, gained.received),
    ];
    return {
      url: options.url,
      seed: options.seed,
      topics: stream.topics,
      requests: total,
      sent,
      distinctSent,
      duplicatesSent: sent - distinctSent,
      retried: 0,
      failedRequests: failed,
      failedEvents: failed,
      uncertainEvents: 0,
      droppedByStream,
      elapsedMs,
      eventsPerSecond: elapsedMs > 0 ? (sent / elapsedMs) * 1000 : 0,
      latencyMs: latencySummary(latencies),
      gained,
      checks,
      ok: checks.every((check) => check.ok),
      errors,
    };
  } finally {
    http.close();
    await nc.drain();
  }
}
