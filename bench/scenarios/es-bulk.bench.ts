import { Agent } from 'node:http';
import { planStream, type StreamOptions } from '../../src/cli/publish-stream.js';
import type { Event } from '../../src/schema/event.js';
import { startAggregator } from '../aggregator.js';
import { driveRequests, type InletRun, post } from '../drive.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

type Format = 'json' | 'es';

/**
 * The same events as POST /publish JSON arrays and as Elasticsearch bulk `create` pairs that map back to them
 * (index = topic, _id = event_id, @timestamp, host = source, the payload's fields beside them).
 */
const FORMATS: Record<Format, { path: string; contentType: string; encode(events: readonly Event[]): string }> = {
  json: { path: '/publish', contentType: 'application/json', encode: (events) => JSON.stringify(events) },
  es: {
    path: '/_bulk',
    contentType: 'application/x-ndjson',
    encode: (events) =>
      events
        .map(
          (e) =>
            `${JSON.stringify({ create: { _index: e.topic, _id: e.event_id } })}\n${JSON.stringify({ '@timestamp': e.timestamp, host: e.source, ...e.payload })}\n`,
        )
        .join(''),
  },
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
    const { path, contentType, encode } = FORMATS[format];
    return await driveRequests(ctx, format, aggregator, stream, requests, options.concurrency, async (r) => {
      const events: Event[] = [];
      for (let k = r * options.batch; k < Math.min(stream.order.length, (r + 1) * options.batch); k++)
        events.push(stream.eventAt(stream.order[k] as number));
      const answer = await post(agent, `${aggregator.url}${path}`, contentType, encode(events));
      // A bulk answer is 200 whatever its items say: an item other than created or a duplicate is a failure.
      return answer.status === 200 && !(format === 'es' && /"status":(?!20[01]|409)\d+/.test(answer.text));
    });
  } finally {
    agent.destroy();
    await aggregator.stop();
  }
}

/**
 * The same batched workload through POST /publish (JSON arrays) and POST /_bulk (Elasticsearch create pairs),
 * alternating run by run on fresh aggregators, so the two figures share the machine's conditions: what the bulk
 * decoding, mapping and per-item answer cost beside the native inlet (issue 15 §6 asks for ≥ 0.8).
 */
export const esBulkScenario: Scenario = {
  id: 'es-bulk',
  title: 'Elasticsearch bulk vs POST /publish JSON batched ingest (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const samples: Record<Format, InletRun[]> = { json: [], es: [] };
    for (let run = 0; run < ctx.runs; run++) {
      for (const format of ['json', 'es'] as const) samples[format].push(await runFormat(ctx, format, options));
    }
    const of = (format: Format, pick: (r: InletRun) => number) => samples[format].map(pick);
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates, one inlet per run, alternating`,
      figures: [
        figure(
          'JSON batched throughput',
          'events/s',
          of('json', (r) => r.rate),
        ),
        figure(
          'ES bulk batched throughput',
          'events/s',
          of('es', (r) => r.rate),
        ),
        figure(
          'ES bulk ÷ JSON (same run pair)',
          'ratio',
          samples.es.map((r, i) => r.rate / (samples.json[i]?.rate ?? r.rate)),
          { op: '>=', value: 0.8 },
        ),
        figure(
          'JSON request latency p99',
          'ms',
          of('json', (r) => r.p99),
        ),
        figure(
          'ES bulk request latency p99',
          'ms',
          of('es', (r) => r.p99),
        ),
        figure(
          'server peak RSS (ES bulk)',
          'MiB',
          of('es', (r) => r.rssMb),
          { op: '<=', value: 250 },
        ),
      ],
      verified: [...samples.json, ...samples.es].every((r) => r.verified),
    };
  },
};
