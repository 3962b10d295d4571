/**
 * The same line (migration 4's logagg_line), found at half the cost. On the json type every `->` parses the payload
 * text from the start, and the function asked up to six keys twice each: 20–30 µs a row of ingest for a payload
 * whose line is in `content` or `body` (the last keys asked), on every insert, since the word index is built on it
 * (measured: 100,000 OTLP-shaped payloads 2.7 s → 1.2 s, /publish-shaped 1.2 s → 0.7 s, less a 0.3 s scan).
 * A key is asked only when its quoted name is in the text: without a `\u` escape anywhere, a key named `message`
 * can only be written `"message"` (none of the six names holds a character JSON escapes otherwise), so a text
 * without it has no such key and the answer is unchanged; a text with a `\u` escape takes migration 4's chain as
 * it was. The result is the same for every payload, so the word index built on migration 4's function stays valid
 * without a rebuild (test/store/line-function.test.ts compares both functions on random and crafted payloads).
 * SQL, not plpgsql, so the planner inlines it: a plpgsql version with one `->` per key was no faster.
 */
/** The payload keys a line is taken from, in order (migration 4; docs/query.md). */
const LINE_KEYS = ['message', 'msg', 'line', 'log', 'content', 'body'];
const chain = (guard: (key: string) => string): string =>
  LINE_KEYS.map((key) => `      WHEN ${guard(key)}json_typeof(payload -> '${key}') = 'string' THEN payload ->> '${key}'`).join('\n');

export const LINE_FUNCTION = `
CREATE OR REPLACE FUNCTION logagg_line(payload json) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN strpos(payload::text, '\\u') > 0 THEN CASE
${chain(() => '')}
      ELSE payload::text
    END
  ELSE CASE
${chain((key) => `strpos(payload::text, '"${key}"') > 0 AND `)}
      ELSE payload::text
    END
  END
$$;
`;

export const sql = LINE_FUNCTION;
