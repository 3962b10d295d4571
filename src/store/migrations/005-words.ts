/**
 * Search on a full-text index (docs/architecture.md says why it replaced migration 4's trigram index): the words of
 * an event's line (src/query/words.ts) as a tsvector, in a GIN index. A word is a run of characters other than ASCII
 * punctuation, spaces and controls, lowercased; the rule reads ASCII only, so both engines cut a line alike whatever
 * their locale, and src/query/words.ts cuts a search term at the same places. PostgreSQL's text-search parser is not
 * used: it keeps `/api/v1/orders`, `a.b@c.com` and `foo.bar` whole, swallows what looks like an HTML tag, and reads
 * `-42` as a signed number, so a word inside any of them could not be found and no index term could be derived from a
 * LogQL needle safely. array_to_tsvector takes the words as they are (no positions: a phrase is rechecked on the line).
 *
 * Two limits of a tsvector are kept out of ingest (either would fail a whole batch): a lexeme is at most 2,047 bytes,
 * so a run longer than 250 characters is cut into pieces of 250, by substr over the words (a regexp_replace with
 * `([^ ]{250})` took 4–5 ms a row for one 2,000-character run natively and 14 ms in PGlite, so a batch of 500 events
 * each holding a long token such as base64 took 7 s and was refused; substr takes 0.4–0.8 ms natively); a tsvector's lexemes total at most 1 MiB, so only
 * the first 250,000 characters (≤ 1,000,000 bytes) are indexed, and a longer line carries the lexeme `~`, which no
 * word can be, so an exact filter can still find it (src/store/predicate-sql.ts). plpgsql, not SQL: a SQL function
 * reading its argument more than once is not inlined for an argument as dear as logagg_line(payload), and a call
 * that is not inlined took 4.7 s for 200,000 lines where this one takes 2.0 s. pg_trgm stays loaded; nothing uses it.
 *
 * WORDS_FUNCTION is the function alone, for the bench's raw ceiling too (bench/db-limit.ts: the same index upkeep).
 */
export const WORDS_FUNCTION = `
CREATE FUNCTION logagg_words(line text) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  words text := regexp_replace(lower(left(line, 250000)), '[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]+', ' ', 'g');
  parts text[] := string_to_array(words, ' ');
BEGIN
  IF length(words) > 250 AND words ~ '[^ ]{251}' THEN
    parts := ARRAY(SELECT substr(w, 1 + 250 * k, 250) FROM unnest(parts) AS w, generate_series(0, (length(w) - 1) / 250) AS k);
  END IF;
  IF length(line) > 250000 THEN
    parts := parts || '~'::text;
  END IF;
  RETURN array_to_tsvector(array_remove(parts, ''));
END
$$;
`;

export const sql = `${WORDS_FUNCTION}DROP INDEX events_line_trgm_idx;
CREATE INDEX events_line_words_idx ON events USING gin (logagg_words(logagg_line(payload)));
`;
