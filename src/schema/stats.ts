import { Type, type Static } from 'typebox';

const Counts = Type.Object({
  received: Type.Integer(),
  unique_processed: Type.Integer(),
  duplicate_dropped: Type.Integer(),
});

/** Persisted counters; received = unique_processed + duplicate_dropped at every instant. */
export const StatsSchema = Type.Object(
  {
    received: Type.Integer(),
    unique_processed: Type.Integer(),
    duplicate_dropped: Type.Integer(),
    topics: Type.Array(Type.String()),
    uptime: Type.Integer({ description: 'Whole seconds since this process started' }),
    per_topic: Type.Record(Type.String(), Counts),
    store: Type.Union([Type.Literal('postgres'), Type.Literal('pglite')]),
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
export type TopicCounts = Static<typeof Counts>;
