import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { StoredEvent } from '../../src/schema/event.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, uniqueTopic } from '../helpers/events.js';
import { waitFor } from '../helpers/process.js';
import { serverForSuite } from '../helpers/server.js';
import { storeKinds } from '../helpers/stores.js';

/** A stored event whose payload is an OTLP record (src/inlets/otlp/map.ts). */
type OtlpEvent = Omit<StoredEvent, 'payload'> & { payload: Record<string, unknown> };

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>;

/** Stamps records with a fresh log.record.uid at emit (all, or those `which` picks): every retry carries the same id. */
function uidProcessor(uids: string[], which: (attributes: Record<string, unknown>) => boolean = () => true): LogRecordProcessor {
  return {
    onEmit(record) {
      if (!which(record.attributes)) return;
      const uid = randomUUID();
      uids.push(uid);
      record.setAttribute('log.record.uid', uid);
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}

/** The real SDK pipeline: LoggerProvider → (uid stamping) → BatchLogRecordProcessor → OTLP/HTTP JSON exporter. */
function createProvider(
  url: string,
  service: string,
  options: {
    uids?: string[];
    uidWhen?: (attributes: Record<string, unknown>) => boolean;
    exporter?: Partial<ExporterConfig>;
    batch?: number;
  } = {},
): LoggerProvider {
  const exporter = new OTLPLogExporter({ url: `${url}/v1/logs`, ...options.exporter });
  return new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'test-host' }),
    processors: [
      ...(options.uids ? [uidProcessor(options.uids, options.uidWhen)] : []),
      new BatchLogRecordProcessor({ exporter, maxExportBatchSize: options.batch ?? 50, scheduledDelayMillis: 20 }),
    ],
  });
}

async function storedIn(url: string, topic: string): Promise<OtlpEvent[]> {
  return (await get<OtlpEvent[]>(`${url}/events?topic=${encodeURIComponent(topic)}&limit=10000`)).body;
}

async function counts(url: string, topic: string): Promise<[number, number, number] | undefined> {
  const c = (await get<Stats>(`${url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
  return c && [c.received, c.unique_processed, c.duplicate_dropped];
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const recordsIn = (body: Buffer, gzip: boolean): number => {
  const request = JSON.parse((gzip ? gunzipSync(body) : body).toString()) as {
    resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }>;
  };
  return request.resourceLogs.flatMap((rl) => rl.scopeLogs).reduce((n, sl) => n + sl.logRecords.length, 0);
};

/**
 * A real HTTP server in front of logagg that answers 503 (Retry-After: 1) to the requests whose number is in
 * `plan`: 'lost' forwards the request first (logagg commits it, the answer is lost on the way back, as when a
 * load balancer times out), 'down' does not forward it (logagg unreachable). Everything else is passed through.
 */
async function startFlakyProxy(
  target: string,
  plan: Map<number, 'lost' | 'down'>,
): Promise<{ url: string; requests: number; forwardedRecords: number; server: Server }> {
  const state = { url: '', requests: 0, forwardedRecords: 0, server: undefined as unknown as Server };
  state.server = createServer((req, res) => {
    const n = ++state.requests;
    void readBody(req).then(async (body) => {
      const fault = plan.get(n);
      let answer = { status: 503, body: JSON.stringify({ error: 'STORE_UNAVAILABLE', message: 'proxy: upstream down' }) };
      if (fault !== 'down') {
        const headers: Record<string, string> = { 'content-type': String(req.headers['content-type']) };
        if (req.headers['content-encoding']) headers['content-encoding'] = String(req.headers['content-encoding']);
        const upstream = await fetch(`${target}${req.url}`, { method: 'POST', headers, body });
        answer = { status: upstream.status, body: await upstream.text() };
        if (upstream.status === 200) state.forwardedRecords += recordsIn(body, headers['content-encoding'] === 'gzip');
        if (fault === 'lost') answer = { status: 503, body: JSON.stringify({ error: 'OVERLOADED', message: 'proxy: answer lost' }) };
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.status === 503 ? { 'retry-after': '1' } : {}) });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  const address = state.server.address();
  state.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return state;
}

for (const kind of storeKinds()) {
  describe(`OpenTelemetry JS SDK → POST /v1/logs [${kind}]`, { timeout: 120_000 }, () => {
    const server = serverForSuite(kind);

    test('logs emitted through the SDK are stored once each, keyed by log.record.uid, with the record in the payload', async (t) => {
      const service = uniqueTopic('otel-svc');
      const uids: string[] = [];
      const provider = createProvider(server.url, service, { uids });
      t.after(() => provider.shutdown());
      const logger = provider.getLogger('checkout', '2.0.1');
      const spanContext = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: TraceFlags.SAMPLED };
      for (let i = 0; i < 120; i++) {
        logger.emit({
          body: `order ${i} paid`,
          severityNumber: SeverityNumber.INFO,
          severityText: 'INFO',
          attributes: { 'order.id': i, 'order.currency': 'IDR' },
          ...(i === 0 ? { context: trace.setSpanContext(ROOT_CONTEXT, spanContext) } : {}),
        });
      }
      await provider.forceFlush();
      assert.deepEqual(await counts(server.url, service), [120, 120, 0]);
      const stored = await storedIn(server.url, service);
      assert.deepEqual(new Set(stored.map((e) => e.event_id)), new Set(uids));
      const first = stored.find((e) => e.event_id === uids[0]);
      assert.equal(first?.source, service);
      assert.equal(first?.payload.body, 'order 0 paid');
      assert.equal(first?.payload.severity_number, SeverityNumber.INFO);
      assert.deepEqual(first?.payload.attributes, { 'order.id': 0, 'order.currency': 'IDR', 'log.record.uid': uids[0] });
      assert.equal(first?.payload.trace_id, spanContext.traceId);
      assert.equal(first?.payload.span_id, spanContext.spanId);
      assert.deepEqual(first?.payload.scope, { name: 'checkout', version: '2.0.1' });
      assert.equal((first?.payload.resource as { attributes: Record<string, unknown> }).attributes['host.name'], 'test-host');
      // The record's own time (nanoseconds in the payload), to the microsecond in the event timestamp.
      const nanos = BigInt(String(first?.payload.time_unix_nano));
      assert.equal(Date.parse(first?.timestamp ?? ''), Number(nanos / 1_000_000n));
    });

    test('a gzip-compressing exporter without uids is stored exactly, logagg.topic choosing the topic', async (t) => {
      const service = uniqueTopic('otel-gzip');
      const topic = uniqueTopic('otel-routed');
      const provider = createProvider(server.url, service, { exporter: { compression: 'gzip' as ExporterConfig['compression'] } });
      t.after(() => provider.shutdown());
      const logger = provider.getLogger('gzip-test');
      for (let i = 0; i < 60; i++) logger.emit({ body: `line ${i}`, attributes: i % 2 === 0 ? { 'logagg.topic': topic } : {} });
      await provider.forceFlush();
      assert.deepEqual(await counts(server.url, service), [30, 30, 0]);
      assert.deepEqual(await counts(server.url, topic), [30, 30, 0]);
      assert.ok((await storedIn(server.url, topic)).every((e) => /^[0-9a-f]{64}$/.test(e.event_id)));
    });

    test('503s answered through a proxy make the exporter retry; with and without uids nothing is stored twice', async (t) => {
      const service = uniqueTopic('otel-retry');
      // Exports 1 and 3 are committed but their answers lost; export 2 never reaches logagg the first time.
      const proxy = await startFlakyProxy(
        server.url,
        new Map([
          [1, 'lost'],
          [2, 'down'],
          [4, 'lost'],
        ]),
      );
      t.after(() => new Promise<void>((resolve) => proxy.server.close(() => resolve())));
      const uids: string[] = [];
      // Half the records carry a uid, half are keyed by their hash.
      const provider = createProvider(proxy.url, service, { uids, uidWhen: (attributes) => Number(attributes.i) % 2 === 0, batch: 40 });
      t.after(() => provider.shutdown());
      const logger = provider.getLogger('retry-test');
      for (let i = 0; i < 200; i++) logger.emit({ body: `retry ${i}`, attributes: { i } });
      await provider.forceFlush();
      assert.ok(proxy.requests > 5, `only ${proxy.requests} requests: the exporter never retried`);
      const [received, unique, duplicates] = (await counts(server.url, service)) ?? [0, 0, 0];
      assert.equal(unique, 200, 'every record stored exactly once');
      assert.equal(received, proxy.forwardedRecords, 'every record that reached logagg was counted');
      assert.equal(duplicates, proxy.forwardedRecords - 200);
      assert.ok(duplicates >= 80, `${duplicates} duplicates: the lost answers were not resent`);
      const stored = await storedIn(server.url, service);
      assert.equal(stored.length, 200);
      assert.equal(uids.length, 100);
      const ids = new Set(stored.map((e) => e.event_id));
      assert.ok(
        uids.every((uid) => ids.has(uid)),
        'a record with a uid is missing',
      );
      assert.equal(stored.filter((e) => /^[0-9a-f]{64}$/.test(e.event_id)).length, 100);
    });
  });
}

/** logagg_requests_rejected_total for OTLP requests refused with `reason`, from GET /metrics. */
async function otlpRejections(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('logagg_requests_rejected_total{') && l.includes('transport="otlp"') && l.includes(`reason="${reason}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('OpenTelemetry JS SDK → POST /v1/logs while logagg itself is overloaded', { timeout: 60_000 }, () => {
  // MAX_QUEUE = one export of 10; a long linger keeps an export queued, so the next one is refused with 503.
  const server = serverForSuite('pglite', { maxQueue: 10, maxBatchEvents: 10, lingerMs: 2500 });

  test('logagg answers 503 + Retry-After, the exporter retries, and every record is stored exactly once', async (t) => {
    const first = uniqueTopic('otel-first');
    const second = uniqueTopic('otel-refused');
    // The retries are spaced by Retry-After (1 s); a longer timeout than the default 10 s leaves room for them.
    const exporter = { timeoutMillis: 30_000 };
    const filler = createProvider(server.url, first, { batch: 10, exporter });
    const uids: string[] = [];
    const refused = createProvider(server.url, second, {
      batch: 10,
      exporter,
      uids,
      uidWhen: (attributes) => Number(attributes.i) % 2 === 0,
    });
    t.after(() => Promise.all([filler.shutdown(), refused.shutdown()]));
    for (let i = 0; i < 10; i++) filler.getLogger('filler').emit({ body: `fill ${i}`, attributes: { i } });
    const filled = filler.forceFlush();
    await waitFor(async () => (await get<Stats>(`${server.url}/stats`)).body.pipeline.queued_events === 10, 10_000, 'the queue to fill');
    const before = await otlpRejections(server.url, 'OVERLOADED');
    for (let i = 0; i < 10; i++) refused.getLogger('refused').emit({ body: `wait ${i}`, attributes: { i } });
    await Promise.all([filled, refused.forceFlush()]);
    assert.ok((await otlpRejections(server.url, 'OVERLOADED')) > before, 'logagg never answered 503: the test did not test retries');
    assert.deepEqual(await counts(server.url, first), [10, 10, 0]);
    // A refused request stores and counts nothing, so its retry is the first copy: no duplicates, none missing.
    assert.deepEqual(await counts(server.url, second), [10, 10, 0]);
    const ids = new Set((await storedIn(server.url, second)).map((e) => e.event_id));
    assert.equal(ids.size, 10);
    assert.ok(uids.length === 5 && uids.every((uid) => ids.has(uid)), 'a record with a uid is missing');
  });
});
