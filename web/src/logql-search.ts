import { apiGet } from './api.js';
import type { EventFilters } from './histogram.js';

/*
 * LogQL in the events search box (docs/dashboard.md "Search"): a query starting with `{` is a LogQL log query, run
 * through the Loki read API the server already answers (GET /loki/api/v1/query_range, the same compiler and store
 * as Grafana's queries), so both languages mean exactly what docs/query.md says and errors are the server's.
 */

/** A stream selector starts every LogQL query; the q syntax has no use for a leading `{`. */
export function isLogql(q: string | undefined): q is string {
  return q !== undefined && q.trimStart().startsWith('{');
}

/** One log line of a LogQL answer, with its stream's labels (detected_level and parsed labels included). */
export interface LogqlEntry {
  /** Nanoseconds since the epoch, decimal text. */
  ns: string;
  line: string;
  labels: Record<string, string>;
}

interface StreamsBody {
  data: { resultType: string; result: Array<{ stream: Record<string, string>; values: Array<[string, string]> }> };
}

/** A LogQL string literal (Go's double-quoted form; JSON's escapes are a subset of it). */
const literal = (value: string): string => JSON.stringify(value);

/**
 * The query with the form's topic and source added to its stream selector as matchers, so the page-wide topic
 * filter and the source field narrow a LogQL search as they narrow a q search.
 */
export function withFormMatchers(query: string, filters: EventFilters): string {
  const matchers = [
    ...(filters.topic === undefined ? [] : [`topic=${literal(filters.topic)}`]),
    ...(filters.source === undefined ? [] : [`source=${literal(filters.source)}`]),
  ];
  if (matchers.length === 0) return query.trim();
  const rest = query.trimStart().slice(1);
  return `{${matchers.join(', ')}${rest.trimStart().startsWith('}') ? '' : ', '}${rest}`;
}

const msToNs = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;

/** The form's since/until as the API's start (inclusive) and end (exclusive), nanoseconds. */
export function nsRange(filters: EventFilters): { startNs: bigint; endNs: bigint } {
  return {
    startNs: filters.since === undefined ? 0n : msToNs(filters.since),
    endNs: filters.until === undefined ? BigInt(Date.now() + 1) * 1_000_000n : msToNs(filters.until),
  };
}

/** The newest `limit` entries with startNs ≤ time < endNs, newest first, all streams merged. */
export async function logqlPage(
  query: string,
  range: { startNs: bigint; endNs: bigint },
  limit: number,
  signal: AbortSignal,
): Promise<LogqlEntry[]> {
  const params = new URLSearchParams({
    query,
    start: range.startNs.toString(),
    end: range.endNs.toString(),
    limit: String(limit),
    direction: 'backward',
  });
  const body = (await (await apiGet(`/loki/api/v1/query_range?${params.toString()}`, { signal, timeoutMs: 30_000 })).json()) as StreamsBody;
  if (body.data.resultType !== 'streams')
    throw new Error(`a log query answers streams, not a ${body.data.resultType}; metrics are for Grafana`);
  const entries = body.data.result.flatMap((stream) => stream.values.map(([ns, line]) => ({ ns, line, labels: stream.stream })));
  // Newest first across streams; ties keep the server's order within a stream.
  return entries.sort((a, b) => (BigInt(b.ns) > BigInt(a.ns) ? 1 : BigInt(b.ns) < BigInt(a.ns) ? -1 : 0));
}

/** Identity of an entry within a page, to skip the ones an overlapping older page repeats. */
export const entryKey = (entry: LogqlEntry): string => `${entry.ns} ${JSON.stringify(entry.labels)} ${entry.line}`;
