import { Agent } from 'node:http';
import { planStream, type StreamOptions } from '../../src/cli/publish-stream.js';
import type { Event } from '../../src/schema/event.js';
import { startAggregator } from '../aggregator.js';
import { driveRequests, type InletRun, post } from '../drive.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

type Format = 'json' | 'ndjson';

const FORMATS: Record<Format, { contentType: string; encode(events: readonly Event[]): string }> = {
  json: { contentType: 'application/json', encode: (events) => JSON.stringify(events) },
  ndjson: { contentType: 'application/x-ndjson', encode: (events) => `${events.map((e) => JSON.stringify(e)).join('\n')}\n` },
};

/**
 * One run of one format on a fresh aggregator: the planned stream (the publisher's, same seed) in batches, with
 * `concurrency` requests in flight. No retries: on a healthy server any refusal fails the run's verification
 * instead (a retry policy lives in src/client/ only, and its client speaks JSON).
 */
async function runFormat(ctx: BenchContext, format: Format, options: Omit<StreamOptions, 'seed' | 'topicPrefix'>): Promise<InletRun> {
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const stream = planStream({ ...options, seed: 42, topicPrefix: 'bench' });
    const requests = Math.ceil(stream.order.length / options.batch);
    const { contentType, encode } = FORMATS[format];
    return await driveRequests(ctx, format, aggregator, stream, requests, options.concurrency, async (r) => {
      const events: Event[] = [];
      for (let k = r * options.batch; k < Math.min(stream.order.length, (r + 1) * options.batch); k++)
        events.push(stream.eventAt(stream.order[k] as number));
      return (await post(agent, `${aggregator.url}/publish`, contentType, encode(events))).status === 200;
    });
  } finally {
    agent.destroy();
    await aggregator.stop();
  }
}

/**
 * The same batched workload as JSON arrays and as NDJSON, alternating run by run on fresh aggregators, so the
 * two figures share the machine's conditions: what reading one event per line costs beside one JSON array.
 */
export const ndjsonIngestScenario: Scenario = {
  id: 'ndjson-ingest',
  title: 'NDJSON vs JSON batched ingest (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const samples: Record<Format, InletRun[]> = { json: [], ndjson: [] };
    for (let run = 0; run < ctx.runs; run++) {
      for (const format of ['json', 'ndjson'] as const) samples[format].push(await runFormat(ctx, format, options));
    }
    const of = (format: Format, pick: (r: InletRun) => number) => samples[format].map(pick);
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates, one body format per run, alternating`,
      figures: [
        figure(
          'JSON batched throughput',
          'events/s',
          of('json', (r) => r.rate),
        ),
        figure(
          'NDJSON batched throughput',
          'events/s',
          of('ndjson', (r) => r.rate),
        ),
        figure(
          'NDJSON ÷ JSON (same run pair)',
          'ratio',
          samples.ndjson.map((r, i) => r.rate / (samples.json[i]?.rate ?? r.rate)),
        ),
        figure(
          'JSON request latency p99',
          'ms',
          of('json', (r) => r.p99),
        ),
        figure(
          'NDJSON request latency p99',
          'ms',
          of('ndjson', (r) => r.p99),
        ),
        figure(
          'server peak RSS (NDJSON)',
          'MiB',
          of('ndjson', (r) => r.rssMb),
          { op: '<=', value: 250 },
        ),
      ],
      verified: [...samples.json, ...samples.ndjson].every((r) => r.verified),
    };
  },
};
