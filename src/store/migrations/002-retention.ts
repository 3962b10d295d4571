/**
 * Retention: per-topic `expired` (rows deleted by the retention job, so rows stored now = unique_count - expired
 * without counting), when a copy last arrived, and the compact key table that DEDUP_RETENTION keeps after the
 * payloads are gone (docs/operations.md, "Retention and the dedup window").
 */
export const sql = `
ALTER TABLE topic_stats
  ADD COLUMN expired bigint NOT NULL DEFAULT 0,
  ADD COLUMN last_received_at timestamptz;
ALTER TABLE topic_stats ADD CONSTRAINT topic_stats_expired_check CHECK (expired >= 0 AND expired <= unique_count);
UPDATE topic_stats s SET last_received_at =
  (SELECT e.received_at FROM events e WHERE e.topic = s.topic ORDER BY e.seq DESC LIMIT 1);

CREATE TABLE event_keys (
  topic       text        NOT NULL,
  event_id    text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, event_id)
);
-- Keys arrive in time order, so a block-range index finds the expired ones for a few bytes per 128 pages.
CREATE INDEX event_keys_received_at_brin ON event_keys USING brin (received_at);
`;
