import { randomFillSync } from 'node:crypto';
import type { Event } from '../schema/event.js';

// Random bits are drawn in blocks, one randomFillSync per 256 ids instead of one per id (each call crosses into
// OpenSSL). Each id takes 10 bytes: 8 for rand_b, 2 to seed the counter when a new millisecond starts.
const ID_BYTES = 10;
const pool = Buffer.alloc(256 * ID_BYTES);
let poolOffset = pool.length;

function takeRandom(): number {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += ID_BYTES;
  return offset;
}

const hex = (value: number, digits: number): string => value.toString(16).padStart(digits, '0');

let lastMs = -1;
let counter = 0;

/**
 * A new event_id: a UUIDv7 (RFC 9562), e.g. `0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b`. 48 bits of Unix milliseconds,
 * then a 12-bit counter in rand_a (RFC 9562 §6.2 method 1: seeded at random below 2048 each millisecond, so at
 * least 2048 ids fit in one), then 62 random bits. Ids made by one process are strictly increasing, as strings
 * too; if the clock steps back, the last millisecond is reused, and a full counter moves on to the next one.
 */
export function newEventId(now: number = Date.now()): string {
  const offset = takeRandom();
  const seed = pool.readUInt16BE(offset + 8) & 0x7ff;
  if (now > lastMs) {
    lastMs = now;
    counter = seed;
  } else if (counter < 0xfff) {
    counter++;
  } else {
    lastMs++;
    counter = seed;
  }
  // rand_b starts with the variant bits 10, then 62 random bits.
  const variantWord = 0x8000 | (pool.readUInt16BE(offset) & 0x3fff);
  return (
    `${hex(Math.floor(lastMs / 0x10000), 8)}-${hex(lastMs % 0x10000, 4)}-${hex(0x7000 | counter, 4)}-` +
    `${hex(variantWord, 4)}-${pool.toString('hex', offset + 2, offset + 8)}`
  );
}

export interface NewEvent {
  topic: string;
  source: string;
  /** Any JSON object, kept verbatim. */
  payload?: Event['payload'];
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
