import { randomBytes } from 'node:crypto';
import type { Event } from '../schema/event.js';

let lastMs = 0;
let counter = 0;

/**
 * A new event_id: 48-bit milliseconds, a per-process counter, then 64 random bits, in hex. Ids sort by creation
 * time within a process, and two processes collide only if 64 random bits do.
 */
export function newEventId(now: number = Date.now()): string {
  if (now === lastMs) counter++;
  else {
    lastMs = now;
    counter = 0;
  }
  return `${now.toString(16).padStart(12, '0')}-${counter.toString(16).padStart(4, '0')}-${randomBytes(8).toString('hex')}`;
}

export interface NewEvent {
  topic: string;
  source: string;
  payload?: Record<string, unknown>;
  /** Set only when re-creating a known event; a retry must resend the same id, never mint a new one. */
  event_id?: string;
  timestamp?: string;
}

/** Builds an event with its id and timestamp fixed at creation, so every resend of it is the same event. */
export function createEvent(fields: NewEvent): Event {
  const now = Date.now();
  return {
    topic: fields.topic,
    event_id: fields.event_id ?? newEventId(now),
    timestamp: fields.timestamp ?? new Date(now).toISOString(),
    source: fields.source,
    payload: fields.payload ?? {},
  };
}
