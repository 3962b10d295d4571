import { latencySummary } from '../../src/cli/percentiles.js';
import { runPublisher } from '../../src/cli/publish-run.js';
import { type Aggregator, startAggregator } from '../aggregator.js';
import { type BenchContext, figure, POSTGRES, replicaOf, type Scenario } from '../scenario.js';

const PROBE_TOPIC = 'bench.probe';

/** Follows GET /events/stream?topic=…, noting when each event_id arrived (performance.now()). */
async function subscribe(url: string): Promise<{ arrived: Map<string, number>; close(): void }> {
  const abort = new AbortController();
  const response = await fetch(`${url}/events/stream?topic=${PROBE_TOPIC}`, { signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}`);
  const arrived = new Map<string, number>();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const now = performance.now();
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (data !== undefined) arrived.set((JSON.parse(data) as { event_id: string }).event_id, now);
      }
    }
  })().catch(() => undefined);
  return { arrived, close: () => abort.abort() };
}

/** One event per POST every `everyMs` until stop(); returns when each was acknowledged (the commit). */
async function probe(url: string, everyMs: number, stop: () => boolean): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  for (let i = 0; !stop(); i++) {
    const id = `probe-${i}`;
    const body = JSON.stringify([{ topic: PROBE_TOPIC, event_id: id, timestamp: new Date().toISOString(), source: 'bench', payload: {} }]);
    const response = await fetch(`${url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.arrayBuffer();
    if (response.ok) acked.set(id, performance.now());
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return acked;
}

/** Delay from the acknowledgement (2xx: committed) to the subscriber, per probe; negative when the stream won. */
function delays(acked: Map<string, number>, arrived: Map<string, number>): { p50: number; p99: number; missing: number } {
  const samples: number[] = [];
  let missing = 0;
  for (const [id, at] of acked) {
    const seen = arrived.get(id);
    if (seen === undefined) missing++;
    else samples.push(seen - at);
  }
  const summary = latencySummary(Float64Array.from(samples));
  return { p50: summary.p50, p99: summary.p99, missing };
}

/**
 * How long a committed event takes to reach a live subscriber, under batched load: probes are posted one at a
 * time to replica A beside a publisher's load, and followed on a stream at A (woken by its own commits) and at
 * B (another replica on the same database, which finds them by its poll).
 */
export const streamLatencyScenario: Scenario = {
  id: 'stream-latency',
  title: 'Commit to live subscriber (PostgreSQL, 2 replicas)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 4_000 : 200_000;
    const local = { p50: [] as number[], p99: [] as number[] };
    const remote = { p50: [] as number[], p99: [] as number[] };
    let verified = true;
    for (let run = 0; run < ctx.runs; run++) {
      const a = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
      let b: Aggregator | undefined;
      try {
        b = await startAggregator(replicaOf(ctx, a), ctx.entry, {}, ctx.nodeArgs);
        const [atA, atB] = await Promise.all([subscribe(a.url), subscribe(b.url)]);
        let loading = true;
        const probing = probe(a.url, 10, () => !loading);
        const load = await runPublisher({
          url: a.url,
          events,
          dupRate: 0.3,
          topics: 5,
          batch: 100,
          concurrency: 16,
          payloadBytes: 100,
          seed: 42,
          topicPrefix: 'bench',
        });
        loading = false;
        const acked = await probing;
        // The remote replica polls every 250 ms: give the last probes time to arrive.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        atA.close();
        atB.close();
        const here = delays(acked, atA.arrived);
        const there = delays(acked, atB.arrived);
        verified &&= load.ok && here.missing === 0 && there.missing === 0;
        local.p50.push(here.p50);
        local.p99.push(here.p99);
        remote.p50.push(there.p50);
        remote.p99.push(there.p99);
        ctx.log(
          `${acked.size} probes under ${Math.round(load.eventsPerSecond)} events/s: same replica p50 ${here.p50.toFixed(1)} p99 ${here.p99.toFixed(1)} ms, ` +
            `other replica p50 ${there.p50.toFixed(1)} p99 ${there.p99.toFixed(1)} ms, missing ${here.missing}/${there.missing}`,
        );
      } finally {
        await b?.stop();
        await a.stop();
      }
    }
    return {
      title: this.title,
      workload: `one event per POST every 10 ms to replica A beside ${events.toLocaleString('en')} events of batched load (batches of 100, 16 in flight); streams on A and B; from the 2xx to the stream`,
      figures: [
        figure('same replica p50', 'ms', local.p50),
        figure('same replica p99', 'ms', local.p99),
        figure('other replica p50', 'ms', remote.p50),
        figure('other replica p99', 'ms', remote.p99),
      ],
      verified,
    };
  },
};
