import { Type, type Static } from 'typebox';

export const DEFAULT_PAGE_LIMIT = 1000;
export const MAX_PAGE_LIMIT = 10_000;

/** Filters and cursor of GET /events. */
export const EventsQuerySchema = Type.Object(
  {
    topic: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    since: Type.Optional(Type.String({ format: 'date-time', pattern: '^(?!0000)', description: 'timestamp >= since' })),
    until: Type.Optional(Type.String({ format: 'date-time', pattern: '^(?!0000)', description: 'timestamp < until' })),
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT }),
    after: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'seq of the last event seen' }),
    ),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuerySchema>;
