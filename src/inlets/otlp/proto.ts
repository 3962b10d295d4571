import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ExportLogsResponse, OtlpStatus } from '../../schema/otlp.js';

// OTLP/protobuf messages other than the request, with protobufjs from the official .proto files (vendored in ./proto,
// see its README): the response and google.rpc.Status logagg sends, and, for tests and the bench, the request's
// encoder and the decoders of what logagg sends. Requests are read by proto-records.ts, by hand, off this module.

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const FILES = ['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'google/rpc/status.proto'];

interface Types {
  request: protobuf.Type;
  response: protobuf.Type;
  status: protobuf.Type;
}

let types: Types | undefined;

/** Parsed once, on first use (a server that never sees protobuf never reads the files). */
function loadTypes(): Types {
  if (types) return types;
  const root = new protobuf.Root();
  // Imports name paths from the proto root ("opentelemetry/proto/logs/v1/logs.proto"), not from the importer.
  root.resolvePath = (_origin, target) => PROTO_DIR + target;
  root.loadSync(FILES);
  types = {
    request: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    status: root.lookupType('google.rpc.Status'),
  };
  return types;
}

let emptyResponse: Buffer | undefined;

/**
 * The ExportLogsServiceResponse in protobuf: empty on full success (encoded once, shared: nothing writes to it),
 * partial_success otherwise. A Buffer, which Fastify and grpc-js send as is, without a copy.
 */
export function encodeExportLogsResponse(response: ExportLogsResponse): Buffer {
  const { response: type } = loadTypes();
  const encode = (): Buffer => {
    const bytes = type.encode(type.fromObject(response)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  if (response.partialSuccess === undefined) return (emptyResponse ??= encode());
  return encode();
}

/** The type URL of a google.rpc.RetryInfo packed in a google.protobuf.Any (error_details.proto). */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * A google.rpc.Status in protobuf: the error body of OTLP/HTTP with protobuf, and gRPC's grpc-status-details-bin.
 * With `retryAfterSeconds`, its details hold one RetryInfo (retry_delay), which the OTLP spec asks of a
 * RESOURCE_EXHAUSTED that the client may retry. Written by hand: RetryInfo and Duration are two fields, and
 * vendoring error_details.proto for them would load a file of forty messages.
 */
export function encodeStatus(status: OtlpStatus, retryAfterSeconds?: number): Uint8Array {
  const { status: type } = loadTypes();
  const writer = type.encode(type.fromObject({ code: status.code, message: status.message }));
  if (retryAfterSeconds === undefined) return writer.finish();
  // RetryInfo { Duration retry_delay = 1 }, Duration { int64 seconds = 1 }, Any { string type_url = 1; bytes value = 2 }.
  const retryInfo = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .fork()
    .uint32((1 << 3) | 0)
    .int64(retryAfterSeconds)
    .ldelim()
    .finish();
  // Status.details = 3, repeated Any.
  writer
    .uint32((3 << 3) | 2)
    .fork()
    .uint32((1 << 3) | 2)
    .string(RETRY_INFO_TYPE_URL)
    .uint32((2 << 3) | 2)
    .bytes(retryInfo)
    .ldelim();
  return writer.finish();
}

/** Reads a google.rpc.Status (for tests and clients of this module). */
export function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const { status: type } = loadTypes();
  const status = type.toObject(type.decode(bytes), { defaults: true }) as { code: number; message: string };
  return { code: status.code, message: status.message };
}

/** Reads an ExportLogsServiceResponse (for tests). */
export function decodeExportLogsResponse(bytes: Uint8Array): ExportLogsResponse {
  const { response: type } = loadTypes();
  return type.toObject(type.decode(bytes), { longs: Number }) as ExportLogsResponse;
}

type Json = Record<string, unknown>;
const children = (value: unknown, key: string): Json[] => ((value as Json | undefined)?.[key] as Json[] | undefined) ?? [];

/** The ExportLogsServiceRequest type, for tests: protobufjs's decoding is the reference proto-records.ts is held to. */
export function exportLogsRequestType(): protobuf.Type {
  return loadTypes().request;
}

/** Encodes an OTLP/JSON-shaped ExportLogsServiceRequest as protobuf (for tests and the bench; ids in hex). */
export function encodeExportLogsRequest(json: Json): Uint8Array {
  const { request } = loadTypes();
  const copy = structuredClone(json);
  for (const resourceLogs of children(copy, 'resourceLogs')) {
    for (const scopeLogs of children(resourceLogs, 'scopeLogs')) {
      for (const record of children(scopeLogs, 'logRecords')) {
        for (const key of ['traceId', 'spanId']) {
          if (typeof record[key] === 'string') record[key] = Buffer.from(record[key], 'hex').toString('base64');
        }
      }
    }
  }
  return request.encode(request.fromObject(copy)).finish();
}
