import { Type } from 'typebox';

/**
 * The Loki read API's query parameters (docs/query.md, "Loki read API"). Times and steps are text, read by
 * src/http/routes/loki/params.ts the way Loki reads them; a schema pattern could not say which forms parse.
 */
const text = (description: string, maxLength = 64) => Type.Optional(Type.String({ maxLength, description }));
/** A query's text, at most this long (a GET query string is bounded by the 16 KiB header limit anyway). */
export const MAX_QUERY_LENGTH = 16_384;

const time = (what: string) => text(`${what}: nanoseconds, seconds (10 digits or fewer, or a float) or RFC 3339`);

export const LokiRangeQuerySchema = Type.Object({
  query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: 'A LogQL query' }),
  start: time('Start, inclusive (default: an hour before end)'),
  end: time('End, exclusive for log queries (default: now)'),
  since: text('Instead of start: this long before end (a duration such as 1h)'),
  step: text('Metric queries: between evaluations, float seconds or a duration (60000ms, 1m)'),
  interval: text('Ignored (Loki: sampling of log queries)'),
  limit: text('Log queries: most entries to return (default 100, at most 5000)'),
  direction: text('Log queries: backward (newest first, the default) or forward'),
});

export const LokiInstantQuerySchema = Type.Object({
  query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: 'A LogQL metric query' }),
  time: time('Evaluation time (default: now)'),
  limit: text('Accepted for Loki compatibility'),
  direction: text('Accepted for Loki compatibility'),
});

export const LokiLabelsQuerySchema = Type.Object({
  start: time('Start, inclusive (default: an hour before end)'),
  end: time('End, exclusive (default: now)'),
  since: text('Instead of start: this long before end'),
  query: Type.Optional(Type.String({ maxLength: MAX_QUERY_LENGTH, description: 'A stream selector the values must come from' })),
});

export const LokiLabelParamsSchema = Type.Object({ name: Type.String({ maxLength: 255 }) });

export const LokiSeriesQuerySchema = Type.Object({
  'match[]': Type.Optional(
    Type.Union([Type.String({ maxLength: MAX_QUERY_LENGTH }), Type.Array(Type.String({ maxLength: MAX_QUERY_LENGTH }), { maxItems: 20 })], {
      description: 'Stream selectors (any of them)',
    }),
  ),
  start: time('Start, inclusive (default: an hour before end)'),
  end: time('End, exclusive (default: now)'),
  since: text('Instead of start: this long before end'),
});

export const LokiLabelsResponseSchema = Type.Object({ status: Type.Literal('success'), data: Type.Array(Type.String()) });
export const LokiSeriesResponseSchema = Type.Object({
  status: Type.Literal('success'),
  data: Type.Array(Type.Record(Type.String(), Type.String())),
});
export const LokiBuildInfoSchema = Type.Object({
  version: Type.String(),
  revision: Type.String(),
  branch: Type.String(),
  buildUser: Type.String(),
  buildDate: Type.String(),
  goVersion: Type.String(),
});

/**
 * A query answer: {status, data: {resultType, result, stats, encodingFlags?}}, shaped as Loki's (docs/query.md).
 * Documented, not constrained: a serializer schema would drop the members it does not list.
 */
export const LokiQueryResponseSchema = Type.Unsafe<{ status: 'success'; data: Record<string, unknown> }>({
  description: 'Loki query response: {"status": "success", "data": {"resultType", "result", "stats"}}',
});

export const LokiIndexStatsResponseSchema = Type.Object({
  streams: Type.Integer(),
  chunks: Type.Integer(),
  bytes: Type.Integer(),
  entries: Type.Integer(),
});

export const LokiVolumeQuerySchema = Type.Object({
  query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: 'A stream selector' }),
  start: time('Start, inclusive (default: an hour before end)'),
  end: time('End, exclusive (default: now)'),
  since: text('Instead of start: this long before end'),
  limit: text('Most volumes to return (default 100)'),
  targetLabels: text('Comma-separated labels to group by (default: the labels the selector names)', 1024),
  aggregateBy: text('series (default: one volume per label set) or labels (one per label name and value)'),
  step: text('volume_range: between evaluations, float seconds or a duration (60000ms, 1m)'),
});

export const LokiTailQuerySchema = Type.Object({
  query: Type.Optional(Type.String({ maxLength: MAX_QUERY_LENGTH, description: 'A LogQL log query (selector, line filters, pipeline)' })),
  start: time('Where the past entries sent first begin (default: an hour ago)'),
  since: text('Instead of start: this long before now'),
  limit: text('Most past entries to send first, the newest (default 100, at most 5000)'),
  delay_for: text('Seconds (0 to 5) to hold each live entry before sending it (default 0)'),
});

export const LokiDetectedFieldsQuerySchema = Type.Object({
  query: Type.Optional(Type.String({ maxLength: MAX_QUERY_LENGTH, description: 'A LogQL log query whose entries are sampled' })),
  start: time('Start, inclusive (default: an hour before end)'),
  end: time('End, exclusive (default: now)'),
  since: text('Instead of start: this long before end'),
  step: text('Checked as Loki checks it; unused'),
  line_limit: text('Newest entries sampled (default 100, at most 5000)'),
  limit: text('Most fields returned (default 1000)'),
  field_limit: text('Old name of limit'),
});

const count = Type.Integer({ minimum: 0 });
export const LokiDetectedLabelsResponseSchema = Type.Object({
  detectedLabels: Type.Optional(Type.Array(Type.Object({ label: Type.String(), cardinality: count }))),
});
export const LokiDetectedFieldsResponseSchema = Type.Object({
  fields: Type.Optional(
    Type.Array(
      Type.Object({
        label: Type.String(),
        type: Type.String(),
        cardinality: count,
        parsers: Type.Union([Type.Array(Type.String()), Type.Null()]),
        jsonPath: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  ),
  limit: Type.Optional(count),
});
export const LokiDetectedFieldValuesResponseSchema = Type.Object({
  values: Type.Optional(Type.Array(Type.String())),
  limit: Type.Optional(count),
});
