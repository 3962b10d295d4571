import { Agent } from 'node:http';
import { connect, type ClientHttp2Session } from 'node:http2';
import { planStream, type StreamOptions } from '../../src/cli/publish-stream.js';
import { encodeExportLogsRequest } from '../../src/inlets/otlp/proto.js';
import type { Event } from '../../src/schema/event.js';
import { freePort, startAggregator } from '../aggregator.js';
import { driveRequests, type InletRun, post } from '../drive.js';
import { type BenchContext, figure, POSTGRES, type Scenario } from '../scenario.js';

// OTLP/HTTP protobuf and OTLP/gRPC against POST /publish JSON: the same planned stream (same events, same
// duplicates) in the same batch sizes, each run on a fresh aggregator, alternating, so the ratios share the
// machine's conditions. Bodies are encoded before the clock starts, for every format alike: the figure is the
// server's, not the bench client's encoder. For the same reason every format is sent by the leanest client of its
// protocol: node:http for HTTP/1.1 and node:http2 for gRPC (unary calls framed by hand, one HTTP/2 connection as
// gRPC clients keep), not grpc-js's client, whose per-call machinery cost the bench process about 1.7 times the
// CPU per request of node:http, CPU the server then lacked on a 2-core machine (docs/performance.md).

type Format = 'json' | 'otlp-proto' | 'otlp-grpc';
const FORMATS: readonly Format[] = ['json', 'otlp-proto', 'otlp-grpc'];
const EXPORT = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** A gRPC message on the wire: not compressed (0), its length (big-endian), the message. */
function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** One unary Export call; true when it ends with grpc-status 0 (in the trailers, or a trailers-only answer). */
function grpcCall(session: ClientHttp2Session, frame: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': EXPORT, 'content-type': 'application/grpc', te: 'trailers' });
    let status: unknown;
    stream.on('response', (headers) => (status = headers['grpc-status'] ?? status));
    stream.on('trailers', (trailers) => (status = trailers['grpc-status']));
    stream.on('end', () => resolve(status === '0'));
    stream.on('error', reject);
    stream.resume();
    stream.end(frame);
  });
}

/**
 * An event as the OTLP log record an SDK would send for it, the same log content as the /publish event: its message
 * (`content`) as the body, its `metadata` fields as int attributes, uid = event_id, logagg.topic = topic. (Until
 * 2026-12-01 the body was the payload's JSON text: seven words for the index where the /publish event's line is
 * one, so the ratio compared different events; docs/performance.md.)
 */
function toOtlp(events: readonly Event[]): Record<string, unknown> {
  const str = (value: string) => ({ stringValue: value });
  const bySource = new Map<string, Event[]>();
  for (const event of events) bySource.set(event.source, [...(bySource.get(event.source) ?? []), event]);
  return {
    resourceLogs: [...bySource].map(([source, group]) => ({
      resource: { attributes: [{ key: 'service.name', value: str(source) }] },
      scopeLogs: [
        {
          scope: { name: 'bench' },
          logRecords: group.map((event) => ({
            timeUnixNano: (BigInt(Date.parse(event.timestamp)) * 1_000_000n).toString(),
            severityNumber: 9,
            body: str((event.payload as { content: string }).content),
            attributes: [
              { key: 'logagg.topic', value: str(event.topic) },
              { key: 'log.record.uid', value: str(event.event_id) },
              ...Object.entries((event.payload as { metadata: Record<string, number> }).metadata).map(([key, n]) => ({
                key,
                value: { intValue: String(n) },
              })),
            ],
          })),
        },
      ],
    })),
  };
}

async function runFormat(ctx: BenchContext, format: Format, options: Omit<StreamOptions, 'seed' | 'topicPrefix'>): Promise<InletRun> {
  const grpcPort = await freePort();
  const aggregator = await startAggregator(POSTGRES(ctx), ctx.entry, { OTLP_GRPC_PORT: String(grpcPort) }, ctx.nodeArgs);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const session = format === 'otlp-grpc' ? connect(`http://127.0.0.1:${grpcPort}`) : undefined;
  try {
    const stream = planStream({ ...options, seed: 42, topicPrefix: 'bench' });
    const bodies: Buffer[] = [];
    for (let start = 0; start < stream.order.length; start += options.batch) {
      const events = Array.from(stream.order.subarray(start, start + options.batch), (index) => stream.eventAt(index));
      if (format === 'json') bodies.push(Buffer.from(JSON.stringify(events)));
      else if (format === 'otlp-proto') bodies.push(Buffer.from(encodeExportLogsRequest(toOtlp(events))));
      else bodies.push(grpcFrame(encodeExportLogsRequest(toOtlp(events))));
    }
    const send = (body: Buffer): Promise<boolean> => {
      if (format === 'json') return post(agent, `${aggregator.url}/publish`, 'application/json', body).then((a) => a.status === 200);
      if (format === 'otlp-proto')
        return post(agent, `${aggregator.url}/v1/logs`, 'application/x-protobuf', body).then((a) => a.status === 200);
      return grpcCall(session as ClientHttp2Session, body);
    };
    return await driveRequests(ctx, format, aggregator, stream, bodies.length, options.concurrency, (r) => send(bodies[r] as Buffer));
  } finally {
    session?.close();
    agent.destroy();
    await aggregator.stop();
  }
}

export const otlpIngestScenario: Scenario = {
  id: 'otlp-ingest',
  title: 'OTLP protobuf (HTTP) and gRPC vs POST /publish JSON (PostgreSQL)',
  async run(ctx: BenchContext) {
    const events = ctx.quick ? 20_000 : 200_000;
    const options = { events, dupRate: 0.3, topics: 5, batch: 100, concurrency: 16, payloadBytes: 100 };
    const samples: Record<Format, InletRun[]> = { json: [], 'otlp-proto': [], 'otlp-grpc': [] };
    for (let run = 0; run < ctx.runs; run++) for (const format of FORMATS) samples[format].push(await runFormat(ctx, format, options));
    const rates = (format: Format) => samples[format].map((r) => r.rate);
    const ratio = (format: Format) => samples[format].map((r, i) => r.rate / (samples.json[i]?.rate ?? r.rate));
    return {
      title: this.title,
      workload: `${events.toLocaleString('en')} events, batches of ${options.batch}, ${options.concurrency} in flight, 30% duplicates, one format per run, alternating`,
      figures: [
        figure('POST /publish JSON throughput', 'events/s', rates('json')),
        figure('OTLP/HTTP protobuf throughput', 'events/s', rates('otlp-proto')),
        figure('OTLP/gRPC throughput', 'events/s', rates('otlp-grpc')),
        figure('OTLP protobuf ÷ JSON (same run)', 'ratio', ratio('otlp-proto'), { op: '>=', value: 0.8 }),
        figure('OTLP gRPC ÷ JSON (same run)', 'ratio', ratio('otlp-grpc'), { op: '>=', value: 0.8 }),
      ],
      verified: FORMATS.every((format) => samples[format].every((r) => r.verified)),
    };
  },
};
