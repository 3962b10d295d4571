import { Type, type Static } from 'typebox';
import { StoreKindSchema } from './store-kind.js';

// Lifetime totals (received, unique_processed, duplicate_dropped) never go down; stored and expired say what
// retention did with the unique ones: unique_processed = stored + expired.
const TopicStats = Type.Object({
  received: Type.Integer({ description: 'Copies received, lifetime' }),
  unique_processed: Type.Integer({ description: 'Events stored as new, lifetime' }),
  duplicate_dropped: Type.Integer({ description: 'Copies recognised as duplicates, lifetime' }),
  stored: Type.Integer({ description: 'Events stored now' }),
  expired: Type.Integer({ description: 'Events deleted by retention, lifetime' }),
  last_received_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When a copy on this topic last arrived',
  }),
});

/** Persisted counters; received = unique_processed + duplicate_dropped and unique_processed = stored + expired at every instant. */
export const StatsSchema = Type.Object(
  {
    received: Type.Integer(),
    unique_processed: Type.Integer(),
    duplicate_dropped: Type.Integer(),
    stored: Type.Integer({ description: 'Events stored now (unique_processed - expired)' }),
    expired: Type.Integer({ description: 'Events deleted by retention, lifetime' }),
    topics: Type.Array(Type.String()),
    uptime: Type.Integer({ description: 'Whole seconds since this process started' }),
    per_topic: Type.Record(Type.String(), TopicStats),
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
