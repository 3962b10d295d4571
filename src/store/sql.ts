/**
 * Every SQL statement logagg runs, shared by both engines. Rows are mapped to schema types here and nowhere else.
 */

import { VISIBLE } from './visible-sql.js';

/**
 * Batches commit in parallel, so seqs commit out of order: a batch that drew seq 100 may still be running when one
 * that drew 101 has committed. Before drawing, each batch publishes a lower bound of the seqs it will draw: a
 * shared advisory lock, held until its transaction ends, whose key is SEQ_CLAIM_BASE + the sequence's last value
 * (no batch waits on another's claim: shared locks do not conflict). SELECT_READ_HORIZON reads the lowest claim
 * and gives readers the highest seq they may pass (docs/architecture.md, "Seqs are drawn in parallel").
 * 2^62 keeps the keys apart from MIGRATION_LOCK_KEY's; seqs stay below 2^53 (JSON numbers).
 */
const SEQ_CLAIM_BASE = '4611686018427387904';
// SEQ_CLAIM_BASE >> 32: pg_locks shows an int8 key as classid (high half) and objid (low half), objsubid 1.
const SEQ_CLAIM_CLASSID = '1073741824';
export const MIGRATION_LOCK_KEY = 0x6c6f6762;
/** What logagg_topic_limit (migration 10) raises when a batch would take a tenant past its max_topics. */
export const TOPIC_LIMIT_SQLSTATE = 'LA001';

/**
 * One statement per batch: parse the batch, claim its seqs, insert the set with ON CONFLICT DO NOTHING, add
 * the batch's per-topic totals to the counters and to the one totals row, return the keys that were new. Counters
 * move in the same transaction as the rows, so /stats is never out of balance. The batch arrives as one JSON array parameter
 * whatever its size (recordset beat unnest over text arrays at >= 1000 rows). json, not jsonb: the payload keeps
 * its key order and text, and json_to_recordset ran as fast as jsonb_to_recordset here (~91k rows/s, 4 connections).
 *
 * $1 holds only the first copy of each key in the batch, and $2 the copies received per topic ({"topic": n}),
 * duplicates included: a copy repeated within the batch could only conflict, so it is not sent to be parsed and
 * refused (~11% of the rows at 30% duplicates).
 *
 * Batches run in parallel without deadlocking because every batch takes its row locks in one order: its keys
 * sorted (topic, event_id), then its topic counters sorted by topic, then the totals row. A batch waits only for a
 * row that comes later in that order than everything it already holds, so no cycle of waits can form.
 *
 * Seqs are drawn in arrival order as the batch is parsed (numbered: a request's events keep the order they were
 * sent in), then the rows are inserted in key order; so the insert names seq, which it must override (GENERATED
 * ALWAYS). The seq claim comes first: numbered joins on seq_claim, so no row reaches nextval() before the claim
 * is published (the plan's one-row seq_claim is the outer side of the join, and json_to_recordset yields rows
 * in array order).
 *
 * Without DEDUP_RETENTION, event_keys holds only the keys of events a deletion job deleted (tombstones,
 * src/store/deletion-sql.ts): a key found there is a duplicate, so a shipper's retry cannot undo a deletion.
 *
 * With DEDUP_RETENTION the key table is the authority instead: each key is claimed in event_keys first (its
 * primary key decides, as the events one does otherwise), and only claimed keys are inserted as events. The
 * events primary key still refuses a key whose row outlived its key (the two windows are set independently).
 */
/**
 * What a batch adds to stats_totals, read from the rows the upsert returned, so the totals row is updated after
 * the topic rows (one lock order for every writer). A topic row is new when its received equals the batch's own
 * count for it: an existing row already held at least one copy. (The statement snapshot cannot tell: it predates
 * the commits of concurrent batches, so a topic one of them created would look new to a NOT EXISTS.)
 *
 * A tenant with a maximum of topics ($3, {"tenant": max}, or null) has the totals row's new topic_count checked by
 * logagg_topic_limit (migration 10), which refuses only a batch that created a topic. The check is a branch of
 * the final UNION ALL, which runs every branch, so it runs even when nothing was inserted.
 */
const TOTALS_OF_BATCH = `
    SELECT p.tenant, sum(p.received) AS received, sum(p.unique_count) AS unique_count,
      count(*) FILTER (WHERE c.received = p.received) AS created
    FROM counted c JOIN per_topic p USING (tenant, topic) GROUP BY p.tenant`;

function insertBatchSql(keyed: boolean): string {
  const claimed = keyed
    ? `
claimed AS (
  INSERT INTO event_keys (tenant, topic, event_id)
  SELECT tenant, topic, event_id FROM numbered ORDER BY tenant, topic, event_id
  ON CONFLICT (tenant, topic, event_id) DO NOTHING
  RETURNING tenant, topic, event_id
),
inserted AS (
  INSERT INTO events (seq, tenant, topic, event_id, ts, source, payload) OVERRIDING SYSTEM VALUE
  SELECT seq, tenant, topic, event_id, "timestamp", source, payload FROM numbered JOIN claimed USING (tenant, topic, event_id)
  ORDER BY tenant, topic, event_id
  ON CONFLICT (tenant, topic, event_id) DO NOTHING
  RETURNING tenant, topic, event_id
),`
    : `
inserted AS (
  INSERT INTO events (seq, tenant, topic, event_id, ts, source, payload) OVERRIDING SYSTEM VALUE
  SELECT seq, tenant, topic, event_id, "timestamp", source, payload FROM numbered n
  WHERE NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.tenant = n.tenant AND k.topic = n.topic AND k.event_id = n.event_id)
  ORDER BY tenant, topic, event_id
  ON CONFLICT (tenant, topic, event_id) DO NOTHING
  RETURNING tenant, topic, event_id
),`;
  return `
WITH seq_claim AS MATERIALIZED (
  SELECT pg_advisory_xact_lock_shared(${SEQ_CLAIM_BASE} + last_value) AS claimed FROM events_seq_seq
),
numbered AS MATERIALIZED (
  SELECT nextval('events_seq_seq') AS seq, g.tenant, t.*
  FROM seq_claim, json_to_recordset($1::json) AS g(tenant text, events json),
    json_to_recordset(g.events) AS t(topic text, event_id text, "timestamp" timestamptz, source text, payload json)
),${claimed}
per_topic AS (
  SELECT r.tenant, r.topic, r.received, coalesce(u.unique_count, 0) AS unique_count
  FROM (SELECT a.key AS tenant, b.key AS topic, b.value::bigint AS received FROM json_each($2::json) a, json_each_text(a.value) b) r
  LEFT JOIN (SELECT tenant, topic, count(*) AS unique_count FROM inserted GROUP BY tenant, topic) u USING (tenant, topic)
),
counted AS (
  INSERT INTO topic_stats AS s (tenant, topic, received, unique_count, last_received_at)
  SELECT tenant, topic, received, unique_count, now() FROM per_topic ORDER BY tenant, topic
  ON CONFLICT (tenant, topic) DO UPDATE
    SET received = s.received + excluded.received, unique_count = s.unique_count + excluded.unique_count,
        last_received_at = excluded.last_received_at
  RETURNING tenant, topic, received
),
batch_totals AS (${TOTALS_OF_BATCH}
),
totals AS (
  INSERT INTO stats_totals AS t (tenant, received, unique_count, expired, deleted, topic_count)
  SELECT tenant, received, unique_count, 0, 0, created FROM batch_totals ORDER BY tenant
  ON CONFLICT (tenant) DO UPDATE
    SET received = t.received + excluded.received, unique_count = t.unique_count + excluded.unique_count,
        topic_count = t.topic_count + excluded.topic_count
  RETURNING tenant, topic_count
)
SELECT tenant, topic, event_id FROM inserted
UNION ALL
SELECT NULL, NULL, NULL FROM totals JOIN batch_totals b USING (tenant)
WHERE $3::json IS NOT NULL AND NOT logagg_topic_limit(tenant, totals.topic_count, b.created, ($3::json ->> tenant)::bigint)`;
}

export const INSERT_BATCH = insertBatchSql(false);
export const INSERT_BATCH_KEYED = insertBatchSql(true);

export interface InsertedRow {
  tenant: string;
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

/** GET /events' filters (topic, source, since, until) as parameters $n to $n+3: one text for every reader of them. */
export const eventFilters = (n: number): string => `($${n}::text IS NULL OR topic = $${n})
    AND ($${n + 1}::text IS NULL OR source = $${n + 1})
    AND ($${n + 2}::timestamptz IS NULL OR ts >= $${n + 2})
    AND ($${n + 3}::timestamptz IS NULL OR ts < $${n + 3})`;
const EVENT_FILTERS = eventFilters(2);

/**
 * One page of GET /events between the cursors after ($1) and before ($7, NULL for none), built as one JSON text in
 * the database: no per-row parse and re-stringify in Node. Forward pages take the oldest rows after the cursor;
 * with before, the newest rows before it (paging back). Either way the page is sent in ascending seq order, and
 * one extra row fetched tells whether more remain that way; an EXISTS probe tells whether any remain the other way.
 * $8 is the tenant: a page holds one tenant's events.
 * timestamp and received_at are rendered in UTC with as many fraction digits as they hold. `search` is a condition
 * compiled from q (src/store/predicate-sql.ts, its parameters from $9 on), applied on both sides.
 */
export function eventsPageSql(backward: boolean, search = 'TRUE'): string {
  const order = backward ? 'DESC' : 'ASC';
  const otherWay = backward ? 'seq >= $7' : 'seq <= $1';
  return `
WITH page AS (
  SELECT seq, topic, event_id, ts, source, payload, received_at FROM events
  WHERE tenant = $8 AND seq > $1 AND ($7::bigint IS NULL OR seq < $7) AND ${EVENT_FILTERS} AND ${search} AND ${VISIBLE}
  ORDER BY seq ${order} LIMIT $6::int + 1
),
kept AS (SELECT * FROM page ORDER BY seq ${order} LIMIT $6)
SELECT
  (SELECT count(*) FROM page)::int AS fetched,
  (SELECT min(seq) FROM kept)::text AS first_seq,
  (SELECT max(seq) FROM kept)::text AS last_seq,
  EXISTS (SELECT 1 FROM events WHERE tenant = $8 AND ${otherWay} AND ${EVENT_FILTERS} AND ${search} AND ${VISIBLE}) AS other_way,
  (SELECT coalesce(json_agg(${EVENT_JSON} ORDER BY seq), '[]')::text FROM kept) AS body`;
}

export const SELECT_EVENTS_PAGE = eventsPageSql(false);
export const SELECT_EVENTS_PAGE_BEFORE = eventsPageSql(true);

export interface EventsPageRow {
  fetched: number;
  first_seq: string | null;
  last_seq: string | null;
  other_way: boolean;
  body: string;
}

/**
 * Committed events after a seq, for the live stream: each row's JSON rendered by the database.
 * ORDER BY names the column: the bare name would sort by the text alias (1, 10, 100, 2…).
 * $4 is the read horizon (SELECT_READ_HORIZON), read in an earlier statement; $5 the tenant, NULL for every
 * tenant's (the feed's one tail, src/ingest/feed.ts, which hands each subscriber its own tenant's).
 */
export const SELECT_EVENTS_AFTER = eventsAfterSql();

/**
 * The same for a live search: rows with $1 < seq <= $4 (the lower of the read horizon and the feed.s page) that match
 * `search`, a condition compiled from q (its parameters from $6 on).
 */
export function eventsAfterSql(search = 'TRUE'): string {
  return `
SELECT seq::text AS seq, tenant, topic, ${EVENT_JSON}::text AS json FROM events
WHERE seq > $1 AND ($5::text IS NULL OR tenant = $5) AND ($2::text IS NULL OR topic = $2) AND seq <= $4 AND ${search} AND ${VISIBLE}
ORDER BY events.seq LIMIT $3`;
}

export interface EventAfterRow {
  seq: string;
  tenant: string;
  topic: string;
  json: string;
}

/**
 * The read horizon: the highest seq a reader may pass, because every row at or below it has committed or never
 * will. It is the sequence's last value, lowered below the lowest seq claim of a batch still running. A cursor
 * reader runs this first and then, in a statement of its own (a later snapshot), reads only rows at or below
 * it; one statement could not do both: a batch that commits between the snapshot and the read of pg_locks would
 * be in neither. The sequence is read before pg_locks (the lateral join orders them): a batch that claims after
 * that read draws seqs above the value read. On PGlite (one connection) no batch is ever running meanwhile, and
 * the horizon is the sequence's last value. `hiding`: whether a deletion job marks any row (VISIBLE), so the
 * cursor read that follows needs no second statement to learn it.
 */
export const SELECT_READ_HORIZON = `
SELECT least(v.head, min(c.low) - 1)::text AS horizon, EXISTS (SELECT 1 FROM deletion_rows) AS hiding
FROM (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS head FROM events_seq_seq) AS v
LEFT JOIN LATERAL (
  SELECT (classid::bigint << 32 | objid::bigint) - ${SEQ_CLAIM_BASE} AS low FROM pg_locks
  WHERE locktype = 'advisory' AND objsubid = 1 AND classid >= ${SEQ_CLAIM_CLASSID} AND v.head IS NOT NULL
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
) AS c ON true
GROUP BY v.head`;

/** A topic's counters as text (bigints stay exact), read from the table or alias t. */
export const topicCountsColumns = (t: string): string => `${t}.topic, ${t}.received::text AS received,
  ${t}.unique_count::text AS unique_count, ${t}.expired::text AS expired, ${t}.deleted::text AS deleted,
  (to_json(${t}.last_received_at AT TIME ZONE 'UTC') #>> '{}') || 'Z' AS last_received_at`;
const TOPIC_COUNTS_COLUMNS = topicCountsColumns('topic_stats');

export const SELECT_TOPIC_COUNTS = `SELECT ${TOPIC_COUNTS_COLUMNS} FROM topic_stats WHERE tenant = $1 ORDER BY topic`;

export interface TopicCountsRow {
  topic: string;
  received: string;
  unique_count: string;
  expired: string;
  deleted: string;
  last_received_at: string | null;
}

/**
 * GET /stats in one statement, so one snapshot: tenant $3's totals row (zeros before its first batch), and its top
 * $1 topics by copies received (walked off topic_stats_received_idx, never a sort of every topic) plus the topics
 * named in $2 (a JSON array). One row per listed topic, each carrying the totals; one row with null topic when none
 * is listed.
 */
export const SELECT_STATS = `
WITH listed AS (
  (SELECT * FROM topic_stats WHERE tenant = $3 ORDER BY received DESC, topic LIMIT $1)
  UNION
  (SELECT * FROM topic_stats WHERE tenant = $3 AND topic IN (SELECT json_array_elements_text($2::json)))
)
SELECT coalesce(t.received, 0)::text AS total_received, coalesce(t.unique_count, 0)::text AS total_unique,
  coalesce(t.expired, 0)::text AS total_expired, coalesce(t.deleted, 0)::text AS total_deleted,
  coalesce(t.topic_count, 0)::text AS topic_count, ${topicCountsColumns('l')}
FROM (SELECT $3::text AS tenant) one LEFT JOIN stats_totals t USING (tenant) LEFT JOIN listed l ON true
ORDER BY l.received DESC, l.topic`;

export interface StatsRow {
  total_received: string;
  total_unique: string;
  total_expired: string;
  total_deleted: string;
  topic_count: string;
  topic: string | null;
  received: string | null;
  unique_count: string | null;
  expired: string | null;
  deleted: string | null;
  last_received_at: string | null;
}

/**
 * One page of GET /topics: tenant $5's topics by name after $1 ('' for the first page), at most $2 of them read (the scan
 * budget: a rare q must not walk 100,000 names in one request), those containing $3 (case-insensitive; null for
 * all), at most $4 + 1 kept (the extra one says whether more matched). Each row also says how many names were
 * read and the last one, where the next page starts when the budget ran out before the page filled.
 */
export const SELECT_TOPICS_PAGE = `
WITH scanned AS MATERIALIZED (
  SELECT * FROM topic_stats WHERE tenant = $5 AND topic > $1 ORDER BY topic LIMIT $2
),
matched AS (
  SELECT * FROM scanned WHERE $3::text IS NULL OR strpos(lower(topic), lower($3)) > 0 ORDER BY topic LIMIT $4::int + 1
)
SELECT s.scanned, s.last_scanned, ${topicCountsColumns('m')}
FROM (SELECT count(*)::int AS scanned, max(topic) AS last_scanned FROM scanned) s LEFT JOIN matched m ON true
ORDER BY m.topic`;

export interface TopicsPageRow {
  scanned: number;
  last_scanned: string | null;
  topic: string | null;
  received: string | null;
  unique_count: string | null;
  expired: string | null;
  deleted: string | null;
  last_received_at: string | null;
}

/**
 * The common end of every statement that removes events: deletes the rows of the CTE `doomed` (seqs), counts them
 * per topic into topic_stats.<column> (topic rows locked in topic order, as a batch locks them) and into the totals
 * row; the statement then selects from per_topic. `expired`: EXPIRE_EVENTS and EXPIRE_EVENTS_BY_RULES
 * (retention-sql.ts); `deleted`: a deletion job's batch (deletion-sql.ts), which also needs the keys (`deleted`).
 */
export const deleteAndCount = (column: 'expired' | 'deleted'): string => `deleted AS (
  DELETE FROM events e USING doomed d WHERE e.seq = d.seq RETURNING e.tenant, e.topic, e.event_id, e.received_at
),
per_topic AS (SELECT tenant, topic, count(*) AS n FROM deleted GROUP BY tenant, topic),
locked AS MATERIALIZED (
  SELECT tenant, topic FROM topic_stats WHERE (tenant, topic) IN (SELECT tenant, topic FROM per_topic)
  ORDER BY tenant, topic FOR UPDATE
),
counted AS (
  UPDATE topic_stats s SET ${column} = s.${column} + p.n FROM per_topic p JOIN locked USING (tenant, topic)
  WHERE s.tenant = p.tenant AND s.topic = p.topic RETURNING p.tenant, p.n
),
per_tenant AS MATERIALIZED (SELECT tenant, sum(n) AS n FROM counted GROUP BY tenant),
locked_totals AS MATERIALIZED (
  SELECT tenant FROM stats_totals WHERE tenant IN (SELECT tenant FROM per_tenant) ORDER BY tenant FOR UPDATE
),
totals AS (
  UPDATE stats_totals t SET ${column} = t.${column} + c.n FROM per_tenant c JOIN locked_totals USING (tenant)
  WHERE t.tenant = c.tenant
)`;

export const DELETE_AND_COUNT_EXPIRED = deleteAndCount('expired');

/**
 * Retention: deletes up to $2 of the oldest events received before $1 and adds them to their topics' expired
 * counters in the same transaction. It walks the head of the seq index only (received_at follows seq to within the
 * batches running at once), so a pass that finds nothing old costs one short index read, not a table scan, and no index on
 * received_at slows every insert. The topic rows are locked in topic order, as a batch locks them (locked), so the
 * two cannot deadlock; the totals row only when something was deleted, after the topic rows. Inserts are not blocked: a publish of a key being deleted waits for the row
 * lock, then stores it as new (it is outside the window).
 */
export const EXPIRE_EVENTS = `
WITH doomed AS (
  SELECT seq FROM (SELECT seq, received_at FROM events ORDER BY seq LIMIT $2) AS head WHERE received_at < $1
),
${DELETE_AND_COUNT_EXPIRED}
SELECT coalesce(sum(n), 0)::int AS deleted FROM per_topic`;

/** Forgets up to $2 keys claimed before $1: a copy arriving later is stored as new. */
export const EXPIRE_KEYS = `
WITH doomed AS (SELECT tenant, topic, event_id FROM event_keys WHERE received_at < $1 LIMIT $2),
deleted AS (
  DELETE FROM event_keys k USING doomed d
  WHERE k.tenant = d.tenant AND k.topic = d.topic AND k.event_id = d.event_id RETURNING 1
)
SELECT count(*)::int AS deleted FROM deleted`;

export interface DeletedRow {
  deleted: number;
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
