import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

// The real OpenTelemetry JS SDK with its OTLP/HTTP protobuf and OTLP/gRPC exporters, against a running logagg.

const KEY = 'sdk-test-key';
type Compression = NonNullable<ConstructorParameters<typeof ProtoLogExporter>[0]>['compression'];
const GZIP = 'gzip' as Compression;

async function getJson<T>(url: string, apiKey?: string): Promise<T> {
  const response = await fetch(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  return (await response.json()) as T;
}

async function counts(url: string, topic: string, apiKey?: string): Promise<[number, number, number] | undefined> {
  const c = (await getJson<Stats>(`${url}/stats?topic=${encodeURIComponent(topic)}`, apiKey)).per_topic[topic];
  return c && [c.received, c.unique_processed, c.duplicate_dropped];
}

async function storedIds(url: string, topic: string, apiKey?: string): Promise<Set<string>> {
  const events = await getJson<StoredEvent[]>(`${url}/events?topic=${encodeURIComponent(topic)}&limit=10000`, apiKey);
  return new Set(events.map((e) => e.event_id));
}

/** Stamps every other record with a fresh log.record.uid at emit; the others are keyed by their hash. */
function halfUids(uids: string[]): LogRecordProcessor {
  let n = 0;
  return {
    onEmit(record) {
      if (n++ % 2 === 1) return;
      const uid = randomUUID();
      uids.push(uid);
      record.setAttribute('log.record.uid', uid);
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}

function provider(service: string, exporter: LogRecordExporter, uids: string[] = [], batch = 50): LoggerProvider {
  return new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    processors: [halfUids(uids), new BatchLogRecordProcessor({ exporter, maxExportBatchSize: batch, scheduledDelayMillis: 20 })],
  });
}

const grpcMetadata = (apiKey: string): Metadata => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${apiKey}`);
  return metadata;
};

/**
 * @opentelemetry/exporter-logs-otlp-grpc 0.223 reports every gRPC error as a failure and never retries (its
 * transport has no retryable outcome); the Collector and the Go and Java SDKs retry UNAVAILABLE. This wrapper
 * does what they do, resending the same records through the same real exporter, and records each refusal's code.
 */
function retryingOnUnavailable(exporter: LogRecordExporter, refusals: number[]): LogRecordExporter {
  return {
    export(records, done) {
      const attempt = (left: number): void =>
        exporter.export(records, (result) => {
          const code = (result.error as { code?: unknown } | undefined)?.code;
          if (result.code !== ExportResultCode.SUCCESS && typeof code === 'number') refusals.push(code);
          if (result.code !== ExportResultCode.SUCCESS && code === 14 && left > 0) setTimeout(() => attempt(left - 1), 1000);
          else done(result);
        });
      attempt(15);
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

for (const kind of storeKinds()) {
  describe(`OpenTelemetry JS SDK, protobuf and gRPC exporters [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind, { otlpGrpc: true });

    test('exporter-logs-otlp-proto (gzip): every record stored once, keyed by uid or hash', async (t) => {
      const service = uniqueTopic('otel-proto');
      const uids: string[] = [];
      const sdk = provider(service, new ProtoLogExporter({ url: `${server.url}/v1/logs`, compression: GZIP }), uids);
      t.after(() => sdk.shutdown());
      for (let i = 0; i < 120; i++) sdk.getLogger('proto').emit({ body: `proto ${i}`, attributes: { i } });
      await sdk.forceFlush();
      assert.deepEqual(await counts(server.url, service), [120, 120, 0]);
      const ids = await storedIds(server.url, service);
      assert.ok(uids.every((uid) => ids.has(uid)));
      assert.equal([...ids].filter((id) => /^[0-9a-f]{64}$/.test(id)).length, 60);
    });

    test('exporter-logs-otlp-grpc (gzip): every record stored once, and the same records again are duplicates', async (t) => {
      const service = uniqueTopic('otel-grpc');
      const uids: string[] = [];
      const exporter = new GrpcLogExporter({ url: `http://127.0.0.1:${server.otlpGrpcPort}`, compression: GZIP });
      const seen: Parameters<LogRecordExporter['export']>[0][] = [];
      // Keeps each exported batch, to send it again below (what a sender does when an answer was lost).
      const keeping: LogRecordExporter = {
        export: (records, done) => {
          seen.push(records);
          exporter.export(records, done);
        },
        shutdown: () => exporter.shutdown(),
        forceFlush: () => exporter.forceFlush(),
      };
      const sdk = provider(service, keeping, uids);
      t.after(() => sdk.shutdown());
      for (let i = 0; i < 120; i++) sdk.getLogger('grpc').emit({ body: `grpc ${i}`, attributes: { i } });
      await sdk.forceFlush();
      assert.deepEqual(await counts(server.url, service), [120, 120, 0]);
      for (const records of seen) {
        const result = await new Promise<{ code: ExportResultCode }>((resolve) => exporter.export(records, resolve));
        assert.equal(result.code, ExportResultCode.SUCCESS);
      }
      assert.deepEqual(await counts(server.url, service), [240, 120, 120]);
      const ids = await storedIds(server.url, service);
      assert.equal(ids.size, 120);
      assert.ok(uids.every((uid) => ids.has(uid)));
    });
  });
}

describe('OpenTelemetry JS SDK exporters while logagg refuses with a retryable status (a full ingest queue)', { timeout: 90_000 }, () => {
  // MAX_QUEUE = one export of 10; a long linger keeps an export queued, so the next one is refused.
  const server = serverForSuite('pglite', { maxQueue: 10, maxBatchEvents: 10, lingerMs: 2500, otlpGrpc: true, apiKey: KEY });
  const grpcUrl = () => `http://127.0.0.1:${server.otlpGrpcPort}`;

  /** Fills the queue with one export of 10 from `filler`, then emits 10 through `refused`: both must end stored. */
  async function fillThenSend(filler: LoggerProvider, refused: LoggerProvider): Promise<void> {
    for (let i = 0; i < 10; i++) filler.getLogger('filler').emit({ body: `fill ${i}`, attributes: { i } });
    const filled = filler.forceFlush();
    await waitFor(
      async () => (await getJson<Stats>(`${server.url}/stats`, KEY)).pipeline.queued_events === 10,
      10_000,
      'the queue to fill',
    );
    for (let i = 0; i < 10; i++) refused.getLogger('refused').emit({ body: `wait ${i}`, attributes: { i } });
    await Promise.all([filled, refused.forceFlush()]);
  }

  test('exporter-logs-otlp-proto: 503 + Retry-After, the exporter retries, every record stored once', async (t) => {
    const [first, second] = [uniqueTopic('proto-first'), uniqueTopic('proto-refused')];
    const exporter = () =>
      new ProtoLogExporter({ url: `${server.url}/v1/logs`, headers: { authorization: `Bearer ${KEY}` }, timeoutMillis: 30_000 });
    const uids: string[] = [];
    const [filler, refused] = [provider(first, exporter(), [], 10), provider(second, exporter(), uids, 10)];
    t.after(() => Promise.all([filler.shutdown(), refused.shutdown()]));
    const before = await overloaded(server.url, 'otlp');
    await fillThenSend(filler, refused);
    assert.ok((await overloaded(server.url, 'otlp')) > before, 'logagg never answered 503: the test did not test retries');
    assert.deepEqual(await counts(server.url, first, KEY), [10, 10, 0]);
    assert.deepEqual(await counts(server.url, second, KEY), [10, 10, 0]);
    const ids = await storedIds(server.url, second, KEY);
    assert.ok(uids.length === 5 && uids.every((uid) => ids.has(uid)));
  });

  test('exporter-logs-otlp-grpc: UNAVAILABLE, the records resent, every record stored once; no key is UNAUTHENTICATED', async (t) => {
    const [first, second] = [uniqueTopic('grpc-first'), uniqueTopic('grpc-refused')];
    const exporter = () => new GrpcLogExporter({ url: grpcUrl(), metadata: grpcMetadata(KEY), compression: GZIP, timeoutMillis: 30_000 });
    const refusals: number[] = [];
    const uids: string[] = [];
    const [filler, refused] = [
      provider(first, exporter(), [], 10),
      provider(second, retryingOnUnavailable(exporter(), refusals), uids, 10),
    ];
    t.after(() => Promise.all([filler.shutdown(), refused.shutdown()]));
    await fillThenSend(filler, refused);
    assert.ok(refusals.length > 0 && refusals.every((code) => code === 14), `refusals: ${refusals.join(', ')} (expected UNAVAILABLE = 14)`);
    assert.deepEqual(await counts(server.url, first, KEY), [10, 10, 0]);
    assert.deepEqual(await counts(server.url, second, KEY), [10, 10, 0]);
    const ids = await storedIds(server.url, second, KEY);
    assert.ok(uids.length === 5 && uids.every((uid) => ids.has(uid)));

    const stranger = uniqueTopic('grpc-no-key');
    const codes: number[] = [];
    const keyless = provider(stranger, retryingOnUnavailable(new GrpcLogExporter({ url: grpcUrl() }), codes));
    t.after(() => keyless.shutdown());
    keyless.getLogger('x').emit({ body: 'no key' });
    await keyless.forceFlush();
    assert.deepEqual(codes, [16]);
    assert.equal(await counts(server.url, stranger, KEY), undefined);
  });
});

/** logagg_requests_rejected_total{transport, reason="OVERLOADED"} from GET /metrics. */
async function overloaded(url: string, transport: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith('logagg_requests_rejected_total{') && l.includes(`transport="${transport}"`) && l.includes('reason="OVERLOADED"'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
