import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { TooManyRecordsError } from './decode.js';
import type { ExportLogsResponse, OtlpStatus } from '../../schema/otlp.js';
import { MAX_PAYLOAD_DEPTH } from '../../schema/validate.js';

// OTLP/protobuf, read with protobufjs from the official .proto files (vendored in ./proto, see its README) and
// turned into the OTLP/JSON shape that src/inlets/otlp/decode.ts reads: one mapping, one event_id derivation, one
// validation for both encodings, so a record sent as protobuf gets the event_id it gets as JSON.

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const FILES = ['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'google/rpc/status.proto'];

// Message nesting protobufjs will follow (its default, 100, is protoc's). A payload value nests two messages per
// level (AnyValue → KeyValueList → KeyValue → AnyValue), under four above the body: room for every depth that
// POST /publish accepts, so a too-deep value is rejected per record by the shared decoder, as in JSON. Past this
// the whole request is refused (400), which also bounds the decoder's recursion.
const RECURSION_LIMIT = 2 * (MAX_PAYLOAD_DEPTH + 2) + 8;
protobuf.util.recursionLimit = RECURSION_LIMIT;
protobuf.Reader.recursionLimit = RECURSION_LIMIT;

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

/** The body is not an ExportLogsServiceRequest in protobuf: the whole request is refused (INVALID_OTLP, 400). */
export class ProtobufDecodeError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'ProtobufDecodeError';
  }
}

const WIRE_LEN = 2;

/** Calls `visit` with the bytes of each length-delimited `field` of a message, skipping (but checking) the others. */
function eachMessage(bytes: Uint8Array, field: number, visit: (message: Uint8Array) => void): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === WIRE_LEN) visit(reader.bytes());
    else reader.skipType(tag & 7);
  }
}

/**
 * Counts the log records on the wire, without decoding them, and stops past `max`: a body of millions of empty
 * records (two bytes each) is refused (413) before a single object is built for it.
 */
function checkRecordCount(bytes: Uint8Array, max: number): void {
  let count = 0;
  // ExportLogsServiceRequest.resource_logs = 1 → ResourceLogs.scope_logs = 2 → ScopeLogs.log_records = 2.
  eachMessage(bytes, 1, (resourceLogs) =>
    eachMessage(resourceLogs, 2, (scopeLogs) =>
      eachMessage(scopeLogs, 2, () => {
        if (++count > max) throw new TooManyRecordsError(max);
      }),
    ),
  );
}

type Json = Record<string, unknown>;
const children = (value: unknown, key: string): Json[] => ((value as Json | undefined)?.[key] as Json[] | undefined) ?? [];

// A decoded message into the OTLP/JSON shape decode.ts reads, field by field: what Type.toObject({ longs: String,
// enums: Number, bytes: String, defaults: false }) gives, for the fields decode.ts reads, without the generic
// walk over every field of every message (which cost about as much as decoding). As toObject does, a field is
// copied only when it was on the wire (an own property), so proto3's "absent" stays absent.
type Message = Record<string, unknown>;
const has = (message: Message, key: string): boolean => Object.hasOwn(message, key) && message[key] != null;
/**
 * 64-bit integers as decimal text: protobufjs reads them as a Long (or a number when Long is missing). One below
 * 2^63 (every time) is written from its halves in base 10^6, every step an exact double (high · 967296 + low <
 * 2^52): 2^32 = 4294 · 10^6 + 967296. Long's own toString, a division loop, is left for negative ones and past 2^63.
 */
export function longText(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const { low, high } = value as { low: number; high: number };
  if (high < 0) return String(value as { toString(): string });
  const below = high * 967296 + (low >>> 0);
  const above = high * 4294 + Math.floor(below / 1e6);
  const rest = String(below % 1e6);
  return above === 0 ? rest : `${above}${rest.padStart(6, '0')}`;
}
const base64 = (bytes: unknown): string => Buffer.from(bytes as Uint8Array).toString('base64');
/** OTLP/JSON writes trace and span ids in hex, not base64 (the one place it departs from proto3 JSON). */
const hex = (bytes: unknown): string => Buffer.from(bytes as Uint8Array).toString('hex');

function copy(from: Message, to: Json, key: string, convert?: (value: unknown) => unknown): void {
  if (has(from, key)) to[key] = convert ? convert(from[key]) : from[key];
}

function list(from: Message, to: Json, key: string, convert: (value: Message) => Json): void {
  const items = from[key] as Message[] | undefined;
  if (items && items.length > 0) to[key] = items.map(convert);
}

const keyValue = (kv: Message): Json => {
  const json: Json = {};
  copy(kv, json, 'key');
  copy(kv, json, 'value', (value) => anyValue(value as Message));
  return json;
};

function values(holder: unknown, convert: (value: Message) => Json): Json {
  const json: Json = {};
  list(holder as Message, json, 'values', convert);
  return json;
}

function anyValue(value: Message): Json {
  const json: Json = {};
  copy(value, json, 'stringValue');
  copy(value, json, 'boolValue');
  copy(value, json, 'intValue', longText);
  copy(value, json, 'doubleValue');
  copy(value, json, 'arrayValue', (array) => values(array, anyValue));
  copy(value, json, 'kvlistValue', (kvlist) => values(kvlist, keyValue));
  copy(value, json, 'bytesValue', base64);
  return json;
}

function logRecord(record: Message): Json {
  const json: Json = {};
  copy(record, json, 'timeUnixNano', longText);
  copy(record, json, 'observedTimeUnixNano', longText);
  copy(record, json, 'severityNumber');
  copy(record, json, 'severityText');
  copy(record, json, 'body', (body) => anyValue(body as Message));
  list(record, json, 'attributes', keyValue);
  copy(record, json, 'flags');
  copy(record, json, 'traceId', hex);
  copy(record, json, 'spanId', hex);
  copy(record, json, 'eventName');
  return json;
}

function withAttributes(message: unknown, fields: readonly string[]): Json {
  const json: Json = {};
  for (const field of fields) copy(message as Message, json, field);
  list(message as Message, json, 'attributes', keyValue);
  return json;
}

function scopeLogs(scope: Message): Json {
  const json: Json = {};
  copy(scope, json, 'scope', (s) => withAttributes(s, ['name', 'version']));
  list(scope, json, 'logRecords', logRecord);
  return json;
}

function resourceLogs(resource: Message): Json {
  const json: Json = {};
  copy(resource, json, 'resource', (r) => withAttributes(r, []));
  list(resource, json, 'scopeLogs', scopeLogs);
  return json;
}

/** A decoded ExportLogsServiceRequest as the OTLP/JSON object src/inlets/otlp/decode.ts reads. */
export function messageToJson(message: Record<string, unknown>): Json {
  const json: Json = {};
  list(message, json, 'resourceLogs', resourceLogs);
  return json;
}

/**
 * An ExportLogsServiceRequest in protobuf, decoded by protobufjs. Throws ProtobufDecodeError when the bytes do not
 * decode (truncated, wrong wire types, invalid UTF-8 in a string, nested past RECURSION_LIMIT) and
 * TooManyRecordsError past `maxRecords`.
 */
export function decodeExportLogsMessage(bytes: Uint8Array, maxRecords: number): Record<string, unknown> {
  const { request } = loadTypes();
  try {
    checkRecordCount(bytes, maxRecords);
    return request.decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TooManyRecordsError) throw err;
    throw new ProtobufDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
  }
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

/** A google.rpc.Status in protobuf: the error body of OTLP/HTTP with protobuf, and gRPC's grpc-status-details-bin. */
export function encodeStatus(status: OtlpStatus): Uint8Array {
  const { status: type } = loadTypes();
  return type.encode(type.fromObject({ code: status.code, message: status.message })).finish();
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
