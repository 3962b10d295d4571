import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { encodeExportLogsRequest } from '../../src/inlets/otlp/proto.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { type Json, kv, logs, str } from './otlp.js';

// Hostile OTLP/protobuf on both endpoints: whatever the bytes, the answer is 200 (they happened to decode), a 4xx
// or a non-retryable gRPC status, never a 5xx, UNAVAILABLE or INTERNAL; and a refused message stores nothing.

const EXPORT = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (bytes: Buffer): Buffer => bytes;
// gRPC statuses a client may get for a bad message: OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED (grpc-js's own answer
// to a message over the size limit, sent without RetryInfo, so not retried).
const GRPC_ACCEPTABLE = new Set([0, 3, 8]);

async function received(url: string): Promise<number> {
  return (await get<Stats>(`${url}/stats`)).body.received;
}

function grpcCall(client: Client, bytes: Buffer): Promise<number> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(EXPORT, identity, identity, bytes, new Metadata(), (err: ServiceError | null) => resolve(err ? err.code : 0)),
  );
}

/** A valid request of a few records, for mutation. */
function validRequest(topic: string, records: number): Uint8Array {
  const record: Json = {
    timeUnixNano: '1700000000000000000',
    body: { kvlistValue: { values: [kv('msg', str('hello')), kv('n', { intValue: '5' })] } },
    attributes: [kv('a', { doubleValue: 1.5 })],
    traceId: '5b8efff798038103d269b633813fc60c',
  };
  return encodeExportLogsRequest(
    logs(
      [kv('service.name', str(topic))],
      Array.from({ length: records }, () => record),
    ),
  );
}

/** AnyValue nested `depth` levels in arrays, on the wire (each level: tag, length, then the inner value). */
function deepValue(depth: number): Buffer {
  let value = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue { string_value: "x" }
  for (let i = 0; i < depth; i++) {
    const array = Buffer.concat([Buffer.from([0x0a]), varint(value.length), value]); // ArrayValue { values: value }
    value = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]); // AnyValue { array_value }
  }
  return value;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 127) {
    bytes.push((n & 127) | 128);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** Wraps a LogRecord's bytes into request → ResourceLogs → ScopeLogs → log_records. */
function wrapRecords(records: Buffer): Buffer {
  const scopeLogs = records;
  const resourceLogs = Buffer.concat([Buffer.from([0x12]), varint(scopeLogs.length), scopeLogs]);
  return Buffer.concat([Buffer.from([0x0a]), varint(resourceLogs.length), resourceLogs]);
}

describe('OTLP/protobuf decoder under hostile input (HTTP and gRPC)', { timeout: 120_000 }, () => {
  const server = serverForSuite('pglite', { otlpGrpc: true, maxBatchEvents: 50, bodyLimit: 1024 * 1024 });
  let client: Client | undefined;
  const grpc = () => (client ??= new Client(`127.0.0.1:${server.otlpGrpcPort}`, credentials.createInsecure()));
  after(() => client?.close());

  async function send(bytes: Uint8Array, headers: Record<string, string> = {}): Promise<number> {
    const response = await fetch(`${server.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', ...headers },
      body: bytes,
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** Sends the bytes both ways; a refusal must have stored nothing. */
  async function both(bytes: Uint8Array): Promise<void> {
    const before = await received(server.url);
    const status = await send(bytes);
    assert.ok(status === 200 || (status >= 400 && status < 500), `HTTP ${status}`);
    if (status !== 200) assert.equal(await received(server.url), before, `HTTP ${status} stored something`);
    const middle = await received(server.url);
    const code = await grpcCall(grpc(), Buffer.from(bytes));
    assert.ok(GRPC_ACCEPTABLE.has(code), `gRPC status ${code}`);
    if (code !== 0) assert.equal(await received(server.url), middle, `gRPC status ${code} stored something`);
  }

  test('random bytes, truncated and bit-flipped valid messages: 200 or 4xx / INVALID_ARGUMENT, a refusal stores nothing', async () => {
    const valid = validRequest(uniqueTopic('fuzz'), 3);
    const mutated = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat({ max: valid.length - 1 }).map((cut) => valid.subarray(0, cut)),
      fc
        .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
        .map((flips) => {
          const copy = Uint8Array.from(valid);
          for (const [at, mask] of flips) copy[at] = (copy[at] as number) ^ mask;
          return copy;
        }),
    );
    await fc.assert(fc.asyncProperty(mutated, both), { numRuns: 120 });
  });

  test('bombs: millions of empty records, deep nesting, a gzip bomb, a huge length prefix: refused, nothing stored', async () => {
    const before = await received(server.url);
    // 400,000 empty LogRecords (two bytes each, 800 KB): counted on the wire, refused before any is built.
    const emptyRecords = wrapRecords(Buffer.alloc(800_000, Buffer.from([0x12, 0x00])));
    assert.equal(await send(emptyRecords), 413);
    assert.equal(await grpcCall(grpc(), emptyRecords), 3);
    // A value nested 5,000 levels: past the decoder's recursion limit.
    const deepRecord = Buffer.concat([Buffer.from([0x2a]), varint(deepValue(5000).length), deepValue(5000)]);
    const deep = wrapRecords(Buffer.concat([Buffer.from([0x12]), varint(deepRecord.length), deepRecord]));
    assert.equal(await send(deep), 400);
    assert.equal(await grpcCall(grpc(), deep), 3);
    // 64 MiB of zeros gzipped to ~64 KB: inflating stops at BODY_LIMIT (1 MiB).
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.equal(await send(bomb, { 'content-encoding': 'gzip' }), 413);
    // A string claiming 2^31 bytes, with none following.
    const liar = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07]);
    assert.equal(await send(liar), 400);
    assert.equal(await grpcCall(grpc(), liar), 3);
    assert.equal(await received(server.url), before);
  });

  test('a gRPC message compressed with gzip that inflates past BODY_LIMIT is refused without a 5xx-like status', async (t) => {
    // The client compresses a 32 MiB message (zeros: a field-0 tag, invalid anyway) to ~32 KB on the wire.
    const compressing = new Client(`127.0.0.1:${server.otlpGrpcPort}`, credentials.createInsecure(), {
      'grpc.default_compression_algorithm': 2,
    });
    t.after(() => compressing.close());
    const before = await received(server.url);
    const code = await grpcCall(compressing, Buffer.alloc(32 * 1024 * 1024));
    assert.ok(code === 8 || code === 3, `gRPC status ${code}`);
    // And a valid gzip-compressed message is read.
    const topic = uniqueTopic('fuzz-gzip');
    assert.equal(await grpcCall(compressing, Buffer.from(validRequest(topic, 2))), 0);
    assert.equal(await received(server.url), before + 2);
  });
});
