import { hostname } from 'node:os';
import { createEvent } from '../client/index.js';
import type { Event } from '../schema/event.js';

/** How log lines become events; the options of `logagg/pino` that decide it. */
export interface LineMapping {
  /** Topic of every line (unless topicKey names a field that a line fills). */
  topic: string;
  /** A line field holding its own topic, e.g. "topic"; off by default, so an app's own `topic` field is just data. */
  topicKey?: string;
  /** Source of every line; default: the line's `hostname`, else this machine's. */
  source?: string;
}

// Epoch values below this are seconds (pino.stdTimeFunctions.unixTime), above it milliseconds (the default):
// 1e11 ms is March 1973, 1e11 s is the year 5138.
const SECONDS_BELOW = 1e11;

/** The line's `time` as an RFC 3339 UTC timestamp: epoch ms or s, or a date string; undefined when unreadable. */
export function lineTimestamp(time: unknown): string | undefined {
  let ms: number | undefined;
  if (typeof time === 'number' && Number.isFinite(time)) ms = time < SECONDS_BELOW ? time * 1000 : time;
  else if (typeof time === 'string') ms = Date.parse(time);
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999 ? undefined : date.toISOString();
}

const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * One pino line → one event: its id (a UUIDv7) is made here, when the transport receives the line, so every
 * retry of it is a duplicate; the payload is the whole log object, kept verbatim.
 */
export function lineToEvent(line: Record<string, unknown>, mapping: LineMapping): Event {
  return createEvent({
    topic: (mapping.topicKey === undefined ? undefined : nonEmpty(line[mapping.topicKey])) ?? mapping.topic,
    source: mapping.source ?? nonEmpty(line.hostname) ?? hostname(),
    timestamp: lineTimestamp(line.time),
    payload: line,
  });
}
