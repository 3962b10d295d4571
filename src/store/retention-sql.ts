/**
 * Retention by rules (RETENTION_RULES): the statements that delete per topic window. Without rules the job runs
 * EXPIRE_EVENTS / EXPIRE_KEYS (src/store/sql.ts), one cutoff for every topic.
 *
 * $1 is always the windows as a JSON array [{"ord": n, "tenant": name or null, "pattern": LIKE pattern, "cutoff":
 * ISO time or null}] in the order written, the default last (pattern '%'); a tenant's topic's cutoff is the first
 * matching entry's (its tenant, or null for any, and its pattern), null keeps it. Resolving the rule in the
 * statement keeps one statement per batch of deletions and no list of topics in Node.
 */

import { DELETE_AND_COUNT_EXPIRED } from './sql.js';

const RULES = `rules AS MATERIALIZED (
  SELECT ord, tenant, pattern, cutoff FROM json_to_recordset($1::json) AS r(ord int, tenant text, pattern text, cutoff timestamptz)
)`;

/** The first rule matching the tenant's topic (columns `t`.tenant, `t`.topic): its cutoff (NULL when none matches or it keeps forever). */
const cutoffOf = (t: string): string =>
  `(SELECT r.cutoff FROM rules r WHERE (r.tenant IS NULL OR r.tenant = ${t}.tenant) AND ${t}.topic LIKE r.pattern ORDER BY r.ord LIMIT 1)`;

/**
 * Deletes up to $4 expired events of the topics in one page: the (tenant, topic) pairs after ($6, $2) in
 * name order (that pair itself too when $5), at most $3 of them; the rules match the topic, whatever the tenant. The seq-index head walk of EXPIRE_EVENTS cannot serve several windows (a head held by a long window's
 * rows hides a short window's behind it), so each topic's own head is walked on events_topic_seq_idx: one index
 * probe per topic tells whether its oldest row is past its cutoff, and only such topics have up to $4 rows of
 * their head read. A topic whose counters say it holds no rows (every unique event expired or deleted; they move with the
 * rows, in one snapshot) is not probed. Counters and locks as in EXPIRE_EVENTS: the topic rows in topic order, then the totals row.
 * Returns how many were deleted, how many topics the page held, its last topic (the next page's $2) and the last
 * topic rows were deleted from: topics are taken in name order, so when the batch filled, the topics before that
 * one are done and the next statement starts at it ($5 true), not at the page's start again. Last, how long
 * until the page's first row comes due (its topic's oldest row against its cutoff), for the job's quiet spell.
 */
export const EXPIRE_EVENTS_BY_RULES = `
WITH ${RULES},
page AS MATERIALIZED (
  SELECT tenant, topic, unique_count > expired + deleted AS holds_rows FROM topic_stats
  WHERE (tenant, topic) > ($6, $2) OR ($5 AND (tenant, topic) = ($6, $2)) ORDER BY tenant, topic LIMIT $3
),
windowed AS MATERIALIZED (SELECT p.tenant, p.topic, ${cutoffOf('p')} AS cutoff FROM page p WHERE p.holds_rows),
probed AS MATERIALIZED (
  SELECT w.tenant, w.topic, w.cutoff,
    (SELECT e.received_at FROM events e WHERE e.tenant = w.tenant AND e.topic = w.topic ORDER BY e.seq LIMIT 1) AS oldest
  FROM windowed w WHERE w.cutoff IS NOT NULL
),
due AS MATERIALIZED (SELECT tenant, topic, cutoff FROM probed WHERE oldest < cutoff),
doomed AS (
  SELECT h.seq FROM due d CROSS JOIN LATERAL (
    SELECT head.seq FROM (
      SELECT e.seq, e.received_at FROM events e WHERE e.tenant = d.tenant AND e.topic = d.topic ORDER BY e.seq LIMIT $4
    ) head
    WHERE head.received_at < d.cutoff
  ) h
  LIMIT $4
),
${DELETE_AND_COUNT_EXPIRED},
last_page AS (SELECT tenant, topic FROM page ORDER BY tenant DESC, topic DESC LIMIT 1),
last_deleted AS (SELECT tenant, topic FROM per_topic ORDER BY tenant DESC, topic DESC LIMIT 1)
SELECT (SELECT coalesce(sum(n), 0) FROM per_topic)::int AS deleted, (SELECT count(*) FROM page)::int AS scanned,
  (SELECT tenant FROM last_page) AS last_tenant, (SELECT topic FROM last_page) AS last_topic,
  (SELECT tenant FROM last_deleted) AS last_deleted_tenant, (SELECT topic FROM last_deleted) AS last_deleted_topic,
  (SELECT count(*) FROM per_topic)::int AS topics_deleted_from,
  (SELECT floor(extract(epoch FROM min(oldest - cutoff)) * 1000) FROM probed)::float8 AS due_in_ms`;

export interface ExpirePageRow {
  deleted: number;
  scanned: number;
  last_tenant: string | null;
  last_topic: string | null;
  last_deleted_tenant: string | null;
  last_deleted_topic: string | null;
  topics_deleted_from: number;
  due_in_ms: number | null;
}

/**
 * Forgets up to $4 keys received in [$2, $3) that are past their own topic's key cutoff. The range is one key
 * window's slice of the BRIN index on received_at: the job runs it once per distinct window, from where that
 * window's last pass ended (less a margin) to its cutoff now, so keys of longer windows are read about once per
 * pass, not every key older than the shortest window. Keys of other windows in the slice are deleted too when
 * they are past their own cutoff (the per-row test decides, whichever slice found them). Also returns the
 * database's clock (received_at is set by it), so the job's next slice never starts after a key not yet read.
 */
export const EXPIRE_KEYS_BY_RULES = `
WITH ${RULES},
doomed AS (
  SELECT k.tenant, k.topic, k.event_id FROM event_keys k
  WHERE k.received_at >= $2::timestamptz AND k.received_at < $3::timestamptz AND k.received_at < ${cutoffOf('k')}
  LIMIT $4
),
deleted AS (
  DELETE FROM event_keys k USING doomed d
  WHERE k.tenant = d.tenant AND k.topic = d.topic AND k.event_id = d.event_id RETURNING 1
)
SELECT count(*)::int AS deleted, floor(extract(epoch FROM now()) * 1000)::float8 AS db_now_ms FROM deleted`;

export interface ExpireKeysRow {
  deleted: number;
  db_now_ms: number;
}
