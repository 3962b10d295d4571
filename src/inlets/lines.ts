// JSON whitespace only: a line of other Unicode spaces is not blank, and not JSON either.
const BLANK_LINE = /^[ \t\r]*$/;

/**
 * Calls `visit` with each non-blank line of a newline-delimited body (NDJSON, an Elasticsearch bulk body) and its
 * 1-based number; blank lines are skipped but counted, so the numbers match an editor's. Returns the last line's
 * number. A callback, not a generator: this runs once per event on the ingest path.
 */
export function forEachLine(text: string, visit: (raw: string, line: number) => void): number {
  let line = 0;
  for (let start = 0; start <= text.length;) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const raw = text.slice(start, end);
    start = end + 1;
    line++;
    if (raw.length === 0 || BLANK_LINE.test(raw)) continue;
    visit(raw, line);
  }
  return line;
}
