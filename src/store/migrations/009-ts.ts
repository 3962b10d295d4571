/**
 * An index on the event timestamp carrying the stream columns: the time range of LogQL's metric queries and of
 * the histogram is an index range, and a count per topic/source and time bin is an index-only scan, which never
 * reads the payloads (docs/performance.md "LogQL metric queries"; EXPLAIN ANALYZE at 1,000,000 events: the
 * heap's 277 MB against the index's 39 MB). A btree rather than a BRIN: a BRIN only skips heap pages outside the
 * range, while a range that covers most of the table (the last hour of an hour's events) still reads them all.
 * Built in the migration's transaction (not CONCURRENTLY): seconds per million rows. The tenant leads (migration 8):
 * every such read is one tenant's.
 */
export const sql = `
CREATE INDEX events_ts_idx ON events (tenant, ts) INCLUDE (topic, source);
`;
