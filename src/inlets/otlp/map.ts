import type { Event } from '../../schema/event.js';
import { nanosToTimestamp, sha256Hex } from '../derive.js';
import type { Attributes, DecodedRecord } from './decode.js';

/** Topic when neither `logagg.topic` nor `service.name` is set (docs/integrations.md). */
const DEFAULT_OTLP_TOPIC = 'otlp';
/** Source when neither `service.name` nor `host.name` is set. */
const DEFAULT_OTLP_SOURCE = 'otlp';
/** Names the canonical encoding that event_id hashes; a change of encoding gets a new tag, never a silent change. */
const EVENT_ID_ENCODING = 'logagg-otlp-log-v1';
const ENCODING_JSON = JSON.stringify(EVENT_ID_ENCODING);

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

/**
 * What map.ts reads of a resource, worked out once per ResourceLogs: every record of it shares the same
 * Attributes object (decode.ts), and a batch usually has one resource for all its records.
 */
interface ResourceFacts {
  /** JSON of the resource's canon, the second element of the identity that event_id hashes. */
  canonJson: string;
  /** Whether logagg.topic is set at all, and its text when it is a string. */
  hasTopic: boolean;
  topic: string | undefined;
  serviceName: string | undefined;
  hostName: string | undefined;
}

const resourceFacts = new WeakMap<Attributes, ResourceFacts>();

function factsOf(resource: Attributes): ResourceFacts {
  let facts = resourceFacts.get(resource);
  if (facts === undefined) {
    facts = {
      canonJson: JSON.stringify(resource.canon),
      hasTopic: resource.canon.some(([name]) => name === TOPIC_KEY),
      topic: stringAttribute(resource, TOPIC_KEY),
      serviceName: stringAttribute(resource, 'service.name'),
      hostName: stringAttribute(resource, 'host.name'),
    };
    resourceFacts.set(resource, facts);
  }
  return facts;
}

/**
 * sha256 (hex) of a canonical encoding of what identifies a record: resource attributes, scope name, both
 * times, severity, body, attributes, trace and span id, event name. Typed and key-sorted (decode.ts), so a
 * re-encoding of the same record by another exporter (an int as "5" or 5, attributes in another order) hashes
 * the same, and a retry of the same bytes always does.
 */
function recordHash(record: DecodedRecord, resourceCanonJson: string): string {
  // The JSON of the array [EVENT_ID_ENCODING, resource canon, scope name, ...], built element by element (JSON
  // of an array is its elements' JSON joined by commas) so the resource's part is serialized once per resource.
  // The text, and so every event_id, is byte for byte what JSON.stringify of the whole array gives.
  const identity =
    `[${ENCODING_JSON},${resourceCanonJson},${JSON.stringify(record.scope.name)},` +
    `${JSON.stringify(record.timeUnixNano)},${JSON.stringify(record.observedTimeUnixNano)},` +
    `${JSON.stringify(record.severityNumber ?? 0)},${JSON.stringify(record.severityText ?? '')},` +
    `${JSON.stringify(record.body?.canon ?? null)},${JSON.stringify(record.attributes.canon)},` +
    `${JSON.stringify(record.traceId?.toLowerCase() ?? '')},${JSON.stringify(record.spanId?.toLowerCase() ?? '')},` +
    `${JSON.stringify(record.eventName ?? '')}]`;
  return sha256Hex(identity);
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
  const resource = factsOf(record.resource);
  let topic = explicitString(record.attributes, TOPIC_KEY);
  if (topic === undefined && resource.hasTopic) {
    if (resource.topic === undefined) throw new RecordRejection(`attribute ${TOPIC_KEY} must be a string`);
    topic = resource.topic;
  }
  topic ??= resource.serviceName ?? DEFAULT_OTLP_TOPIC;
  const eventId = explicitString(record.attributes, UID_KEY) ?? recordHash(record, resource.canonJson);
  const source = resource.serviceName ?? resource.hostName ?? DEFAULT_OTLP_SOURCE;
  const timestamp =
    record.timeUnixNano !== '0'
      ? nanosToTimestamp(record.timeUnixNano, 9)
      : record.observedTimeUnixNano !== '0'
        ? nanosToTimestamp(record.observedTimeUnixNano, 9)
        : new Date(receivedAt).toISOString();
  return { topic, event_id: eventId, timestamp, source, payload: payloadOf(record) };
}
