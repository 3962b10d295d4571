import { Agent } from 'node:http';
import { latencySummary } from '../../src/cli/percentiles.js';
import { planStream } from '../../src/cli/publish-stream.js';
import type { Event } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { startAggregator } from '../aggregator.js';
import { post } from '../drive.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

/**
 * How the runs differ:
 * - `unset`: one tenant, no TENANT_LIMITS (no quota hook at all): today's server;
 * - `one`: one tenant, TENANT_LIMITS set (its limits far above the load): the cost of the checks themselves, the
 *   rate buckets in the request and max_topics in the batch statement (src/store/sql.ts);
 * - `three`: the same stream split between two tenants within their limits, while a third, over its quota,
 *   sends the same batches as fast as 8 connections allow, refused with 429 (it ignores Retry-After: the worst case).
 */
type Mode = 'unset' | 'one' | 'three';

const LIMITS = JSON.stringify({
  defaults: { events_per_second: 10_000_000, bytes_per_second: 10_000_000_000, max_topics: 1_000_000 },
  // One batch of 100 passes on the full bucket, then one every 10 s.
  tenants: { noisy: { events_per_second: 10, events_burst: 100 } },
});
const NOISY_CONNECTIONS = 8;

interface ModeRun {
  rate: number;
  p99: number;
  noisyRefused: number;
  verified: boolean;
}

async function runMode(ctx: BenchContext, mode: Mode, events: number): Promise<ModeRun> {
  const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
  const stream = planStream({ ...options, seed: 42, topicPrefix: 'bench' });
  const bodies: Buffer[] = [];
  for (let start = 0; start < stream.order.length; start += options.batch) {
    const batch: Event[] = [];
    for (let k = start; k < Math.min(stream.order.length, start + options.batch); k++)
      batch.push(stream.eventAt(stream.order[k] as number));
    bodies.push(Buffer.from(JSON.stringify(batch)));
  }
  // The noisy tenant's one batch, in a topic of its own: every admitted copy after the first is a duplicate.
  const noisyBody = Buffer.from(
    JSON.stringify((JSON.parse((bodies[0] as Buffer).toString()) as Event[]).map((e) => ({ ...e, topic: 'noisy' }))),
  );
  const noisyDistinct = new Set((JSON.parse(noisyBody.toString()) as Event[]).map((e) => e.event_id)).size;
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, mode === 'unset' ? {} : { TENANT_LIMITS: LIMITS }, ctx.nodeArgs);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency + NOISY_CONNECTIONS });
  const url = `${aggregator.url}/publish`;
  try {
    const latencies = new Float64Array(bodies.length);
    let failed = 0;
    let next = 0;
    let done = false;
    const noisy = { admitted: 0, refused: 0, other: 0 };
    const started = performance.now();
    const tenantOf = (r: number): string => (mode === 'three' && r % 2 === 1 ? 'team-b' : 'team-a');
    const worker = async (): Promise<void> => {
      for (let r = next++; r < bodies.length; r = next++) {
        const sent = performance.now();
        const tenant = tenantOf(r);
        if ((await post(agent, url, 'application/json', bodies[r] as Buffer, { 'x-scope-orgid': tenant })).status !== 200) failed++;
        latencies[r] = performance.now() - sent;
      }
    };
    const noisyWorker = async (): Promise<void> => {
      while (!done) {
        const { status } = await post(agent, url, 'application/json', noisyBody, { 'x-scope-orgid': 'noisy' });
        if (status === 200) noisy.admitted++;
        else if (status === 429) noisy.refused++;
        else noisy.other++;
      }
    };
    const noisyDone = mode === 'three' ? Promise.all(Array.from({ length: NOISY_CONNECTIONS }, noisyWorker)) : Promise.resolve([]);
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const elapsedMs = performance.now() - started;
    done = true;
    await noisyDone;
    // Each tenant dedups its own keys (docs/tenants.md): a key both team-a and team-b sent is new to each.
    const distinct = new Map<string, Set<string>>();
    bodies.forEach((body, r) => {
      const keys = distinct.get(tenantOf(r)) ?? new Set<string>();
      distinct.set(tenantOf(r), keys);
      for (const e of JSON.parse(body.toString()) as Event[]) keys.add(`${e.topic}\u0000${e.event_id}`);
    });
    const counted = { received: 0, unique_processed: 0 };
    for (const tenant of ['team-a', 'team-b', 'noisy']) {
      const stats = (await (await fetch(`${aggregator.url}/stats`, { headers: { 'x-scope-orgid': tenant } })).json()) as Stats;
      counted.received += stats.received;
      counted.unique_processed += stats.unique_processed;
    }
    const expectedUnique = [...distinct.values()].reduce((sum, keys) => sum + keys.size, 0);
    const stats = counted;
    const noisyEvents = noisy.admitted * options.batch;
    const verified =
      failed === 0 &&
      noisy.other === 0 &&
      (mode !== 'three' || noisy.refused > 0) &&
      stats.received === stream.order.length + noisyEvents &&
      stats.unique_processed === expectedUnique + (noisy.admitted > 0 ? noisyDistinct : 0);
    if (!verified) {
      ctx.log(
        `${mode}: verification FAILED (${failed} refused, noisy ${JSON.stringify(noisy)}, received ${stats.received}, unique ${stats.unique_processed})`,
      );
    }
    const run = {
      rate: (stream.order.length / elapsedMs) * 1000,
      p99: latencySummary(latencies).p99,
      noisyRefused: noisy.refused,
      verified,
    };
    ctx.log(
      `${mode}: ${stream.order.length} events in ${(elapsedMs / 1000).toFixed(2)} s = ${Math.round(run.rate)}/s, p99 ${run.p99.toFixed(1)} ms` +
        (mode === 'three'
          ? `, noisy tenant refused ${noisy.refused} requests (${Math.round((noisy.refused / elapsedMs) * 1000)}/s), admitted ${noisy.admitted}`
          : ''),
    );
    return run;
  } finally {
    agent.destroy();
    await aggregator.stop();
  }
}

/**
 * Issue 17 §2: a tenant at its limit must not slow another tenant's ingest. The same batched stream is sent by one
 * tenant, and split between two tenants while a third hammers past its quota; alternating run by run on fresh
 * aggregators. Also: the same one-tenant stream with and without TENANT_LIMITS set (the check's own cost).
 */
export const quotaIsolationScenario: Scenario = {
  id: 'quota-isolation',
  title: 'Tenant quotas: 3 tenants, one over its quota, vs one tenant (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const modes = ['unset', 'one', 'three'] as const;
    const samples: Record<Mode, ModeRun[]> = { unset: [], one: [], three: [] };
    for (let run = 0; run < ctx.runs; run++) {
      for (const mode of modes) samples[mode].push(await runMode(ctx, mode, events));
    }
    const rates = (mode: Mode) => samples[mode].map((r) => r.rate);
    const ratio = (mode: Mode, base: Mode) => samples[mode].map((r, i) => r.rate / (samples[base][i]?.rate ?? r.rate));
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of 100, 16 in flight, 30% duplicates; the noisy tenant: ${NOISY_CONNECTIONS} more connections resending one batch of 100, refused 429; modes alternating`,
      figures: [
        figure('one tenant, TENANT_LIMITS unset', 'events/s', rates('unset')),
        figure('one tenant, TENANT_LIMITS set', 'events/s', rates('one')),
        figure('two tenants + one over its quota (the two)', 'events/s', rates('three')),
        figure('three tenants ÷ one tenant (same run)', 'ratio', ratio('three', 'one')),
        figure('one tenant, limits set ÷ unset (same run)', 'ratio', ratio('one', 'unset')),
        figure(
          'noisy tenant requests refused',
          'requests',
          samples.three.map((r) => r.noisyRefused),
        ),
        figure(
          'request latency p99 with the noisy tenant',
          'ms',
          samples.three.map((r) => r.p99),
        ),
      ],
      verified: modes.every((mode) => samples[mode].every((r) => r.verified)),
    };
  },
};
