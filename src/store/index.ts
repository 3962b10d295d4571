import { LogaggError } from '../errors.js';
import type { Event } from '../schema/event.js';
import type { EventFilter } from '../schema/query.js';
import { deriveCounters } from '../schema/counters.js';
import type { Predicate } from '../query/predicate.js';
import type { TopicEntry, TopicStats } from '../schema/stats.js';
import type { StoreKind } from '../schema/store-kind.js';
import type { Engine } from './engine.js';
import { createLogqlReader, type LogqlReader } from './logql.js';
import { migrate } from './migrate.js';
import { createPgliteEngine, type PgliteEngineOptions } from './pglite.js';
import { createPostgresEngine } from './postgres.js';
import { compilePredicate, translateQueryError } from './predicate-sql.js';
import { createSearchUpkeep } from './search-upkeep.js';
import { EXPIRE_EVENTS_BY_RULES, EXPIRE_KEYS_BY_RULES, type ExpireKeysRow, type ExpirePageRow } from './retention-sql.js';
import {
  type DeletedRow,
  type EventAfterRow,
  eventsAfterSql,
  eventsPageSql,
  type EventsPageRow,
  EXPIRE_EVENTS,
  EXPIRE_KEYS,
  INSERT_BATCH,
  INSERT_BATCH_KEYED,
  type InsertedRow,
  PING,
  SELECT_EVENTS_AFTER,
  SELECT_EVENTS_PAGE,
  SELECT_EVENTS_PAGE_BEFORE,
  SELECT_READ_HORIZON,
  SELECT_STATS,
  SELECT_TOPIC_COUNTS,
  SELECT_TOPICS_PAGE,
  type StatsRow,
  type TopicCountsRow,
  type TopicsPageRow,
} from './sql.js';

export { copyEmbeddedToPostgres } from './copy.js';
export type { InsertedRow } from './sql.js';
export type { CountRow, EntryRow, LogqlReader, StreamTotal } from './logql.js';
export type { StoreKind } from '../schema/store-kind.js';

/** One page of GET /events, already rendered as a JSON array in ascending seq order. */
export interface EventPage {
  body: string;
  count: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** Events matching the filter remain after lastSeq (as far as this query saw). */
  hasNewer: boolean;
  /** Events matching the filter remain before firstSeq. */
  hasOlder: boolean;
}

/** A committed event for the live stream, already rendered as JSON text. */
export interface FeedEvent {
  seq: number;
  topic: string;
  json: string;
}

/** The totals and a bounded list of topics, read in one snapshot (GET /stats). */
export interface StatsSnapshot {
  totals: TopicStats;
  topicCount: number;
  /** The top topics by copies received, then the named ones not among them. */
  topics: TopicEntry[];
}

/** One page of the topic list by name (GET /topics). */
export interface TopicsPage {
  topics: TopicEntry[];
  /** Where the next page starts (exclusive); null when no topic remains. */
  next: string | null;
}

/** A live stream's search: its condition, and the last seq of the feed page it is applied to (none: open-ended). */
export interface LiveSearch {
  predicate: Predicate;
  through?: number | undefined;
}

/** Names one GET /topics reads at most, whatever it matches: the bound on its work. */
export const TOPIC_SCAN_BUDGET = 10_000;

export interface Store {
  readonly kind: StoreKind;
  /** How many batches may be committed at once. */
  readonly writers: number;
  /** Applies pending schema migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  /** Inserts a batch in one transaction with its counters; returns the keys that were new. */
  insertBatch(events: readonly Event[]): Promise<InsertedRow[]>;
  /** Stored events in seq order, filtered (and matching `search`, compiled from q), after a seq cursor, never past the read horizon. */
  queryEvents(filter: EventFilter, search?: Predicate): Promise<EventPage>;
  /**
   * Committed events with seq > after (one topic or all), in seq order: the live stream's source. With a search,
   * only those matching it, and with `through`, none past that seq. Never past the read horizon.
   */
  eventsAfter(after: number, topic: string | undefined, limit: number, search?: LiveSearch): Promise<FeedEvent[]>;
  /** The Loki read API's queries: entries, step counts, label values, series (src/store/logql.ts). */
  readonly logql: LogqlReader;
  /**
   * The read horizon: the highest seq a cursor may pass, because every row at or below it has committed or never
   * will (0 when empty). Batches commit in parallel, so a committed row above it may wait for one below.
   */
  headSeq(): Promise<number>;
  /** Persisted counters of every topic, read in one snapshot (tests and tools: unbounded). */
  topicCounts(): Promise<Map<string, TopicStats>>;
  /** Totals, topic count, the top `top` topics by copies received and the `named` ones, in one snapshot. */
  stats(top: number, named: readonly string[]): Promise<StatsSnapshot>;
  /** Topics by name after `after`, containing `q` (ignoring case); reads at most TOPIC_SCAN_BUDGET names. */
  topicsPage(query: { after: string | undefined; limit: number; q: string | undefined }): Promise<TopicsPage>;
  /** Retention: deletes up to `limit` of the oldest events received before `cutoff`; returns how many. */
  expireEvents(cutoff: Date, limit: number): Promise<number>;
  /** DEDUP_RETENTION: forgets up to `limit` keys claimed before `cutoff`; returns how many. */
  expireKeys(cutoff: Date, limit: number): Promise<number>;
  /**
   * RETENTION_RULES: deletes up to `limit` expired events of the (at most `topics`) topics from the cursor on,
   * each against the cutoff of the first window whose LIKE pattern matches it (src/store/retention-sql.ts).
   */
  expireEventsByRules(windows: readonly RuleCutoff[], from: TopicCursor, topics: number, limit: number): Promise<ExpirePage>;
  /**
   * RETENTION_RULES: forgets up to `limit` keys received in [from, to) that are past their topic's key cutoff;
   * also returns the database's clock, which sets received_at.
   */
  expireKeysByRules(
    windows: readonly RuleCutoff[],
    from: Date | undefined,
    to: Date,
    limit: number,
  ): Promise<{ deleted: number; dbNow: number }>;
  /** Makes deleted rows' space reusable where nothing else does (PGlite runs no autovacuum). */
  reclaim(): Promise<void>;
  /** Resolves when the database answers; rejects with STORE_FULL while writes are refused for a full disk. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One retention window as the statements take it: a SQL LIKE pattern over the topic, and its cutoff (none: kept). */
export interface RuleCutoff {
  like: string;
  cutoff: Date | undefined;
}

/** Where a page of topics starts: after `topic`, or at it when `inclusive`. */
export interface TopicCursor {
  topic: string;
  inclusive: boolean;
}

export interface ExpirePage {
  deleted: number;
  /** Topics the page held; fewer than asked for: it was the last page. */
  scanned: number;
  lastTopic: string | undefined;
  /** The last topic rows were deleted from (topics are taken in name order). */
  lastDeletedTopic: string | undefined;
  /** How many topics rows were deleted from. */
  topicsDeletedFrom: number;
  /** Until the oldest row of the page's topics comes due, from the cutoffs' clock; undefined: no row to come due. */
  dueInMs: number | undefined;
}

export interface StoreOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Embedded store only: flush each commit to disk before it is reported (default true). */
  embeddedSync?: boolean;
  /** Connections for batch commits (postgres); PGlite has one. */
  workers: number;
  /** Embedded store only: told how long opening (and any crash recovery) took. */
  onOpen?: PgliteEngineOptions['onOpen'];
  /** DEDUP_RETENTION is set: keys are claimed in event_keys, which outlives the payloads. */
  keepKeys?: boolean;
  /** STORE_TIMEOUT_MS: PostgreSQL's statement and query timeouts are derived from it. */
  storeTimeoutMs?: number;
  /** Embedded store only: EMBEDDED_STATEMENT_TIMEOUT_MS, MIN_FREE_DISK_MB, and who is told of engine restarts. */
  embeddedStatementTimeoutMs?: number;
  minFreeDiskMb?: number;
  onEngineRestart?: PgliteEngineOptions['onRestart'];
}

/** Picks the engine: PostgreSQL when a URL is given, else embedded PGlite in dataDir. */
export async function createStore(options: StoreOptions): Promise<Store> {
  const engine = options.databaseUrl
    ? createPostgresEngine({ url: options.databaseUrl, writers: options.workers, storeTimeoutMs: options.storeTimeoutMs })
    : await createPgliteEngine({
        dataDir: options.dataDir,
        sync: options.embeddedSync,
        onOpen: options.onOpen,
        statementTimeoutMs: options.embeddedStatementTimeoutMs,
        minFreeDiskMb: options.minFreeDiskMb,
        onRestart: options.onEngineRestart,
      });
  return createSqlStore(engine, { keepKeys: options.keepKeys ?? false });
}

/**
 * INSERT_BATCH's two parameters: the first copy of each key in arrival order (a later copy in the same batch
 * could only conflict), and the copies received per topic, all copies counted.
 */
function batchParams(events: readonly Event[]): [string, string] {
  const seen = new Map<string, Set<string>>();
  // No prototype: a topic may be called "__proto__".
  const received = Object.create(null) as Record<string, number>;
  const firstCopies: Event[] = [];
  for (const event of events) {
    let ids = seen.get(event.topic);
    if (!ids) {
      ids = new Set();
      seen.set(event.topic, ids);
      received[event.topic] = 0;
    }
    (received[event.topic] as number)++;
    if (ids.has(event.event_id)) continue;
    ids.add(event.event_id);
    firstCopies.push(event);
  }
  return [JSON.stringify(firstCopies), JSON.stringify(received)];
}

/** The one place counters become figures: duplicates and stored are derived, never stored. */
function toTopicStats(received: number, unique: number, expired: number, lastReceivedAt: string | null): TopicStats {
  return { ...deriveCounters({ received, unique, expired }), last_received_at: lastReceivedAt };
}

type CountsColumns = Pick<TopicCountsRow, 'received' | 'unique_count' | 'expired' | 'last_received_at'>;
const rowStats = (row: CountsColumns): TopicStats =>
  toTopicStats(Number(row.received), Number(row.unique_count), Number(row.expired), row.last_received_at);

/** The listed topics of a joined row set (a row with a null topic stands for none). */
function entries(rows: ReadonlyArray<{ topic: string | null } & { [K in keyof CountsColumns]: string | null }>): TopicEntry[] {
  const listed: TopicEntry[] = [];
  for (const row of rows) {
    if (row.topic === null) continue;
    listed.push({ topic: row.topic, ...rowStats(row as CountsColumns) });
  }
  return listed;
}

const rulesJson = (windows: readonly RuleCutoff[]): string =>
  JSON.stringify(windows.map((w, ord) => ({ ord, pattern: w.like, cutoff: w.cutoff?.toISOString() ?? null })));

const optionalSeq = (text: string | null): number | undefined => (text === null ? undefined : Number(text));

/** How long after a batch was refused for a full disk /ready still says STORE_FULL (no write probes it sooner). */
const FULL_REPORTED_MS = 10_000;

/** The store on any engine: the same SQL for both. */
export function createSqlStore(engine: Engine, options: { keepKeys: boolean } = { keepKeys: false }): Store {
  const insertSql = options.keepKeys ? INSERT_BATCH_KEYED : INSERT_BATCH;
  const deleted = async (text: string, cutoff: Date, limit: number): Promise<number> => {
    const [row] = await engine.query<DeletedRow>(text, [cutoff.toISOString(), limit]);
    return row?.deleted ?? 0;
  };
  // PostgreSQL's autovacuum keeps the statistics and the word index's pending list; PGlite has none.
  const searchUpkeep = engine.kind === 'pglite' ? createSearchUpkeep(engine) : undefined;
  // Every cursor read asks this first, in its own statement (SELECT_READ_HORIZON says why). The value read can go
  // down: a batch that read the sequence before one reader and published its claim after it lowers the next read.
  // A horizon once read stays true (what was committed stays so), so readers get the highest read yet: a stream's
  // catch-up that began at the feed's position must never stop below it (docs/architecture.md, "Seqs are drawn
  // in parallel").
  let horizonRead = 0;
  const readHorizon = async (): Promise<number> => {
    // No parameters, but an array: the PostgreSQL engine then runs it as the prepared statement it is.
    const [row] = await engine.query<{ horizon: string }>(SELECT_READ_HORIZON, []);
    horizonRead = Math.max(horizonRead, Number(row?.horizon ?? 0));
    return horizonRead;
  };
  // When a batch was last refused with STORE_FULL, cleared by the next batch that commits: /ready reports it.
  let fullAt: number | undefined;
  return {
    kind: engine.kind,
    writers: engine.writers,
    migrate: () => migrate(engine),
    async insertBatch(events) {
      try {
        await engine.checkWritable?.();
        const rows = await engine.query<InsertedRow>(insertSql, batchParams(events));
        fullAt = undefined;
        return rows;
      } catch (err) {
        if (err instanceof LogaggError && err.code === 'STORE_FULL') fullAt = performance.now();
        throw err;
      }
    },
    async queryEvents(query, search) {
      const backward = query.before !== undefined;
      // Rows above the read horizon are not readable yet: the page ends before horizon + 1 as if asked to.
      const readable = (await readHorizon()) + 1;
      const params: unknown[] = [
        query.after,
        query.topic ?? null,
        query.source ?? null,
        query.since ?? null,
        query.until ?? null,
        query.limit,
        Math.min(query.before ?? readable, readable),
      ];
      let text = backward ? SELECT_EVENTS_PAGE_BEFORE : SELECT_EVENTS_PAGE;
      if (search) {
        text = eventsPageSql(backward, compilePredicate(search, params));
        await searchUpkeep?.();
      }
      const [row] = await engine.query<EventsPageRow>(text, params).catch((err: unknown) => {
        throw search ? translateQueryError(err) : err;
      });
      if (!row) throw new LogaggError('STORE_FAILED', { message: 'The page query returned no row' });
      const moreThisWay = row.fetched > query.limit;
      return {
        body: row.body,
        count: Math.min(row.fetched, query.limit),
        firstSeq: optionalSeq(row.first_seq),
        lastSeq: optionalSeq(row.last_seq),
        hasNewer: backward ? row.other_way : moreThisWay,
        hasOlder: backward ? moreThisWay : row.other_way,
      };
    },
    async eventsAfter(after, topic, limit, search) {
      const horizon = await readHorizon();
      const through = Math.min(horizon, search?.through ?? horizon);
      if (through <= after) return [];
      const params: unknown[] = [after, topic ?? null, limit, through];
      const text = search ? eventsAfterSql(compilePredicate(search.predicate, params)) : SELECT_EVENTS_AFTER;
      const rows = await engine.query<EventAfterRow>(text, params).catch((err: unknown) => {
        throw search ? translateQueryError(err) : err;
      });
      return rows.map((row) => ({ seq: Number(row.seq), topic: row.topic, json: row.json }));
    },
    logql: createLogqlReader(engine),
    headSeq: readHorizon,
    async topicCounts() {
      const rows = await engine.query<TopicCountsRow>(SELECT_TOPIC_COUNTS);
      return new Map(rows.map((row) => [row.topic, rowStats(row)]));
    },
    async stats(top, named) {
      const rows = await engine.query<StatsRow>(SELECT_STATS, [top, JSON.stringify(named)]);
      const first = rows[0];
      if (!first) throw new LogaggError('STORE_FAILED', { message: 'The totals row is missing (schema not migrated?)' });
      return {
        totals: toTopicStats(Number(first.total_received), Number(first.total_unique), Number(first.total_expired), null),
        topicCount: Number(first.topic_count),
        topics: entries(rows),
      };
    },
    async topicsPage({ after, limit, q }) {
      // Without a filter every name read is kept: reading limit + 1 tells whether more remain.
      const budget = q === undefined ? limit + 1 : TOPIC_SCAN_BUDGET;
      const rows = await engine.query<TopicsPageRow>(SELECT_TOPICS_PAGE, [after ?? '', budget, q ?? null, limit]);
      const matched = entries(rows);
      const first = rows[0];
      if (matched.length > limit) {
        const page = matched.slice(0, limit);
        return { topics: page, next: (page[page.length - 1] as TopicEntry).topic };
      }
      // The budget ran out before the page filled: more names remain after the last one read.
      const exhausted = first !== undefined && first.scanned >= budget;
      return { topics: matched, next: exhausted ? first.last_scanned : null };
    },
    expireEvents: (cutoff, limit) => deleted(EXPIRE_EVENTS, cutoff, limit),
    expireKeys: (cutoff, limit) => deleted(EXPIRE_KEYS, cutoff, limit),
    async expireEventsByRules(windows, from, topics, limit) {
      const params = [rulesJson(windows), from.topic, topics, limit, from.inclusive];
      const [row] = await engine.query<ExpirePageRow>(EXPIRE_EVENTS_BY_RULES, params);
      return {
        deleted: row?.deleted ?? 0,
        scanned: row?.scanned ?? 0,
        lastTopic: row?.last_topic ?? undefined,
        lastDeletedTopic: row?.last_deleted_topic ?? undefined,
        topicsDeletedFrom: row?.topics_deleted_from ?? 0,
        dueInMs: row?.due_in_ms ?? undefined,
      };
    },
    async expireKeysByRules(windows, from, to, limit) {
      const params = [rulesJson(windows), from?.toISOString() ?? '-infinity', to.toISOString(), limit];
      const [row] = await engine.query<ExpireKeysRow>(EXPIRE_KEYS_BY_RULES, params);
      return { deleted: row?.deleted ?? 0, dbNow: row?.db_now_ms ?? Date.now() };
    },
    async reclaim() {
      if (engine.kind === 'pglite') await engine.exec('VACUUM events, event_keys, topic_stats');
    },
    async ping() {
      await engine.checkWritable?.();
      if (fullAt !== undefined && performance.now() - fullAt < FULL_REPORTED_MS) {
        throw new LogaggError('STORE_FULL', { message: 'The last batch was refused for a full disk' });
      }
      await engine.query(PING);
    },
    close: () => engine.close(),
  };
}
