import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import { planStream, type StreamOptions } from '../../src/cli/publish-stream.js';
import type { Event } from '../../src/schema/event.js';
import { startAggregator } from '../aggregator.js';
import { driveRequests, type InletRun, post } from '../drive.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

type Inlet = 'publish' | 'loki-json' | 'loki-proto';

const PushRequest = new protobuf.Root()
  .loadSync(fileURLToPath(new URL('../../src/inlets/loki/push.proto', import.meta.url)))
  .lookupType('logproto.PushRequest');

interface LokiStream {
  labels: Record<string, string>;
  entries: Array<{ ns: bigint; line: string; metadata: Record<string, string> }>;
}

/**
 * A batch as Loki streams, the same log content as the /publish events: one stream per (topic, source), the event's
 * message (`content`) as the line, its `metadata` fields as structured metadata. Each planned event has its own
 * millisecond, so (labels, time, line) tells distinct events apart and a resent event is the same entry. (Until
 * 2026-12-01 the line was `<event_id> <payload JSON>`: a longer line of nine words for the index where the /publish
 * event's line is one, so the ratio compared different events; docs/performance.md.)
 */
function lokiStreams(events: readonly Event[]): LokiStream[] {
  const streams = new Map<string, LokiStream>();
  for (const e of events) {
    const key = `${e.topic}\u0000${e.source}`;
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = { labels: { topic: e.topic, source: e.source }, entries: [] }));
    const { content, metadata } = e.payload as { content: string; metadata: Record<string, number> };
    stream.entries.push({
      ns: BigInt(Date.parse(e.timestamp)) * 1_000_000n,
      line: content,
      metadata: Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name, String(value)])),
    });
  }
  return [...streams.values()];
}

const ENCODERS: Record<Inlet, { path: string; contentType: string; encode(events: readonly Event[]): Buffer }> = {
  publish: { path: '/publish', contentType: 'application/json', encode: (events) => Buffer.from(JSON.stringify(events)) },
  'loki-json': {
    path: '/loki/api/v1/push',
    contentType: 'application/json',
    encode: (events) =>
      Buffer.from(
        JSON.stringify({
          streams: lokiStreams(events).map((s) => ({
            stream: s.labels,
            values: s.entries.map((e) => [e.ns.toString(), e.line, e.metadata]),
          })),
        }),
      ),
  },
  'loki-proto': {
    path: '/loki/api/v1/push',
    contentType: 'application/x-protobuf',
    encode: (events) => {
      const streams = lokiStreams(events).map((s) => ({
        labels: `{${Object.entries(s.labels)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ')}}`,
        entries: s.entries.map((e) => ({
          timestamp: { seconds: Number(e.ns / 1_000_000_000n), nanos: Number(e.ns % 1_000_000_000n) },
          line: e.line,
          structuredMetadata: Object.entries(e.metadata).map(([name, value]) => ({ name, value })),
        })),
      }));
      return Buffer.from(snappyjs.compress(Buffer.from(PushRequest.encode(PushRequest.fromObject({ streams })).finish())));
    },
  },
};

/** One run of one inlet on a fresh aggregator: the same planned stream, bodies encoded before the clock starts. */
async function runInlet(ctx: BenchContext, inlet: Inlet, options: Omit<StreamOptions, 'seed' | 'topicPrefix'>): Promise<InletRun> {
  const stream = planStream({ ...options, seed: 42, topicPrefix: 'bench' });
  const { path, contentType, encode } = ENCODERS[inlet];
  const bodies: Buffer[] = [];
  for (let start = 0; start < stream.order.length; start += options.batch) {
    const events: Event[] = [];
    for (let k = start; k < Math.min(stream.order.length, start + options.batch); k++)
      events.push(stream.eventAt(stream.order[k] as number));
    bodies.push(encode(events));
  }
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, {}, ctx.nodeArgs);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const ok = inlet === 'publish' ? 200 : 204;
    return await driveRequests(
      ctx,
      inlet,
      aggregator,
      stream,
      bodies.length,
      options.concurrency,
      async (r) => (await post(agent, `${aggregator.url}${path}`, contentType, bodies[r] as Buffer)).status === ok,
    );
  } finally {
    agent.destroy();
    await aggregator.stop();
  }
}

/**
 * The same batched workload through POST /publish (JSON) and through the Loki push (JSON, and protobuf + snappy),
 * alternating run by run on fresh aggregators: what Loki's decoding and derived ids cost beside the native inlet.
 */
export const lokiPushScenario: Scenario = {
  id: 'loki-push',
  title: 'Loki push (JSON, protobuf) vs POST /publish JSON (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 5_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const samples: Record<Inlet, InletRun[]> = { publish: [], 'loki-json': [], 'loki-proto': [] };
    const inlets = ['publish', 'loki-json', 'loki-proto'] as const;
    for (let run = 0; run < ctx.runs; run++) {
      for (const inlet of inlets) samples[inlet].push(await runInlet(ctx, inlet, options));
    }
    const rates = (inlet: Inlet) => samples[inlet].map((r) => r.rate);
    const ratio = (inlet: Inlet) => samples[inlet].map((r, i) => r.rate / (samples.publish[i]?.rate ?? r.rate));
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates, one inlet per run, alternating`,
      figures: [
        figure('POST /publish JSON throughput', 'events/s', rates('publish')),
        figure('Loki push JSON throughput', 'events/s', rates('loki-json')),
        figure('Loki push protobuf throughput', 'events/s', rates('loki-proto')),
        figure('Loki JSON ÷ /publish JSON (same run)', 'ratio', ratio('loki-json'), { op: '>=', value: 0.8 }),
        figure('Loki protobuf ÷ /publish JSON (same run)', 'ratio', ratio('loki-proto'), { op: '>=', value: 0.8 }),
        figure(
          'Loki protobuf request latency p99',
          'ms',
          samples['loki-proto'].map((r) => r.p99),
        ),
      ],
      verified: inlets.every((inlet) => samples[inlet].every((r) => r.verified)),
    };
  },
};
