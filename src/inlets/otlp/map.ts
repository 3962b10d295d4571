import { createHash } from 'node:crypto';
import type { Event } from '../../schema/event.js';
import type { Attributes, DecodedRecord } from './decode.js';

/** Topic when neither `logagg.topic` nor `service.name` is set (docs/integrations.md). */
const DEFAULT_OTLP_TOPIC = 'otlp';
/** Source when neither `service.name` nor `host.name` is set. */
const DEFAULT_OTLP_SOURCE = 'otlp';
/** Names the canonical encoding that event_id hashes; a change of encoding gets a new tag, never a silent change. */
const EVENT_ID_ENCODING = 'logagg-otlp-log-v1';

const TOPIC_KEY = 'logagg.topic';
const UID_KEY = 'log.record.uid';

/** Why a record cannot become an event. */
export class RecordRejection extends Error {}

/** The attribute's text when it is a string value; undefined when absent or of another type. */
function stringAttribute(attributes: Attributes, key: string): string | undefined {
  const value = attributes.canon.find(([name]) => name === key)?.[1];
  return Array.isArray(value) && value[0] === 's' ? (value[1] as string) : undefined;
}

/** An attribute the sender set on purpose (logagg.topic, log.record.uid) must be a string, or the record is refused. */
function explicitString(attributes: Attributes, key: string): string | undefined {
  if (!attributes.canon.some(([name]) => name === key)) return undefined;
  const text = stringAttribute(attributes, key);
  if (text === undefined) throw new RecordRejection(`attribute ${key} must be a string`);
  return text;
}

/** RFC 3339 in UTC with all nine digits of the nanoseconds (the store keeps microseconds; the payload keeps all). */
function nanosToTimestamp(nanos: string): string {
  const ns = BigInt(nanos);
  const seconds = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  return `${seconds}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/**
 * sha256 (hex) of a canonical encoding of what identifies a record: resource attributes, scope name, both
 * times, severity, body, attributes, trace and span id, event name. Typed and key-sorted (decode.ts), so a
 * re-encoding of the same record by another exporter (an int as "5" or 5, attributes in another order) hashes
 * the same, and a retry of the same bytes always does.
 */
function recordHash(record: DecodedRecord): string {
  const identity = [
    EVENT_ID_ENCODING,
    record.resource.canon,
    record.scope.name,
    record.timeUnixNano,
    record.observedTimeUnixNano,
    record.severityNumber ?? 0,
    record.severityText ?? '',
    record.body?.canon ?? null,
    record.attributes.canon,
    record.traceId?.toLowerCase() ?? '',
    record.spanId?.toLowerCase() ?? '',
    record.eventName ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

function isEmpty(object: Record<string, unknown>): boolean {
  return Object.keys(object).length === 0;
}

/**
 * What the payload keeps of the record: all of it, in snake_case. Absent fields are left out, and so are the ones
 * proto3 cannot tell from absent: an empty scope name or version, no attributes, a time of "0" (docs/integrations.md).
 */
function payloadOf(record: DecodedRecord): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  if (record.body !== undefined) payload.body = record.body.plain;
  if (record.severityNumber !== undefined) payload.severity_number = record.severityNumber;
  if (record.severityText !== undefined) payload.severity_text = record.severityText;
  if (!isEmpty(record.attributes.plain)) payload.attributes = record.attributes.plain;
  if (record.eventName !== undefined) payload.event_name = record.eventName;
  if (record.traceId !== undefined) payload.trace_id = record.traceId;
  if (record.spanId !== undefined) payload.span_id = record.spanId;
  if (record.flags !== undefined) payload.flags = record.flags;
  if (record.timeUnixNano !== '0') payload.time_unix_nano = record.timeUnixNano;
  if (record.observedTimeUnixNano !== '0') payload.observed_time_unix_nano = record.observedTimeUnixNano;
  if (!isEmpty(record.resource.plain)) payload.resource = { attributes: record.resource.plain };
  const scope: Record<string, unknown> = {};
  if (record.scope.name !== '') scope.name = record.scope.name;
  if (record.scope.version !== '') scope.version = record.scope.version;
  if (!isEmpty(record.scope.attributes.plain)) scope.attributes = record.scope.attributes.plain;
  if (!isEmpty(scope)) payload.scope = scope;
  return payload;
}

/**
 * One OTLP log record as a logagg event (docs/integrations.md has the table). `receivedAt` (ms) is the
 * timestamp of a record that carries neither time. Throws RecordRejection; the schema check comes after.
 */
export function recordToEvent(record: DecodedRecord, receivedAt: number): Event {
  const topic =
    explicitString(record.attributes, TOPIC_KEY) ??
    explicitString(record.resource, TOPIC_KEY) ??
    stringAttribute(record.resource, 'service.name') ??
    DEFAULT_OTLP_TOPIC;
  const eventId = explicitString(record.attributes, UID_KEY) ?? recordHash(record);
  const source = stringAttribute(record.resource, 'service.name') ?? stringAttribute(record.resource, 'host.name') ?? DEFAULT_OTLP_SOURCE;
  const timestamp =
    record.timeUnixNano !== '0'
      ? nanosToTimestamp(record.timeUnixNano)
      : record.observedTimeUnixNano !== '0'
        ? nanosToTimestamp(record.observedTimeUnixNano)
        : new Date(receivedAt).toISOString();
  return { topic, event_id: eventId, timestamp, source, payload: payloadOf(record) };
}
