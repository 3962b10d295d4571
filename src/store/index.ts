import type { Event } from '../schema/event.js';
import type { EventFilter, Histogram, HistogramFilter } from '../schema/query.js';
import type { Predicate } from '../query/predicate.js';
import type { TopicEntry, TopicStats } from '../schema/stats.js';
import type { StoreKind } from '../schema/store-kind.js';
import type { DeletionStore } from './deletion-store.js';
import type { LogqlReader } from './logql.js';
import { createPgliteEngine, type PgliteEngineOptions } from './pglite.js';
import { createPostgresEngine } from './postgres.js';
import { createSqlStore, TOPIC_SCAN_BUDGET } from './sql-store.js';
import type { InsertedRow } from './sql.js';

export { copyEmbeddedToPostgres } from './copy.js';
export { createSqlStore, TOPIC_SCAN_BUDGET };
export type { InsertedRow } from './sql.js';
export type { CountRow, EntryRow, LogqlReader, StreamColumn, StreamTotal } from './logql.js';
export type { StoreKind } from '../schema/store-kind.js';
export type { DeletionStore } from './deletion-store.js';

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
  /** Whose event it is: the feed hands each subscriber only its own tenant's. */
  tenant: string;
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

/** `count` consecutive events of a batch that belong to `tenant` (a batch may hold several tenants' requests). */
export interface TenantRun {
  tenant: string;
  count: number;
  /** The tenant's maximum of topics (TENANT_LIMITS max_topics): a batch that would pass it is refused whole. */
  maxTopics?: number | undefined;
}

/**
 * The store: ingest, reads, counters, retention, and deletion jobs with the audit record (DeletionStore). Every
 * read names the tenant whose data it reads (docs/tenants.md); only the live feed's one tail reads every tenant's.
 */
export interface Store extends DeletionStore {
  readonly kind: StoreKind;
  /** How many batches may be committed at once. */
  readonly writers: number;
  /** Applies pending schema migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  /**
   * Inserts a batch in one transaction with its counters; returns the keys that were new. `runs` says whose
   * events they are, in order (default: all the default tenant's).
   */
  insertBatch(events: readonly Event[], runs?: readonly TenantRun[]): Promise<InsertedRow[]>;
  /** A tenant's stored events in seq order, filtered (and matching `search`, compiled from q), after a seq cursor, never past the read horizon. */
  queryEvents(tenant: string, filter: EventFilter, search?: Predicate): Promise<EventPage>;
  /** A tenant's matching events counted per time bucket on ts, every bucket present (src/store/histogram.ts). */
  histogram(tenant: string, filter: HistogramFilter, search?: Predicate): Promise<Histogram>;
  /**
   * Committed events with seq > after (one topic or all) of one tenant, or of every tenant (null: the feed's
   * tail), in seq order: the live stream's source. With a search, only those matching it, and with `through`,
   * none past that seq. Never past the read horizon.
   */
  eventsAfter(tenant: string | null, after: number, topic: string | undefined, limit: number, search?: LiveSearch): Promise<FeedEvent[]>;
  /** The Loki read API's queries on one tenant's events: entries, step counts, label values, series (src/store/logql.ts). */
  logql(tenant: string): LogqlReader;
  /**
   * The read horizon: the highest seq a cursor may pass, because every row at or below it has committed or never
   * will (0 when empty). Batches commit in parallel, so a committed row above it may wait for one below.
   */
  headSeq(): Promise<number>;
  /** Persisted counters of every topic of a tenant (default: the default tenant), in one snapshot (tests and tools: unbounded). */
  topicCounts(tenant?: string): Promise<Map<string, TopicStats>>;
  /** A tenant's totals, topic count, top `top` topics by copies received and the `named` ones, in one snapshot. */
  stats(tenant: string, top: number, named: readonly string[]): Promise<StatsSnapshot>;
  /** A tenant's topics by name after `after`, containing `q` (ignoring case); reads at most TOPIC_SCAN_BUDGET names. */
  topicsPage(tenant: string, query: { after: string | undefined; limit: number; q: string | undefined }): Promise<TopicsPage>;
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

/**
 * One retention window as the statements take it: the tenant it is kept to (none: every tenant), a SQL LIKE
 * pattern over the topic, and its cutoff (none: kept).
 */
export interface RuleCutoff {
  tenant: string | undefined;
  like: string;
  cutoff: Date | undefined;
}

/** A topic of a tenant. */
export interface TenantTopic {
  tenant: string;
  topic: string;
}

/** Where a page of topics (in (tenant, topic) order) starts: after this one, or at it when `inclusive`. */
export interface TopicCursor extends TenantTopic {
  inclusive: boolean;
}

export interface ExpirePage {
  deleted: number;
  /** Topics the page held; fewer than asked for: it was the last page. */
  scanned: number;
  lastTopic: TenantTopic | undefined;
  /** The last topic rows were deleted from (topics are taken in (tenant, name) order). */
  lastDeletedTopic: TenantTopic | undefined;
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
