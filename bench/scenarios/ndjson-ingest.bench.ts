import { Agent, request } from 'node:http';
import { latencySummary } from '../../src/cli/percentiles.js';
import { planStream, type StreamOptions } from '../../src/cli/publish-stream.js';
import type { Event } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { startAggregator } from '../aggregator.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

type Format = 'json' | 'ndjson';

const FORMATS: Record<Format, { contentType: string; encode(events: readonly Event[]): string }> = {
  json: { contentType: 'application/json', encode: (events) => JSON.stringify(events) },
  ndjson: { contentType: 'application/x-ndjson', encode: (events) => `${events.map((e) => JSON.stringify(e)).join('\n')}\n` },
};

interface FormatRun {
  rate: number;
  p99: number;
  rssMb: number;
  verified: boolean;
}

function post(agent: Agent, url: string, contentType: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/publish`,
      { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One run of one format on a fresh aggregator: the planned stream (the publisher's, same seed) in batches, with
 * `concurrency` requests in flight. No retries: on a healthy server any refusal fails the run's verification
 * instead (a retry policy lives in src/client/ only, and its client speaks JSON).
 */
async function runFormat(ctx: BenchContext, format: Format, options: Omit<StreamOptions, 'seed' | 'topicPrefix'>): Promise<FormatRun> {
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const stream = planStream({ ...options, seed: 42, topicPrefix: 'bench' });
    const requests = Math.ceil(stream.order.length / options.batch);
    const latencies = new Float64Array(requests);
    const { contentType, encode } = FORMATS[format];
    let failed = 0;
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      for (let r = next++; r < requests; r = next++) {
        const events: Event[] = [];
        for (let k = r * options.batch; k < Math.min(stream.order.length, (r + 1) * options.batch); k++)
          events.push(stream.eventAt(stream.order[k] as number));
        const sent = performance.now();
        const answer = await post(agent, aggregator.url, contentType, encode(events));
        latencies[r] = performance.now() - sent;
        if (answer.status !== 200) failed++;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const elapsedMs = performance.now() - started;
    const stats = (await (await fetch(`${aggregator.url}/stats`)).json()) as Stats;
    const verified = failed === 0 && stats.received === stream.order.length && stats.unique_processed === stream.distinct;
    if (!verified)
      ctx.log(
        `${format}: verification FAILED (${failed} refused, received ${stats.received}, unique ${stats.unique_processed} of ${stream.distinct})`,
      );
    const run = {
      rate: (stream.order.length / elapsedMs) * 1000,
      p99: latencySummary(latencies).p99,
      rssMb: aggregator.peakRssMb(),
      verified,
    };
    ctx.log(
      `${format}: ${stream.order.length} events in ${(elapsedMs / 1000).toFixed(2)} s = ${Math.round(run.rate)}/s, p99 ${run.p99.toFixed(1)} ms, RSS ${run.rssMb.toFixed(0)} MiB`,
    );
    return run;
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
    const samples: Record<Format, FormatRun[]> = { json: [], ndjson: [] };
    for (let run = 0; run < ctx.runs; run++) {
      for (const format of ['json', 'ndjson'] as const) samples[format].push(await runFormat(ctx, format, options));
    }
    const of = (format: Format, pick: (r: FormatRun) => number) => samples[format].map(pick);
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
