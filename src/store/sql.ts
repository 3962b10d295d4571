/**
 * Every SQL statement logagg runs, shared by both engines. Rows are mapped to schema types here and nowhere else.
 */

// One key serializes batch commits across flushers and replicas, so seq order is commit order (a reader paging
// by seq never skips a row that commits later with a lower seq) and concurrent batches holding the same keys
// cannot deadlock on the primary key. It costs ~20% of raw insert rate at 4 connections (docs/architecture.md).
export const COMMIT_LOCK_KEY = 0x6c6f6761;
export const MIGRATION_LOCK_KEY = 0x6c6f6762;

/**
 * One statement per batch: parse the batch, take the commit lock, insert the set with ON CONFLICT DO NOTHING, add
 * the batch's per-topic totals to the counters, return the keys that were new. Counters move in the same
 * transaction as the rows, so /stats is never out of balance. The batch arrives as one JSON array parameter
 * whatever its size (recordset beat unnest over text arrays at >= 1000 rows). json, not jsonb: the payload keeps
 * its key order and text, and json_to_recordset ran as fast as jsonb_to_recordset here (~91k rows/s, 4 connections).
 *
 * $1 holds only the first copy of each key in the batch, and $2 the copies received per topic ({"topic": n}),
 * duplicates included: a copy repeated within the batch could only conflict, so it is not sent to be parsed and
 * refused (~11% of the rows at 30% duplicates).
 *
 * The lock is taken after the parse and before the first seq is drawn: commit_lock counts every input row before
 * it locks, and the insert joins on commit_lock, so no row reaches nextval() before the lock is held. Parsing
 * (~25% of the statement at 1,000 rows) thus overlaps another flusher's commit instead of queueing behind it.
 * docs/performance.md has the measurements.
 */
export const INSERT_BATCH = `
WITH input AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json)
    AS t(topic text, event_id text, "timestamp" timestamptz, source text, payload json)
),
commit_lock AS MATERIALIZED (
  SELECT pg_advisory_xact_lock(${COMMIT_LOCK_KEY}) AS locked FROM (SELECT count(*) FROM input) AS parsed
),
inserted AS (
  INSERT INTO events (topic, event_id, ts, source, payload)
  SELECT topic, event_id, "timestamp", source, payload FROM commit_lock, input
  ON CONFLICT (topic, event_id) DO NOTHING
  RETURNING topic, event_id
),
per_topic AS (
  SELECT r.topic, r.received, coalesce(u.unique_count, 0) AS unique_count
  FROM (SELECT key AS topic, value::bigint AS received FROM json_each_text($2::json)) r
  LEFT JOIN (SELECT topic, count(*) AS unique_count FROM inserted GROUP BY topic) u USING (topic)
),
counted AS (
  INSERT INTO topic_stats AS s (topic, received, unique_count)
  SELECT topic, received, unique_count FROM per_topic ORDER BY topic
  ON CONFLICT (topic) DO UPDATE
    SET received = s.received + excluded.received, unique_count = s.unique_count + excluded.unique_count
)
SELECT topic, event_id FROM inserted`;

export interface InsertedRow {
  topic: string;
  event_id: string;
}

// One event as the JSON text GET /events and the live stream send; shared so both render events the same way.
const EVENT_JSON = `json_build_object(
      'seq', seq, 'topic', topic, 'event_id', event_id,
      'timestamp', (to_json(ts AT TIME ZONE 'UTC') #>> '{}') || 'Z',
      'source', source, 'payload', payload,
      'received_at', (to_json(received_at AT TIME ZONE 'UTC') #>> '{}') || 'Z'
    )`;

// The page is built as one JSON text in the database: no per-row parse and re-stringify in Node.
// timestamp and received_at are rendered in UTC with as many fraction digits as they hold.
export const SELECT_EVENTS_PAGE = `
WITH page AS (
  SELECT seq, topic, event_id, ts, source, payload, received_at FROM events
  WHERE seq > $1
    AND ($2::text IS NULL OR topic = $2)
    AND ($3::text IS NULL OR source = $3)
    AND ($4::timestamptz IS NULL OR ts >= $4)
    AND ($5::timestamptz IS NULL OR ts < $5)
  ORDER BY seq LIMIT $6::int + 1
),
kept AS (SELECT * FROM page ORDER BY seq LIMIT $6)
SELECT
  (SELECT count(*) FROM page)::int AS fetched,
  (SELECT max(seq) FROM kept)::text AS last_seq,
  (SELECT coalesce(json_agg(${EVENT_JSON} ORDER BY seq), '[]')::text FROM kept) AS body`;

export interface EventsPageRow {
  fetched: number;
  last_seq: string | null;
  body: string;
}

/**
 * Committed events after a seq, for the live stream: each row's JSON rendered by the database.
 * ORDER BY names the column: the bare name would sort by the text alias (1, 10, 100, 2…).
 */
export const SELECT_EVENTS_AFTER = `
SELECT seq::text AS seq, topic, ${EVENT_JSON}::text AS json FROM events
WHERE seq > $1 AND ($2::text IS NULL OR topic = $2)
ORDER BY events.seq LIMIT $3`;

export interface EventAfterRow {
  seq: string;
  topic: string;
  json: string;
}

export const SELECT_HEAD_SEQ = 'SELECT coalesce(max(seq), 0)::text AS seq FROM events';

export const SELECT_TOPIC_COUNTS = `
SELECT topic, received::text AS received, unique_count::text AS unique_count FROM topic_stats ORDER BY topic`;

export interface TopicCountsRow {
  topic: string;
  received: string;
  unique_count: string;
}

export const PING = 'SELECT 1 AS ok';

export const MIGRATION_SETUP = `
SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY});
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;

export const SELECT_MIGRATION_VERSIONS = 'SELECT version FROM schema_migrations ORDER BY version';
export const INSERT_MIGRATION_VERSION = 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)';

// Moving an embedded store to PostgreSQL: rows keep their seq and received_at, counters come along as they are.
export const SELECT_EVENTS_TO_COPY = `
SELECT seq::text AS seq, topic, event_id, ts::text AS ts, source, payload::text AS payload, received_at::text AS received_at
FROM events WHERE seq > $1 ORDER BY events.seq LIMIT $2`;

export interface CopiedEventRow {
  seq: string;
  topic: string;
  event_id: string;
  ts: string;
  source: string;
  payload: string;
  received_at: string;
}

export const INSERT_COPIED_EVENTS = `
INSERT INTO events (seq, topic, event_id, ts, source, payload, received_at) OVERRIDING SYSTEM VALUE
SELECT seq::bigint, topic, event_id, ts::timestamptz, source, payload::json, received_at::timestamptz
FROM json_to_recordset($1::json) AS t(seq text, topic text, event_id text, ts text, source text, payload text, received_at text)`;

export const SELECT_ALL_TOPIC_COUNTS = 'SELECT topic, received::text AS received, unique_count::text AS unique_count FROM topic_stats';

export const INSERT_COPIED_COUNTS = `
INSERT INTO topic_stats (topic, received, unique_count)
SELECT topic, received::bigint, unique_count::bigint
FROM json_to_recordset($1::json) AS t(topic text, received text, unique_count text)`;

// New rows must get seqs after the copied ones.
export const ADVANCE_SEQ = `SELECT setval(pg_get_serial_sequence('events', 'seq'), greatest((SELECT max(seq) FROM events), 1))`;

export const COUNT_EVENTS = 'SELECT count(*)::text AS n FROM events';
