/**
 * Moving an embedded store to PostgreSQL (copy.ts): rows keep their tenant, seq and received_at, counters come
 * along as they are.
 */
import { topicCountsColumns, type TopicCountsRow } from './sql.js';

export const SELECT_EVENTS_TO_COPY = `
SELECT seq::text AS seq, tenant, topic, event_id, ts::text AS ts, source, payload::text AS payload, received_at::text AS received_at
FROM events WHERE seq > $1 ORDER BY events.seq LIMIT $2`;

export interface CopiedEventRow {
  seq: string;
  tenant: string;
  topic: string;
  event_id: string;
  ts: string;
  source: string;
  payload: string;
  received_at: string;
}

export const INSERT_COPIED_EVENTS = `
INSERT INTO events (seq, tenant, topic, event_id, ts, source, payload, received_at) OVERRIDING SYSTEM VALUE
SELECT seq::bigint, tenant, topic, event_id, ts::timestamptz, source, payload::json, received_at::timestamptz
FROM json_to_recordset($1::json) AS t(seq text, tenant text, topic text, event_id text, ts text, source text, payload text, received_at text)`;

export const SELECT_ALL_TOPIC_COUNTS = `SELECT tenant, ${topicCountsColumns('topic_stats')} FROM topic_stats`;

export interface CopiedCountsRow extends TopicCountsRow {
  tenant: string;
}

// After the counters are copied: each tenant's totals row is the sum of its topics' (the target held no events).
export const CLEAR_TOTALS = 'DELETE FROM stats_totals';
export const RESET_TOTALS = `
INSERT INTO stats_totals (tenant, received, unique_count, expired, deleted, topic_count)
SELECT tenant, sum(received), sum(unique_count), sum(expired), sum(deleted), count(*) FROM topic_stats GROUP BY tenant`;

export const INSERT_COPIED_COUNTS = `
INSERT INTO topic_stats (tenant, topic, received, unique_count, expired, deleted, last_received_at)
SELECT tenant, topic, received::bigint, unique_count::bigint, expired::bigint, deleted::bigint, last_received_at::timestamptz
FROM json_to_recordset($1::json) AS t(tenant text, topic text, received text, unique_count text, expired text, deleted text, last_received_at text)`;

// The DEDUP_RETENTION keys and the tombstones, paged by their primary key.
export const SELECT_KEYS_TO_COPY = `
SELECT tenant, topic, event_id, received_at::text AS received_at FROM event_keys
WHERE (tenant, topic, event_id) > ($4, $1, $2) ORDER BY tenant, topic, event_id LIMIT $3`;

export interface CopiedKeyRow {
  tenant: string;
  topic: string;
  event_id: string;
  received_at: string;
}

export const INSERT_COPIED_KEYS = `
INSERT INTO event_keys (tenant, topic, event_id, received_at)
SELECT tenant, topic, event_id, received_at::timestamptz
FROM json_to_recordset($1::json) AS t(tenant text, topic text, event_id text, received_at text)`;

// New rows must get seqs after the copied ones.
export const ADVANCE_SEQ = `SELECT setval(pg_get_serial_sequence('events', 'seq'), greatest((SELECT max(seq) FROM events), 1))`;

export const COUNT_EVENTS = 'SELECT count(*)::text AS n FROM events';
