import { LogaggError } from '../../errors.js';
import type { FeedEvent } from '../../ingest/feed.js';
import { planLog } from '../../query/logql/pipeline.js';
import { parseLogql } from '../../query/logql/parse.js';
import { entryOf } from '../../query/logql/scan.js';
import type { Predicate } from '../../query/predicate.js';
import type { Store } from '../../store/index.js';

/** Matches no event: what a selector no stream can match follows (the stream stays open and silent, as Loki's tail). */
const NOTHING: Predicate = { kind: 'any', of: [] };

/** What GET /events/stream?logql= follows: the feed's read, and the check of the stages the store cannot run. */
export interface LogqlFollow {
  /** The feed's shared read; the key is the Loki tail's for the same query, so the two share one read. */
  search: { key: string; predicate: Predicate };
  /**
   * The events of a page (live or catch-up) that pass the query's JavaScript stages (parsers, label filters on
   * parsed fields, the detected level), in seq order; undefined when the SQL predicate is the whole query.
   */
  keep: ((events: readonly FeedEvent[]) => Promise<FeedEvent[]>) | undefined;
}

/**
 * A LogQL log query for the SSE stream (docs/stream.md, "Following a LogQL query"): the stream sends the events
 * whose entries the query keeps, whole (as for q=), so line_format, drop and keep decide which events pass but
 * change nothing in what is sent. A metric query, or one that does not parse, is a 400 before the stream opens.
 */
export function followLogql(text: string, store: Pick<Store, 'logql'>, tenant: string): LogqlFollow {
  const expr = parseLogql(text);
  if (expr.kind !== 'log') {
    throw new LogaggError('LOGQL_UNSUPPORTED', {
      message: 'The live stream follows a log query ({…} and its pipeline), not a metric query',
    });
  }
  const plan = planLog(expr);
  const none = plan.where === false || (plan.levels !== undefined && plan.levels.length === 0);
  const predicate = plan.where === false || none ? NOTHING : plan.where;
  const search = { key: `logql:${JSON.stringify(predicate)}`, predicate };
  if (none || (plan.stages.length === 0 && plan.levels === undefined)) return { search, keep: undefined };
  const levels = plan.levels as string[] | undefined;
  const keep = async (events: readonly FeedEvent[]): Promise<FeedEvent[]> => {
    if (events.length === 0) return [];
    const rows = await store.logql(tenant).entriesBySeq(events.map((event) => String(event.seq)));
    const kept = new Set<string>();
    for (const row of rows) {
      if (levels !== undefined && !levels.includes(row.level)) continue;
      if (entryOf(plan, row) !== undefined) kept.add(row.seq);
    }
    return events.filter((event) => kept.has(String(event.seq)));
  };
  return { search, keep };
}
