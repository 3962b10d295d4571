import type { Stats } from '../../src/schema/stats.js';
import { ApiError, apiGet, apiJson } from './api.js';
import { parseMetrics, type MetricFigures } from './metrics-text.js';
import { selectedTopic } from './topic-filter.js';

export type TopicFigures = Stats['per_topic'][string];

/** What one poll saw. Any part may be missing when its request failed; `error` says why. */
export interface Snapshot {
  /** Browser clock (ms) when the answers arrived: rates are deltas over this. */
  at: number;
  stats: Stats | null;
  metrics: MetricFigures | null;
  /** /ready: true 200, false 503, null unknown (unreachable or not allowed). */
  ready: boolean | null;
  error: ApiError | null;
}

type Listener = (snapshot: Snapshot, previous: Snapshot | null) => void;

const INTERVAL_MS = 1000;
// A hidden tab needs no second-by-second figures; polling slower keeps idle tabs off the server.
const HIDDEN_INTERVAL_MS = 5000;

/** The page's one poll of /stats, /metrics and /ready; every panel subscribes to it instead of fetching its own. */
export class StatsPoller {
  private readonly listeners = new Set<Listener>();
  private previous: Snapshot | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private polling = false;
  private again = false;
  /** Bumped by reset(): a poll that started before answers for another tenant and is dropped. */
  private generation = 0;

  subscribe(listener: Listener): void {
    this.listeners.add(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick();
  }

  /** Polls now (after a key was entered, or the filter changed) instead of waiting for the next tick. */
  refresh(): void {
    if (!this.running) return;
    if (this.polling) this.again = true;
    else void this.tick();
  }

  /** Another tenant: no rate spans the switch, and a poll already in flight is not shown; polls again now. */
  reset(): void {
    this.generation++;
    this.previous = null;
    this.refresh();
  }

  private async tick(): Promise<void> {
    clearTimeout(this.timer);
    this.polling = true;
    const started = Date.now();
    const generation = this.generation;
    const snapshot = await poll();
    this.polling = false;
    if (generation === this.generation) this.publish(snapshot);
    else this.again = true;
    const interval = document.hidden ? HIDDEN_INTERVAL_MS : INTERVAL_MS;
    // Never two polls in flight: the next starts an interval after this one started, or at once if it was slow
    // or a refresh was asked for meanwhile.
    const wait = this.again ? 0 : Math.max(0, interval - (Date.now() - started));
    this.again = false;
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  private publish(snapshot: Snapshot): void {
    for (const listener of this.listeners) listener(snapshot, this.previous);
    // Rates need two good readings in a row; a failed poll does not become the baseline.
    if (snapshot.stats) this.previous = snapshot;
  }
}

async function poll(): Promise<Snapshot> {
  const topic = selectedTopic();
  const [stats, metrics, ready] = await Promise.allSettled([
    // Bounded whatever the topic count: the totals, the top topics, and the one the page is filtered to.
    apiJson<Stats>(topic === null ? '/stats' : `/stats?${new URLSearchParams({ topic }).toString()}`),
    apiGet('/metrics').then(async (response) => parseMetrics(await response.text())),
    apiGet('/ready').then(() => true),
  ]);
  // /metrics spans every tenant, so a key bound to one is refused it (403): the page then charts what /stats has.
  const metricsRefused = metrics.status === 'rejected' && metrics.reason instanceof ApiError && metrics.reason.status === 403;
  const failures = [stats, metricsRefused ? undefined : metrics, ready].flatMap((result) =>
    result?.status === 'rejected' ? [toApiError(result.reason)] : [],
  );
  let readyValue: boolean | null = null;
  if (ready.status === 'fulfilled') readyValue = true;
  else if (ready.reason instanceof ApiError && ready.reason.status === 503) readyValue = false;
  return {
    at: Date.now(),
    stats: stats.status === 'fulfilled' ? stats.value : null,
    metrics: metrics.status === 'fulfilled' ? metrics.value : null,
    ready: readyValue,
    // The store being down explains the other failures, so it is the one reported.
    error: failures.find((err) => err.storeDown) ?? failures[0] ?? null,
  };
}

function toApiError(reason: unknown): ApiError {
  return reason instanceof ApiError ? reason : new ApiError(0, 'UNKNOWN', reason instanceof Error ? reason.message : String(reason));
}
