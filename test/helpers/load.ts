import { type PublisherReport, runPublisher } from '../../src/cli/publish-run.js';

export interface FaultLoad {
  /** The publisher's report once every event was acknowledged (its checks say whether any was lost). */
  done: Promise<PublisherReport>;
  /** Events sent so far: a fault is injected once the load has built up. */
  sent(): number;
}

/**
 * The load the fault tests put on a server while its store fails: 30,000 events over 5 topics with 30% copies, a
 * patient retry so the publisher rides out the fault, and a verification of every acknowledged event at the end.
 */
export function faultLoad(url: string, options: { seed: number; topicPrefix: string; timeoutMs: number }): FaultLoad {
  let sent = 0;
  const done = runPublisher(
    {
      url,
      events: 30_000,
      dupRate: 0.3,
      topics: 5,
      payloadBytes: 64,
      batch: 20,
      concurrency: 8,
      ...options,
      retry: { maxAttempts: 400, baseDelayMs: 50, maxDelayMs: 500, maxRetryAfterMs: 1000 },
    },
    (progress) => (sent = progress.sentEvents),
    50,
  );
  return { done, sent: () => sent };
}
