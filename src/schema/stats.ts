import { Type, type Static } from 'typebox';
import { NO_NUL_PATTERN } from './event.js';
import { StoreKindSchema } from './store-kind.js';

// Lifetime totals (received, unique_processed, duplicate_dropped) never go down; stored, expired and deleted say what
// retention and deletion jobs did with the unique ones: unique_processed = stored + expired + deleted.
const TopicStats = Type.Object({
  received: Type.Integer({ description: 'Copies received, lifetime' }),
  unique_processed: Type.Integer({ description: 'Events stored as new, lifetime' }),
  duplicate_dropped: Type.Integer({ description: 'Copies recognised as duplicates, lifetime' }),
  stored: Type.Integer({ description: 'Events stored now' }),
  expired: Type.Integer({ description: 'Events deleted by retention, lifetime' }),
  deleted: Type.Integer({ description: 'Events deleted by deletion jobs (POST /admin/delete), lifetime' }),
  last_received_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When a copy on this topic last arrived',
  }),
});

/** GET /stats lists this many topics by default, and at most MAX_STATS_TOP (topic count is user input). */
export const DEFAULT_STATS_TOP = 20;
export const MAX_STATS_TOP = 100;
/** Topics one GET /stats may name with ?topic=. */
export const MAX_STATS_NAMED = 100;

/**
 * Persisted counters; received = unique_processed + duplicate_dropped and unique_processed = stored + expired + deleted
 * at every instant.
 */
export const StatsSchema = Type.Object(
  {
    received: Type.Integer(),
    unique_processed: Type.Integer(),
    duplicate_dropped: Type.Integer(),
    stored: Type.Integer({
      description: 'Events stored now (unique_processed - expired - deleted), rows a deletion job hides but has not yet deleted included',
    }),
    expired: Type.Integer({ description: 'Events deleted by retention, lifetime' }),
    deleted: Type.Integer({ description: 'Events deleted by deletion jobs (POST /admin/delete), lifetime' }),
    topic_count: Type.Integer({ description: 'Topics that ever received a copy (GET /topics lists them all)' }),
    topics: Type.Array(Type.String(), {
      description: 'The topics in per_topic: the top ones by copies received, then those named with ?topic=. Not every topic.',
    }),
    uptime: Type.Integer({ description: 'Whole seconds since this process started' }),
    per_topic: Type.Record(Type.String(), TopicStats, { description: 'Counters of the topics in `topics`' }),
    store: StoreKindSchema,
    pipeline: Type.Object({
      queued_events: Type.Integer(),
      max_queue: Type.Integer(),
      batches_in_flight: Type.Integer(),
      batches_committed: Type.Integer(),
      events_committed: Type.Integer(),
      workers: Type.Integer(),
      batch_max: Type.Integer(),
      batch_linger_ms: Type.Number(),
    }),
  },
  { $id: 'Stats' },
);
export type Stats = Static<typeof StatsSchema>;
export type TopicStats = Static<typeof TopicStats>;
/** The three lifetime counters. */
export type TopicCounts = Pick<TopicStats, 'received' | 'unique_processed' | 'duplicate_dropped'>;

// A topic name as a query parameter: the bounds of a published topic, and no U+0000 (it would fail the query).
const topicName = (description: string) => Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL_PATTERN, description });

export const StatsQuerySchema = Type.Object(
  {
    top: Type.Integer({
      minimum: 0,
      maximum: MAX_STATS_TOP,
      default: DEFAULT_STATS_TOP,
      description: `List the top N topics by copies received, 0 to ${MAX_STATS_TOP}`,
    }),
    topic: Type.Optional(
      Type.Array(topicName('A topic to list whatever its rank'), {
        maxItems: MAX_STATS_NAMED,
        description: `Also list these topics (repeat the parameter, at most ${MAX_STATS_NAMED}); unknown ones are left out`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type StatsQuery = Static<typeof StatsQuerySchema>;

export const DEFAULT_TOPICS_LIMIT = 100;
export const MAX_TOPICS_LIMIT = 1000;

export const TopicsQuerySchema = Type.Object(
  {
    after: Type.Optional(topicName('Start after this name: the `next` of the previous page')),
    limit: Type.Integer({
      minimum: 1,
      maximum: MAX_TOPICS_LIMIT,
      default: DEFAULT_TOPICS_LIMIT,
      description: `Topics per page, 1 to ${MAX_TOPICS_LIMIT}`,
    }),
    q: Type.Optional(topicName('Only topics whose name contains this, ignoring case')),
  },
  { additionalProperties: false },
);
export type TopicsQuery = Static<typeof TopicsQuerySchema>;

export const TopicEntrySchema = Type.Object({ topic: Type.String(), ...TopicStats.properties });
export type TopicEntry = Static<typeof TopicEntrySchema>;

export const TopicsPageSchema = Type.Object(
  {
    topics: Type.Array(TopicEntrySchema, { description: 'In name order' }),
    next: Type.Union([Type.String(), Type.Null()], {
      description:
        'Pass as after= for the next page; null when no topic remains. A page may be short, even empty, with a next: ' +
        'each request reads at most 10,000 names, so keep paging until next is null.',
    }),
  },
  { $id: 'TopicsPage' },
);
export type TopicsPage = Static<typeof TopicsPageSchema>;
