import { MAX_PAYLOAD_DEPTH } from '../../schema/validate.js';

/**
 * An OTLP AnyValue or attribute list, read twice over: `plain` is the JSON kept in the payload, `canon` a
 * typed form for the event_id hash, where a string "5" and an int 5 differ and map keys are sorted.
 */
export interface Decoded {
  plain: unknown;
  canon: unknown;
}

export interface Attributes {
  plain: Record<string, unknown>;
  /** [key, canon] sorted by key: attribute lists are maps, their order carries no meaning. */
  canon: Array<[string, unknown]>;
}

export interface DecodedScope {
  name: string;
  version: string;
  attributes: Attributes;
}

/** One log record with its resource and scope, every field type-checked and normalized. */
export interface DecodedRecord {
  /** JSON path of the record in the request, for rejection messages. */
  path: string;
  resource: Attributes;
  scope: DecodedScope;
  /** Decimal strings; "0" when unset (OTLP's own meaning of 0). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number | undefined;
  severityText: string | undefined;
  body: Decoded | undefined;
  attributes: Attributes;
  traceId: string | undefined;
  spanId: string | undefined;
  flags: number | undefined;
  eventName: string | undefined;
}

/** The body is not an ExportLogsServiceRequest: the whole request is refused (400), like a protobuf that fails to decode. */
export class OtlpDecodeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '/'}: ${reason}`);
    this.name = 'OtlpDecodeError';
  }
}

/** Why a record holding a value nested too deep is rejected; `path` names the value (both encodings say the same). */
export const tooDeepReason = (path: string): string => `${path}: nested deeper than ${MAX_PAYLOAD_DEPTH} levels`;

/** A value nested deeper than a payload may be: only the records holding it are rejected. */
class ValueTooDeepError extends Error {
  constructor(readonly path: string) {
    super(tooDeepReason(path));
    this.name = 'ValueTooDeepError';
  }
}

/** A record that decoded but cannot become an event; the others of its request are still stored. */
export interface RejectedRecord {
  path: string;
  reason: string;
}

/** More records than allowed in one request; counted while decoding, so a huge request stops early. */
export class TooManyRecordsError extends Error {
  constructor(readonly max: number) {
    super(`More than ${max} log records; at most ${max} per request`);
    this.name = 'TooManyRecordsError';
  }
}

const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// Deeper values cannot be stored (schema/validate.ts refuses them); stopping here keeps recursion bounded too.
const MAX_VALUE_DEPTH = MAX_PAYLOAD_DEPTH + 1;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function object(value: unknown, path: string): Json {
  if (!isObject(value)) throw new OtlpDecodeError(path, 'must be an object');
  return value;
}

/** A repeated field: absent or null reads as empty (proto3 JSON). */
function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(path, 'must be an array');
  return value;
}

/** `path` + `/field`: built only for an error, not for every field of every record. */
const at = (path: string, field: string | undefined): string => (field === undefined ? path : `${path}/${field}`);

function optionalString(value: unknown, path: string, field?: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new OtlpDecodeError(at(path, field), 'must be a string');
  return value;
}

// A JSON number, as text: proto3 JSON lets a number field arrive as a string holding one (exponent included).
const NUMBER_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** A 32-bit integer field: proto3 JSON accepts a number or a string holding one ("1", "1e2" too). */
function optionalInt32(value: unknown, path: string, min: number, max: number, field?: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : value;
  if (typeof parsed !== 'number' || !Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new OtlpDecodeError(at(path, field), `must be an integer from ${min} to ${max} (a number or a decimal string)`);
  }
  return parsed;
}

// SeverityNumber enum names: proto3 JSON may send an enum as its name. TRACE=1..4, DEBUG=5..8, ... FATAL=21..24,
// the first of each four without a digit (SEVERITY_NUMBER_INFO = 9, SEVERITY_NUMBER_INFO2 = 10).
const SEVERITY_NUMBERS = new Map<string, number>([
  ['SEVERITY_NUMBER_UNSPECIFIED', 0],
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level, l) =>
    [1, 2, 3, 4].map((n): [string, number] => [`SEVERITY_NUMBER_${level}${n === 1 ? '' : n}`, l * 4 + n]),
  ),
]);

/** An open enum: a name, or any int32 (a value newer than this list is kept as its number). */
function severityNumber(value: unknown, path: string, field?: string): number | undefined {
  if (typeof value === 'string' && SEVERITY_NUMBERS.has(value)) return SEVERITY_NUMBERS.get(value);
  return optionalInt32(value, path, -(2 ** 31), 2 ** 31 - 1, field);
}

/**
 * A double: a number, or a string holding one or "NaN", "Infinity", "-Infinity" (proto3 JSON). JSON has no
 * number for the non-finite ones, so they stay those strings; every finite one becomes a number.
 */
function double(value: unknown, path: string): number | string {
  const parsed =
    typeof value === 'string' && (NUMBER_TEXT.test(value) || value === 'NaN' || value === 'Infinity' || value === '-Infinity')
      ? Number(value)
      : value;
  if (typeof parsed !== 'number')
    throw new OtlpDecodeError(path, 'must be a number, a string holding one, or "NaN", "Infinity", "-Infinity"');
  // Number.isFinite also catches "1e999" and a JSON 1e999, which JSON.parse reads as Infinity.
  return Number.isFinite(parsed) ? parsed : String(parsed);
}

/** A 64-bit integer: proto3 JSON writes it as a decimal string, and readers must take a number too. */
function bigInteger(value: unknown, path: string, min: bigint, max: bigint): bigint {
  let parsed: bigint | undefined;
  if (typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value)) parsed = BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value)) parsed = BigInt(value);
  if (parsed === undefined || parsed < min || parsed > max)
    throw new OtlpDecodeError(path, 'must be an integer (a decimal string or a number) in range');
  return parsed;
}

// Decimal text that is already what BigInt(text).toString() gives and within range, so the BigInt is skipped:
// no sign, no leading zero, at most 19 digits (< 10^19 < 2^64) for a time; at most 15 (< 2^53) for an int.
const CANONICAL_NANOS = /^(?:0|[1-9][0-9]{0,18})$/;
const CANONICAL_SAFE_INT = /^(?:0|-?[1-9][0-9]{0,14})$/;

function nanos(value: unknown, path: string, field?: string): string {
  if (value === undefined || value === null) return '0';
  if (typeof value === 'string' && CANONICAL_NANOS.test(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return bigInteger(value, at(path, field), 0n, UINT64_MAX).toString();
}

/** An OTLP AnyValue; an empty one (no known field set) is null. */
function decodeAnyValue(value: unknown, path: string, depth: number): Decoded {
  if (depth > MAX_VALUE_DEPTH) throw new ValueTooDeepError(path);
  const any = object(value, path);
  if (any.stringValue !== undefined) {
    const text = optionalString(any.stringValue, path, 'stringValue') as string;
    return { plain: text, canon: ['s', text] };
  }
  if (any.boolValue !== undefined) {
    if (typeof any.boolValue !== 'boolean') throw new OtlpDecodeError(`${path}/boolValue`, 'must be a boolean');
    return { plain: any.boolValue, canon: ['b', any.boolValue] };
  }
  if (any.intValue !== undefined) {
    if (typeof any.intValue === 'string' && CANONICAL_SAFE_INT.test(any.intValue)) {
      return { plain: Number(any.intValue), canon: ['i', any.intValue] };
    }
    const int = bigInteger(any.intValue, `${path}/intValue`, INT64_MIN, INT64_MAX);
    // JSON numbers are doubles (payloads are read with JSON.parse): past 2^53 the exact value stays a string.
    const asNumber = Number(int);
    return { plain: Number.isSafeInteger(asNumber) ? asNumber : int.toString(), canon: ['i', int.toString()] };
  }
  if (any.doubleValue !== undefined) {
    const value = double(any.doubleValue, `${path}/doubleValue`);
    return { plain: value, canon: ['d', value] };
  }
  if (any.bytesValue !== undefined) {
    const bytes = optionalString(any.bytesValue, path, 'bytesValue') as string;
    return { plain: bytes, canon: ['y', bytes] };
  }
  if (any.arrayValue !== undefined) {
    const values = list(object(any.arrayValue, `${path}/arrayValue`).values, `${path}/arrayValue/values`).map((item, i) =>
      decodeAnyValue(item, `${path}/arrayValue/values/${i}`, depth + 1),
    );
    return { plain: values.map((v) => v.plain), canon: ['a', values.map((v) => v.canon)] };
  }
  if (any.kvlistValue !== undefined) {
    const kv = decodeAttributes(object(any.kvlistValue, `${path}/kvlistValue`).values, `${path}/kvlistValue/values`, depth + 1);
    return { plain: kv.plain, canon: ['k', kv.canon] };
  }
  return { plain: null, canon: ['n'] };
}

/** A KeyValue list as an object (a repeated key: the last wins in `plain`; `canon` keeps both). */
function decodeAttributes(value: unknown, path: string, depth = 1): Attributes {
  const plain: Record<string, unknown> = {};
  const canon: Array<[string, unknown]> = [];
  const items = list(value, path);
  // Paths are joined only for an error (or a nested value): most attributes are a string key and a string value.
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const kv = isObject(item) ? item : object(item, `${path}/${i}`);
    const key = typeof kv.key === 'string' ? kv.key : (optionalString(kv.key, `${path}/${i}/key`) ?? '');
    const raw = kv.value;
    let decoded: Decoded;
    if (raw === undefined || raw === null) decoded = { plain: null, canon: ['n'] };
    // What decodeAnyValue makes of a string value (it reads stringValue first), without the path it would carry.
    else if (depth + 1 <= MAX_VALUE_DEPTH && isObject(raw) && typeof raw.stringValue === 'string')
      decoded = { plain: raw.stringValue, canon: ['s', raw.stringValue] };
    else decoded = decodeAnyValue(raw, `${path}/${i}/value`, depth + 1);
    // defineProperty, not assignment, for "__proto__": that attribute is data, not the object's prototype.
    if (key === '__proto__')
      Object.defineProperty(plain, key, { value: decoded.plain, enumerable: true, writable: true, configurable: true });
    else plain[key] = decoded.plain;
    canon.push([key, decoded.canon]);
  }
  canon.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { plain, canon };
}

function decodeRecord(value: unknown, path: string, resource: Attributes, scope: DecodedScope): DecodedRecord {
  const record = object(value, path);
  return {
    path,
    resource,
    scope,
    timeUnixNano: nanos(record.timeUnixNano, path, 'timeUnixNano'),
    observedTimeUnixNano: nanos(record.observedTimeUnixNano, path, 'observedTimeUnixNano'),
    severityNumber: severityNumber(record.severityNumber, path, 'severityNumber'),
    severityText: optionalString(record.severityText, path, 'severityText'),
    body: record.body === undefined || record.body === null ? undefined : decodeAnyValue(record.body, `${path}/body`, 1),
    attributes: decodeAttributes(record.attributes, `${path}/attributes`),
    traceId: optionalString(record.traceId, path, 'traceId') || undefined,
    spanId: optionalString(record.spanId, path, 'spanId') || undefined,
    flags: optionalInt32(record.flags, path, 0, 2 ** 32 - 1, 'flags'),
    eventName: optionalString(record.eventName, path, 'eventName') || undefined,
  };
}

/** Runs a decode step; a too-deep value becomes the rejection of the records that hold it. */
function orTooDeep<T>(decode: () => T): T | RejectedRecord {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ValueTooDeepError) return { path: err.path, reason: err.message };
    throw err;
  }
}

const isRejected = (value: object): value is RejectedRecord => 'reason' in value;

/**
 * Reads an OTLP/JSON ExportLogsServiceRequest (field names in lowerCamelCase; unknown fields ignored, as the
 * OTLP spec asks) into flat records, in request order. Throws OtlpDecodeError on a wrong type anywhere and
 * TooManyRecordsError past maxRecords; a record holding a value nested too deep comes back rejected.
 */
export function decodeLogsRequest(body: unknown, maxRecords: number): Array<DecodedRecord | RejectedRecord> {
  const records: Array<DecodedRecord | RejectedRecord> = [];
  list(object(body, '').resourceLogs, '/resourceLogs').forEach((rl, r) => {
    const resourceLogs = object(rl, `/resourceLogs/${r}`);
    const resourcePath = `/resourceLogs/${r}/resource`;
    const resource =
      resourceLogs.resource === undefined || resourceLogs.resource === null ? {} : object(resourceLogs.resource, resourcePath);
    const resourceAttributes = orTooDeep(() => decodeAttributes(resource.attributes, `${resourcePath}/attributes`));
    list(resourceLogs.scopeLogs, `/resourceLogs/${r}/scopeLogs`).forEach((sl, s) => {
      const scopeLogsPath = `/resourceLogs/${r}/scopeLogs/${s}`;
      const scopeLogs = object(sl, scopeLogsPath);
      const rawScope = scopeLogs.scope === undefined || scopeLogs.scope === null ? {} : object(scopeLogs.scope, `${scopeLogsPath}/scope`);
      const name = optionalString(rawScope.name, `${scopeLogsPath}/scope/name`) ?? '';
      const version = optionalString(rawScope.version, `${scopeLogsPath}/scope/version`) ?? '';
      const scopeAttributes = orTooDeep(() => decodeAttributes(rawScope.attributes, `${scopeLogsPath}/scope/attributes`));
      list(scopeLogs.logRecords, `${scopeLogsPath}/logRecords`).forEach((lr, l) => {
        if (records.length === maxRecords) throw new TooManyRecordsError(maxRecords);
        const path = `${scopeLogsPath}/logRecords/${l}`;
        if (isRejected(resourceAttributes)) records.push(resourceAttributes);
        else if (isRejected(scopeAttributes)) records.push(scopeAttributes);
        else records.push(orTooDeep(() => decodeRecord(lr, path, resourceAttributes, { name, version, attributes: scopeAttributes })));
      });
    });
  });
  return records;
}
