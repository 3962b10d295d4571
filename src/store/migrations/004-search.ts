/**
 * Search (docs/query.md): an event's line as an IMMUTABLE SQL function of its payload, so it can be indexed, and a
 * trigram GIN index on it. The trigram index serves case-sensitive and case-insensitive substring matches (LIKE,
 * ILIKE) and regexes (~, ~*) alike, which the search syntax and LogQL's line filters both compile to
 * (src/store/predicate-sql.ts). Migration 5 replaced the trigram index with a word index; docs/architecture.md says why.
 *
 * The field list is LINE_FIELDS (src/query/line.ts) as of this migration; test/store/predicate-sql.test.ts checks
 * that the function still reads that list, so changing it takes a new migration. Each field is read with `->`
 * (json keeps the text, so a repeated key reads as PostgreSQL's json operators do) and taken only when it holds
 * a string; a CASE chain rather than a json_each walk: 4x faster per row (measured on 300,000 rows).
 */
export const sql = `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE FUNCTION logagg_line(payload json) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN json_typeof(payload -> 'message') = 'string' THEN payload ->> 'message'
    WHEN json_typeof(payload -> 'msg') = 'string' THEN payload ->> 'msg'
    WHEN json_typeof(payload -> 'line') = 'string' THEN payload ->> 'line'
    WHEN json_typeof(payload -> 'log') = 'string' THEN payload ->> 'log'
    WHEN json_typeof(payload -> 'content') = 'string' THEN payload ->> 'content'
    WHEN json_typeof(payload -> 'body') = 'string' THEN payload ->> 'body'
    ELSE payload::text
  END
$$;
CREATE INDEX events_line_trgm_idx ON events USING gin (logagg_line(payload) gin_trgm_ops);
`;
