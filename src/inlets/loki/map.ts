import type { Event } from '../../schema/event.js';
import { nanosToTimestamp, sha256Hex } from '../derive.js';
import type { PushEntry, PushStream } from './decode.js';

/** Which stream labels name an event's topic and source: the first of each list that the stream has. */
export interface LokiMapping {
  topicLabels: readonly string[];
  sourceLabels: readonly string[];
}

/** Topic and source when a stream has none of the labels listed (docs/integrations.md). */
export const DEFAULT_LOKI_TOPIC = 'loki';
export const DEFAULT_LOKI_SOURCE = 'loki';
/** Names the encoding event_id hashes; a change of encoding gets a new tag, never a silent change of ids. */
const EVENT_ID_ENCODING = 'logagg-loki-entry-v1';

/** RFC 3339 in UTC to the microsecond (what the store keeps) of a canonical nanosecond time (decode.ts). */
export const lokiTimestamp = (tsNs: string): string => nanosToTimestamp(tsNs, 6);

function firstPresent(labels: ReadonlyMap<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = labels.get(name);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/**
 * A push's entries as events, in request order. event_id is the sha256 of (sorted labels, nanosecond time, line):
 * a shipper's retry of the same entry is a duplicate, and so is the same entry sent in the other encoding;
 * structured metadata is kept but is not part of the identity (Loki's own duplicate rule is stream, time, line).
 */
export function streamsToEvents(streams: readonly PushStream[], mapping: LokiMapping): Event[] {
  const events: Event[] = [];
  for (const stream of streams) {
    const byName = new Map(stream.labels);
    const topic = firstPresent(byName, mapping.topicLabels) ?? DEFAULT_LOKI_TOPIC;
    const source = firstPresent(byName, mapping.sourceLabels) ?? DEFAULT_LOKI_SOURCE;
    // JSON cannot hold a raw U+0000, and the time is digits only: the separators below make the encoding unambiguous.
    const identity = `${EVENT_ID_ENCODING}\u0000${JSON.stringify(stream.labels)}\u0000`;
    // fromEntries, not assignment: a label named __proto__ stays a plain key.
    const labels = Object.fromEntries(stream.labels);
    for (const entry of stream.entries) events.push(entryEvent(entry, identity, topic, source, labels));
  }
  return events;
}

function entryEvent(entry: PushEntry, identity: string, topic: string, source: string, labels: Record<string, string>): Event {
  const eventId = sha256Hex(`${identity}${entry.tsNs}\u0000${entry.line}`);
  const payload: Record<string, unknown> = { line: entry.line, labels, ts_ns: entry.tsNs };
  if (entry.metadata !== undefined) payload.structured_metadata = Object.fromEntries(entry.metadata);
  return { topic, event_id: eventId, timestamp: lokiTimestamp(entry.tsNs), source, payload };
}
