/**
 * An event's "line": the text that search (`q=`) and LogQL's line filters read, and that the Loki API shows.
 * It is the first of these payload fields that holds a string (Loki pushes keep theirs in `line`), else the
 * payload's JSON text as the store renders it (docs/query.md). The store computes it in SQL from this list, so
 * the index, the filters and the lines returned all read the same text.
 */
export const LINE_FIELDS = ['message', 'msg', 'line', 'log', 'content', 'body'] as const;
