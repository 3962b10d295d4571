import { Type, type Static } from 'typebox';

/** Longest topic, event_id and source we accept (SPEC §2). */
export const MAX_NAME_LENGTH = 255;

// PostgreSQL text cannot hold U+0000, so it is refused here rather than failing a whole batch in the store.
const name = (description: string) =>
  Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: '^[^\\u0000]*$', description });

/** One log event as a publisher sends it (SPEC §2). Unknown fields are refused so typos surface. */
export const EventSchema = Type.Object(
  {
    topic: name('Topic; with event_id, the dedup key'),
    event_id: name('Publisher-chosen id; with topic, the dedup key'),
    timestamp: Type.String({
      format: 'date-time',
      // year 0000 passes RFC 3339 but not PostgreSQL; refused here so it cannot poison a batch
      pattern: '^(?!0000)',
      description: 'RFC 3339 date-time with a time-zone designator',
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
