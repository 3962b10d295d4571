import { MAX_PAYLOAD_DEPTH } from '../../schema/validate.js';
import type { Attributes, Decoded, DecodedRecord, DecodedScope } from './decode.js';

// A decoded protobufjs ExportLogsServiceRequest straight into decode.ts's DecodedRecords, without the OTLP/JSON
// objects that proto.ts's messageToJson builds and decode.ts re-walks (most of the CPU and garbage of a protobuf
// request). It must give exactly what decodeLogsRequest(messageToJson(message)) gives: the same precedence among
// AnyValue fields, proto3's "absent" as an own property that protobufjs did not set, the same texts. protobufjs has
// already checked every type, so nothing here can fail but a value nested too deep; that, rare, is left to the
// JSON-shaped path (it names the path of the too-deep value): this returns undefined and the caller falls back.

type Message = Record<string, unknown>;

const MAX_VALUE_DEPTH = MAX_PAYLOAD_DEPTH + 1;

class TooDeep extends Error {}

const own = (message: Message, key: string): boolean => Object.hasOwn(message, key) && message[key] != null;
const items = (message: Message, key: string): Message[] => (message[key] as Message[] | undefined) ?? [];

function anyValue(any: Message, depth: number, longText: (value: unknown) => string): Decoded {
  if (depth > MAX_VALUE_DEPTH) throw new TooDeep();
  if (own(any, 'stringValue')) return { plain: any.stringValue, canon: ['s', any.stringValue] };
  if (own(any, 'boolValue')) return { plain: any.boolValue, canon: ['b', any.boolValue] };
  if (own(any, 'intValue')) {
    const text = longText(any.intValue);
    // As decode.ts: a safe integer is a JSON number in the payload; past 2^53 it stays the exact decimal text.
    const asNumber = Number(text);
    return { plain: Number.isSafeInteger(asNumber) ? asNumber : text, canon: ['i', text] };
  }
  if (own(any, 'doubleValue')) {
    const value = any.doubleValue as number;
    const plain = Number.isFinite(value) ? value : String(value);
    return { plain, canon: ['d', plain] };
  }
  if (own(any, 'bytesValue')) {
    const bytes = Buffer.from(any.bytesValue as Uint8Array).toString('base64');
    return { plain: bytes, canon: ['y', bytes] };
  }
  if (own(any, 'arrayValue')) {
    const values = items(any.arrayValue as Message, 'values').map((item) => anyValue(item, depth + 1, longText));
    return { plain: values.map((v) => v.plain), canon: ['a', values.map((v) => v.canon)] };
  }
  if (own(any, 'kvlistValue')) {
    const kv = attributes(items(any.kvlistValue as Message, 'values'), depth + 1, longText);
    return { plain: kv.plain, canon: ['k', kv.canon] };
  }
  return { plain: null, canon: ['n'] };
}

function attributes(list: Message[], depth: number, longText: (value: unknown) => string): Attributes {
  const plain: Record<string, unknown> = {};
  const canon: Array<[string, unknown]> = [];
  for (const kv of list) {
    const key = own(kv, 'key') ? (kv.key as string) : '';
    const decoded: Decoded = own(kv, 'value') ? anyValue(kv.value as Message, depth + 1, longText) : { plain: null, canon: ['n'] };
    // defineProperty, not assignment, for "__proto__": that attribute is data, not the object's prototype.
    if (key === '__proto__')
      Object.defineProperty(plain, key, { value: decoded.plain, enumerable: true, writable: true, configurable: true });
    else plain[key] = decoded.plain;
    canon.push([key, decoded.canon]);
  }
  canon.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { plain, canon };
}

const text = (message: Message, key: string): string | undefined => (own(message, key) ? (message[key] as string) : undefined);
const hex = (message: Message, key: string): string | undefined =>
  own(message, key) ? Buffer.from(message[key] as Uint8Array).toString('hex') || undefined : undefined;

/**
 * The records of a decoded ExportLogsServiceRequest, in request order, as decodeLogsRequest reads them from
 * OTLP/JSON; undefined when a value is nested too deep (the caller then takes the JSON-shaped path). The record
 * count was checked on the wire before decoding. `longText` writes a protobufjs 64-bit integer as decimal.
 */
export function recordsOfMessage(request: Message, longText: (value: unknown) => string): DecodedRecord[] | undefined {
  const records: DecodedRecord[] = [];
  try {
    items(request, 'resourceLogs').forEach((resourceLogs, r) => {
      const rawResource = own(resourceLogs, 'resource') ? (resourceLogs.resource as Message) : {};
      const resource = attributes(items(rawResource, 'attributes'), 1, longText);
      items(resourceLogs, 'scopeLogs').forEach((scopeLogs, s) => {
        const rawScope = own(scopeLogs, 'scope') ? (scopeLogs.scope as Message) : {};
        const scope: DecodedScope = {
          name: text(rawScope, 'name') ?? '',
          version: text(rawScope, 'version') ?? '',
          attributes: attributes(items(rawScope, 'attributes'), 1, longText),
        };
        items(scopeLogs, 'logRecords').forEach((record, l) => {
          records.push({
            path: `/resourceLogs/${r}/scopeLogs/${s}/logRecords/${l}`,
            resource,
            scope,
            timeUnixNano: own(record, 'timeUnixNano') ? longText(record.timeUnixNano) : '0',
            observedTimeUnixNano: own(record, 'observedTimeUnixNano') ? longText(record.observedTimeUnixNano) : '0',
            severityNumber: own(record, 'severityNumber') ? (record.severityNumber as number) : undefined,
            severityText: text(record, 'severityText'),
            body: own(record, 'body') ? anyValue(record.body as Message, 1, longText) : undefined,
            attributes: attributes(items(record, 'attributes'), 1, longText),
            traceId: hex(record, 'traceId'),
            spanId: hex(record, 'spanId'),
            flags: own(record, 'flags') ? (record.flags as number) : undefined,
            eventName: text(record, 'eventName') || undefined,
          });
        });
      });
    });
  } catch (err) {
    if (err instanceof TooDeep) return undefined;
    throw err;
  }
  return records;
}
