import { Type, type Static } from 'typebox';

/** Longest topic, event_id and source we accept (docs/spec.md §2). */
export const MAX_NAME_LENGTH = 255;

/**
 * RFC 3339 date-time as the store can take it; the `date-time` format checks the calendar beside it. Each limit
 * keeps a value that would fail a whole batch in the store (a 500 for every request in it) out at 422:
 * "T", "t" or a space before the time (the format also lets tabs, newlines and Unicode spaces through), at most
 * 12 fraction digits (picoseconds; the store keeps 6, PostgreSQL refuses about 130, and from 15 digits the format
 * check reads 59.999… as 60 and refuses a valid time), a leap second without a fraction (PostgreSQL refuses
 * 23:59:60.5), an offset of at most ±15:59 written as ±HH:MM (PostgreSQL's limit; real zones stay within
 * ±14:00), and no year 0000.
 */
export const TIMESTAMP_PATTERN =
  '^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:(?:[0-5][0-9](?:\\.[0-9]{1,12})?|60(?:\\.0{1,12})?)' +
  '(?:[Zz]|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])$';

/** No U+0000: PostgreSQL text cannot hold it, so it is refused here rather than failing a whole batch in the store. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

const name = (description: string) => Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: NO_NUL_PATTERN, description });

/** One log event as a publisher sends it (docs/spec.md §2). Unknown fields are refused so typos surface. */
export const EventSchema = Type.Object(
  {
    topic: name('Topic; with event_id, the dedup key'),
    event_id: name('Publisher-chosen id; with topic, the dedup key'),
    timestamp: Type.String({
      format: 'date-time',
      pattern: TIMESTAMP_PATTERN,
      description: 'RFC 3339 date-time with a time-zone designator (offset at most ±15:59), in years 0001 to 9999 in UTC',
    }),
    source: name('Emitting service'),
    payload: Type.Object({}, { additionalProperties: true, description: 'Any JSON object, kept verbatim' }),
  },
  { additionalProperties: false, $id: 'Event' },
);
export type Event = Static<typeof EventSchema>;

/** A stored event: the published fields plus its commit-order cursor and arrival time. */
export const StoredEventSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'Commit order; the cursor for ?after=' }),
    topic: Type.String(),
    event_id: Type.String(),
    timestamp: Type.String({ description: 'The event time, normalized to UTC' }),
    source: Type.String(),
    payload: Type.Object({}, { additionalProperties: true }),
    received_at: Type.String({ description: 'When the event was committed, UTC' }),
  },
  { $id: 'StoredEvent' },
);
export type StoredEvent = Static<typeof StoredEventSchema>;
