/**
 * Many topics (docs/architecture.md, "Counters"): the totals in a one-row table moved in the same statement as the
 * per-topic counters, so GET /stats reads them in O(1) instead of summing every topic, and an index that hands the
 * top N topics by copies received to /stats without sorting them all. Backfilled from the topic rows.
 */
export const sql = `
CREATE TABLE stats_totals (
  id           boolean PRIMARY KEY DEFAULT true CHECK (id),
  received     bigint NOT NULL,
  unique_count bigint NOT NULL,
  expired      bigint NOT NULL,
  topic_count  bigint NOT NULL,
  CHECK (unique_count >= 0 AND unique_count <= received AND expired >= 0 AND expired <= unique_count AND topic_count >= 0)
);
INSERT INTO stats_totals (id, received, unique_count, expired, topic_count)
SELECT true, coalesce(sum(received), 0), coalesce(sum(unique_count), 0), coalesce(sum(expired), 0), count(*)
FROM topic_stats;

CREATE INDEX topic_stats_received_idx ON topic_stats (received DESC, topic);
`;
