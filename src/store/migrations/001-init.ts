/** Events keyed by (topic, event_id), commit-ordered by seq; counters per topic in the same database. */
export const sql = `
CREATE TABLE events (
  seq         bigint GENERATED ALWAYS AS IDENTITY,
  topic       text        NOT NULL,
  event_id    text        NOT NULL,
  ts          timestamptz NOT NULL,
  source      text        NOT NULL,
  payload     json        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, event_id)
);
CREATE UNIQUE INDEX events_seq_key ON events (seq);
CREATE INDEX events_topic_seq_idx ON events (topic, seq);

CREATE TABLE topic_stats (
  topic        text   PRIMARY KEY,
  received     bigint NOT NULL,
  unique_count bigint NOT NULL,
  CHECK (unique_count >= 0 AND unique_count <= received)
);
`;
