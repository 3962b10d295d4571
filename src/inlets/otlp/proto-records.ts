import type { Attributes, DecodedRecord, DecodedScope, RejectedRecord } from './decode.js';
import { tooDeepReason, TooManyRecordsError } from './decode.js';
import { anyValue, AttributeList, Deep, keyValue, merged, RECURSION_LIMIT, type Value } from './proto-values.js';
import { LEN, uint64Text, VARINT, WireReader } from './wire.js';

// An ExportLogsServiceRequest in protobuf, read in one pass straight into the records decode.ts makes of OTLP/JSON:
// no message objects in between (docs/architecture.md, "OTLP/protobuf: a hand-written wire reader"). It gives what
// protobufjs 8's decoding followed by the OTLP/JSON reading gives, records, values, rejections and their paths
// (test/otlp/proto-records.test.ts checks it against them), so a record has one event_id in either encoding. Field
// numbers are those of the vendored .proto files (./proto); proto3 semantics: a singular field sent twice keeps
// the last value (a zero or empty one clears it), a message field sent twice merges, a wrong wire type is skipped.

const tag = (field: number, wire: number): number => (field << 3) | wire;
// LogRecord's fields as tags (field number and wire type), constants so its switch compiles to a jump table.
const TIME = 0x09; // 1, fixed64
const SEVERITY_NUMBER = 0x10; // 2, varint
const SEVERITY_TEXT = 0x1a; // 3, length-delimited
const BODY = 0x2a; // 5
const ATTRIBUTES = 0x32; // 6
const DROPPED = 0x38; // 7, varint
const FLAGS = 0x45; // 8, fixed32
const TRACE_ID = 0x4a; // 9
const SPAN_ID = 0x52; // 10
const OBSERVED_TIME = 0x59; // 11, fixed64
const EVENT_NAME = 0x62; // 12

const EMPTY: Attributes = { plain: {}, canon: [] };
const NO_SCOPE: DecodedScope = { name: '', version: '', attributes: EMPTY };

/** The records decoded so far, in request order, and the cap on their number. */
interface Output {
  records: Array<DecodedRecord | RejectedRecord>;
  max: number;
}

const isRecord = (item: DecodedRecord | RejectedRecord): item is DecodedRecord => !('reason' in item);
const rejection = (path: string): RejectedRecord => ({ path, reason: tooDeepReason(path) });

/**
 * The records of an ExportLogsServiceRequest in protobuf, in request order; a record holding a value nested too
 * deep comes back rejected, naming the value's path as decode.ts does. Throws ProtobufDecodeError when the bytes
 * are not such a request and TooManyRecordsError past `maxRecords`, counted as the records are met, before any is
 * decoded past the cap.
 */
export function decodeProtobufLogs(bytes: Uint8Array, maxRecords: number): Array<DecodedRecord | RejectedRecord> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new WireReader(buf, RECURSION_LIMIT);
  const out: Output = { records: [], max: maxRecords };
  const end = buf.length;
  let index = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === tag(1, LEN)) resourceLogs(r, r.delimited(end), 1, `/resourceLogs/${index++}`, out);
    else r.skip(t & 7, t >>> 3, end, 0);
  }
  return out.records;
}

/** Resource and EntityRef contents logagg does not keep are still read, so what protobufjs refuses is refused. */
function resourceLogs(r: WireReader, end: number, depth: number, path: string, out: Output): void {
  r.enter(depth);
  const first = out.records.length;
  const list = new AttributeList();
  let scopes = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === tag(1, LEN)) resource(r, r.delimited(end), depth + 1, list);
    else if (t === tag(2, LEN)) scopeLogs(r, r.delimited(end), depth + 1, `${path}/scopeLogs/${scopes++}`, out);
    else if (t === tag(3, LEN))
      r.string(end); // schema_url
    else r.skip(t & 7, t >>> 3, end, depth);
  }
  const attributes = list.finish();
  const { records } = out;
  for (let i = first; i < records.length; i++) {
    const record = records[i] as DecodedRecord | RejectedRecord;
    // As decode.ts: the resource's rejection first, then the scope's, then the record's own.
    if (attributes instanceof Deep) records[i] = rejection(`${path}/resource/attributes${attributes.suffix}`);
    else if (isRecord(record)) record.resource = attributes;
  }
}

function resource(r: WireReader, end: number, depth: number, list: AttributeList): void {
  r.enter(depth);
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === tag(1, LEN)) keyValue(r, r.delimited(end), depth + 1, 1, list);
    else if (t === tag(2, VARINT))
      r.uint32(end); // dropped_attributes_count
    else if (t === tag(3, LEN)) entityRef(r, r.delimited(end), depth + 1);
    else r.skip(t & 7, t >>> 3, end, depth);
  }
}

function entityRef(r: WireReader, end: number, depth: number): void {
  r.enter(depth);
  while (r.pos < end) {
    const t = r.tag(end);
    // schema_url, type, id_keys, description_keys: all strings.
    if ((t & 7) === LEN && t >>> 3 >= 1 && t >>> 3 <= 4) r.string(end);
    else r.skip(t & 7, t >>> 3, end, depth);
  }
}

function scopeLogs(r: WireReader, end: number, depth: number, path: string, out: Output): void {
  r.enter(depth);
  const first = out.records.length;
  let name = '';
  let version = '';
  const list = new AttributeList();
  let index = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === tag(1, LEN)) {
      // InstrumentationScope, merged field by field when sent twice.
      const stop = r.delimited(end);
      r.enter(depth + 1);
      while (r.pos < stop) {
        const s = r.tag(stop);
        if (s === tag(1, LEN)) name = r.string(stop);
        else if (s === tag(2, LEN)) version = r.string(stop);
        else if (s === tag(3, LEN)) keyValue(r, r.delimited(stop), depth + 2, 1, list);
        else if (s === tag(4, VARINT))
          r.uint32(stop); // dropped_attributes_count
        else r.skip(s & 7, s >>> 3, stop, depth + 1);
      }
    } else if (t === tag(2, LEN)) {
      if (out.records.length === out.max) throw new TooManyRecordsError(out.max);
      out.records.push(logRecord(r, r.delimited(end), depth + 1, `${path}/logRecords/${index++}`));
    } else if (t === tag(3, LEN))
      r.string(end); // schema_url
    else r.skip(t & 7, t >>> 3, end, depth);
  }
  const attributes = list.finish();
  const scope: DecodedScope = attributes instanceof Deep ? NO_SCOPE : { name, version, attributes };
  const { records } = out;
  for (let i = first; i < records.length; i++) {
    const record = records[i] as DecodedRecord | RejectedRecord;
    if (attributes instanceof Deep) records[i] = rejection(`${path}/scope/attributes${attributes.suffix}`);
    else if (isRecord(record)) record.scope = scope;
  }
}

/** A bytes field as OTLP/JSON writes trace and span ids: hex, not base64; empty is absent. */
function hex(r: WireReader, end: number): string | undefined {
  const start = r.bytes(end);
  return r.buf.toString('hex', start, r.pos) || undefined;
}

function logRecord(r: WireReader, end: number, depth: number, path: string): DecodedRecord | RejectedRecord {
  r.enter(depth);
  let timeUnixNano = '0';
  let observedTimeUnixNano = '0';
  let severityNumber: number | undefined;
  let severityText: string | undefined;
  let body: Value | undefined;
  let bodies: Array<[number, number]> | undefined;
  const list = new AttributeList();
  let flags: number | undefined;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let eventName: string | undefined;
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t) {
      case TIME:
        r.fixed64(end);
        timeUnixNano = uint64Text(r.low, r.high);
        continue;
      case OBSERVED_TIME:
        r.fixed64(end);
        observedTimeUnixNano = uint64Text(r.low, r.high);
        continue;
      case SEVERITY_NUMBER:
        severityNumber = r.uint32(end) | 0 || undefined;
        continue;
      case SEVERITY_TEXT:
        severityText = r.string(end) || undefined;
        continue;
      case BODY: {
        const stop = r.delimited(end);
        const start = r.pos;
        if (bodies === undefined) body = anyValue(r, stop, depth + 1, 1);
        else r.pos = stop;
        (bodies ??= []).push([start, stop]);
        continue;
      }
      case ATTRIBUTES:
        keyValue(r, r.delimited(end), depth + 1, 1, list);
        continue;
      case DROPPED:
        r.uint32(end); // dropped_attributes_count
        continue;
      case FLAGS:
        flags = r.fixed32(end) || undefined;
        continue;
      case TRACE_ID:
        traceId = hex(r, end);
        continue;
      case SPAN_ID:
        spanId = hex(r, end);
        continue;
      case EVENT_NAME:
        eventName = r.string(end) || undefined;
        continue;
      default:
        r.skip(t & 7, t >>> 3, end, depth);
    }
  }
  if (bodies !== undefined && bodies.length > 1) body = merged(r, bodies, (m, stop) => anyValue(m, stop, depth + 1, 1));
  // As decode.ts reads a record: the body before the attributes.
  if (body instanceof Deep) return rejection(`${path}/body${body.suffix}`);
  const attributes = list.finish();
  if (attributes instanceof Deep) return rejection(`${path}/attributes${attributes.suffix}`);
  return {
    path,
    resource: EMPTY,
    scope: NO_SCOPE,
    timeUnixNano,
    observedTimeUnixNano,
    severityNumber,
    severityText,
    body,
    attributes,
    traceId,
    spanId,
    flags,
    eventName,
  };
}
