import { MAX_PAYLOAD_DEPTH } from '../../schema/validate.js';
import type { Event } from '../../schema/event.js';
import { MAX_NAME_LENGTH, TIMESTAMP_PATTERN } from '../../schema/event.js';
import { sha256Hex } from '../derive.js';
import type { ItemError } from './decode.js';

/** Source when the document names no host or agent (docs/integrations.md). */
export const DEFAULT_ES_SOURCE = 'elasticsearch';
/** Names the canonical encoding the derived `_id` hashes; a change of encoding gets a new tag, never a silent change. */
const ID_ENCODING = 'logagg-es-doc-v1';

/**
 * A JSON value with object keys sorted at every level, so equal documents serialize equally whatever their key
 * order. Below MAX_PAYLOAD_DEPTH it stops (such a document is refused by the event schema anyway): a nesting bomb
 * must not overflow the stack here first.
 */
function canonical(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_PAYLOAD_DEPTH) return null;
  if (Array.isArray(value)) return value.map((item) => canonical(item, depth + 1));
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = canonical((value as Record<string, unknown>)[key], depth + 1);
  return sorted;
}

/**
 * The `_id` of a document sent without one: sha256 (hex) of the index and the key-sorted document. Elasticsearch
 * would make up a random id, so a shipper's retry would be stored twice; this one is the same on every retry. The
 * price: two identical documents in one index (same fields, same @timestamp) are one event (docs/integrations.md).
 */
export function derivedId(index: string, document: Record<string, unknown>): string {
  return sha256Hex(JSON.stringify([ID_ENCODING, index, canonical(document)]));
}

// Elasticsearch's default date format is strict_date_optional_time||epoch_millis: a date alone, a time without a
// zone (read as UTC), or milliseconds since the epoch.
const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;
const NO_ZONE = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?$/;
const RFC_3339 = new RegExp(TIMESTAMP_PATTERN);
const MINUTES_ONLY = /^(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d)([Zz+-].*)$/;

/** The event time of a document: `@timestamp`, else `timestamp`, else undefined (the receive time is used). */
function documentTime(document: Record<string, unknown>): { field: string; value: unknown } | undefined {
  if (document['@timestamp'] !== undefined) return { field: '@timestamp', value: document['@timestamp'] };
  if (document.timestamp !== undefined) return { field: 'timestamp', value: document.timestamp };
  return undefined;
}

/** RFC 3339 text for a date Elasticsearch would read; undefined when it would refuse it. */
function toTimestamp(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  if (typeof value !== 'string') return undefined;
  if (DATE_ONLY.test(value)) return `${value}T00:00:00Z`;
  if (NO_ZONE.test(value)) return `${value.length === 16 ? `${value}:00` : value}Z`;
  const minutes = MINUTES_ONLY.exec(value);
  if (minutes) return `${minutes[1] ?? ''}:00${minutes[2] ?? ''}`;
  // The event schema checks the calendar and the store's range after; this only sorts out what is not a date.
  return RFC_3339.test(value) ? value : undefined;
}

function nonEmptyName(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH ? value : undefined;
}

/** `a.b` from an ECS document, nested (`{"a": {"b": …}}`) or dotted (`{"a.b": …}`), as Elasticsearch maps both. */
function field(document: Record<string, unknown>, outer: string, inner: string): unknown {
  const nested = document[outer];
  if (typeof nested === 'object' && nested !== null && !Array.isArray(nested)) {
    const value = (nested as Record<string, unknown>)[inner];
    if (value !== undefined) return value;
  }
  return document[`${outer}.${inner}`];
}

/**
 * The emitting host or agent: ECS `host.name` (Beats, Elastic Agent, OTel-to-ECS), else a string `host`
 * (Logstash, rsyslog templates, Fluent Bit with a host key), else `agent.name`, else `service.name`, else
 * "elasticsearch". A value that could not be a source (empty, longer than 255) is passed over, not refused: the
 * whole document is kept in the payload anyway.
 */
function sourceOf(document: Record<string, unknown>): string {
  return (
    nonEmptyName(field(document, 'host', 'name')) ??
    nonEmptyName(document.host) ??
    nonEmptyName(field(document, 'agent', 'name')) ??
    nonEmptyName(field(document, 'service', 'name')) ??
    DEFAULT_ES_SOURCE
  );
}

/**
 * One document as an event (docs/integrations.md has the table): the index is the topic, `_id` (or the derived id)
 * the event_id, the whole document the payload. Returns an item error for a date Elasticsearch would refuse; the
 * event schema is checked after (src/schema/validate.ts), like every inlet's.
 */
export function documentToEvent(index: string, id: string, document: Record<string, unknown>, receivedAt: string): Event | ItemError {
  const time = documentTime(document);
  let timestamp = receivedAt;
  if (time) {
    const parsed = toTimestamp(time.value);
    if (parsed === undefined) {
      return { status: 400, type: 'document_parsing_exception', reason: `failed to parse field [${time.field}] of type [date]` };
    }
    timestamp = parsed;
  }
  return { topic: index, event_id: id, timestamp, source: sourceOf(document), payload: document };
}
