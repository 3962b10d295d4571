import { Type, type Static } from 'typebox';
import { NO_NUL_PATTERN, TIMESTAMP_PATTERN } from './event.js';

export const DEFAULT_PAGE_LIMIT = 1000;
export const MAX_PAGE_LIMIT = 10_000;

const TIME_RULE = 'must be an RFC 3339 time such as 2025-10-21T10:00:00Z (an offset of at most ±15:59, years 0001 to 9999)';
const SEQ_RULE = 'must be a seq: an integer from 0 to 999999999999999';
const NAME_RULE = 'must be 1 to 255 characters, without U+0000';

/**
 * What each query parameter of GET /events and /events/stream must be, in words: the schemas check text with
 * patterns (see limit below), and a pattern is no message for a person. The error handler uses these.
 */
/** A sentence per query parameter for its validation errors (a route declares them in config.queryRules). */
export type QueryRules = Readonly<Record<string, string>>;

export const QUERY_RULES: QueryRules = {
  limit: `must be an integer from 1 to ${MAX_PAGE_LIMIT}`,
  since: TIME_RULE,
  until: TIME_RULE,
  after: SEQ_RULE,
  before: SEQ_RULE,
  topic: NAME_RULE,
  source: NAME_RULE,
};

/** q: the search syntax (docs/query.md); parsed by the route, which answers INVALID_QUERY with the position. */
export const SearchQuerySchema = Type.String({
  description: 'Search: whole words, word*, "phrases", -exclusions, field:value, field:>n, topic:, source: (docs/query.md)',
});

/** Filters and cursor of GET /events. */
export const EventsQuerySchema = Type.Object(
  {
    // Filters reach the store as parameters: a U+0000 or an offset past ±15:59 would fail the query with a 500.
    topic: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL_PATTERN })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL_PATTERN })),
    since: Type.Optional(Type.String({ format: 'date-time', pattern: TIMESTAMP_PATTERN, description: 'timestamp >= since' })),
    until: Type.Optional(Type.String({ format: 'date-time', pattern: TIMESTAMP_PATTERN, description: 'timestamp < until' })),
    // Digits checked as text: Ajv's number coercion turns "1e400" into Infinity and lets it past maximum.
    limit: Type.String({
      pattern: '^(?:[1-9][0-9]{0,3}|10000)$',
      default: String(DEFAULT_PAGE_LIMIT),
      description: `Page size, 1 to ${MAX_PAGE_LIMIT}`,
    }),
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Page forward: events with seq > after' })),
    before: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,15}$',
        description: 'Page back: the newest events with seq < before (still sent in ascending order)',
      }),
    ),
    q: Type.Optional(SearchQuerySchema),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuerySchema>;

/** A validated GET /events query, numbers parsed. */
export interface EventFilter {
  topic?: string | undefined;
  source?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  after: number;
  before?: number | undefined;
  /** The search text as sent (the route parses it; Link headers repeat it). */
  q?: string | undefined;
}

export function toEventFilter(query: EventsQuery): EventFilter {
  return {
    ...query,
    limit: Number(query.limit),
    after: Number(query.after ?? 0),
    before: query.before === undefined ? undefined : Number(query.before),
  };
}

export const DEFAULT_HISTOGRAM_BUCKETS = 60;
export const MAX_HISTOGRAM_BUCKETS = 240;
/** The range of a histogram with neither since nor until and no matching event: the last hour. */
export const DEFAULT_HISTOGRAM_RANGE_MS = 3_600_000;

const { topic, source, since, until, q } = EventsQuerySchema.properties;

/** GET /events/histogram: the filters of GET /events (no cursor, no limit) and how many buckets. */
export const HistogramQuerySchema = Type.Object(
  {
    topic,
    source,
    since,
    until,
    q,
    // Digits checked as text, as limit is (Ajv's coercion would let "1e400" through as Infinity).
    buckets: Type.String({
      pattern: '^(?:[1-9][0-9]?|1[0-9]{2}|2[0-3][0-9]|240)$',
      default: String(DEFAULT_HISTOGRAM_BUCKETS),
      description: `How many buckets at most, 1 to ${MAX_HISTOGRAM_BUCKETS}`,
    }),
  },
  { additionalProperties: false },
);
export type HistogramQuery = Static<typeof HistogramQuerySchema>;

export const HISTOGRAM_RULES: QueryRules = {
  ...QUERY_RULES,
  buckets: `must be an integer from 1 to ${MAX_HISTOGRAM_BUCKETS}`,
};

/** A validated histogram query: GET /events' filters and the bucket count. */
export interface HistogramFilter {
  topic?: string | undefined;
  source?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  q?: string | undefined;
  buckets: number;
}

export const toHistogramFilter = (query: HistogramQuery): HistogramFilter => ({ ...query, buckets: Number(query.buckets) });

/** The 200 body of GET /events/histogram (docs/query.md, "Histogram"). */
export const HistogramSchema = Type.Object(
  {
    from: Type.String({ description: 'Start of the first bucket (inclusive), RFC 3339 UTC, millisecond precision' }),
    to: Type.String({ description: 'End of the last bucket (exclusive)' }),
    step_ms: Type.Integer({ minimum: 1, description: 'Width of every bucket but possibly the last, which ends at `to`' }),
    buckets: Type.Array(
      Type.Object({
        start: Type.String({ description: 'Bucket start (inclusive); it ends (exclusive) where the next starts, or at `to`' }),
        count: Type.Integer({ minimum: 0 }),
      }),
    ),
    total: Type.Integer({ minimum: 0, description: 'Matching events in [from, to): the sum of the counts' }),
  },
  { additionalProperties: false },
);
export type Histogram = Static<typeof HistogramSchema>;
