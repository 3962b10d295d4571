import { LogaggError } from '../errors.js';
import type { Event } from '../schema/event.js';
import type { EventFilter } from '../schema/query.js';
import { deriveCounters } from '../schema/counters.js';
import type { TopicStats } from '../schema/stats.js';
import type { StoreKind } from '../schema/store-kind.js';
import type { Engine } from './engine.js';
import { migrate } from './migrate.js';
import { createPgliteEngine, type PgliteEngineOptions } from './pglite.js';
import { createPostgresEngine } from './postgres.js';
import {
  type DeletedRow,
  type EventAfterRow,
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
  SELECT_HEAD_SEQ,
  SELECT_TOPIC_COUNTS,
  type TopicCountsRow,
} from './sql.js';

export { copyEmbeddedToPostgres } from './copy.js';
export type { InsertedRow } from './sql.js';
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

export interface Store {
  readonly kind: StoreKind;
  /** How many batches may be committed at once. */
  readonly writers: number;
  /** Applies pending schema migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  /** Inserts a batch in one transaction with its counters; returns the keys that were new. */
  insertBatch(events: readonly Event[]): Promise<InsertedRow[]>;
  /** Stored events in commit order, filtered, after a seq cursor. */
  queryEvents(filter: EventFilter): Promise<EventPage>;
  /** Committed events with seq > after (one topic or all), in seq order: the live stream's source. */
  eventsAfter(after: number, topic: string | undefined, limit: number): Promise<FeedEvent[]>;
  /** The highest committed seq (0 when empty). */
  headSeq(): Promise<number>;
  /** Persisted counters per topic, read in one snapshot. */
  topicCounts(): Promise<Map<string, TopicStats>>;
  /** Retention: deletes up to `limit` of the oldest events received before `cutoff`; returns how many. */
  expireEvents(cutoff: Date, limit: number): Promise<number>;
  /** DEDUP_RETENTION: forgets up to `limit` keys claimed before `cutoff`; returns how many. */
  expireKeys(cutoff: Date, limit: number): Promise<number>;
  /** Makes deleted rows' space reusable where nothing else does (PGlite runs no autovacuum). */
  reclaim(): Promise<void>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
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
}

/** Picks the engine: PostgreSQL when a URL is given, else embedded PGlite in dataDir. */
export async function createStore(options: StoreOptions): Promise<Store> {
  const engine = options.databaseUrl
    ? createPostgresEngine({ url: options.databaseUrl, writers: options.workers })
    : await createPgliteEngine({ dataDir: options.dataDir, sync: options.embeddedSync, onOpen: options.onOpen });
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

const optionalSeq = (text: string | null): number | undefined => (text === null ? undefined : Number(text));

/** The store on any engine: the same SQL for both. */
export function createSqlStore(engine: Engine, options: { keepKeys: boolean } = { keepKeys: false }): Store {
  const insertSql = options.keepKeys ? INSERT_BATCH_KEYED : INSERT_BATCH;
  const deleted = async (text: string, cutoff: Date, limit: number): Promise<number> => {
    const [row] = await engine.query<DeletedRow>(text, [cutoff.toISOString(), limit]);
    return row?.deleted ?? 0;
  };
  return {
    kind: engine.kind,
    writers: engine.writers,
    migrate: () => migrate(engine),
    insertBatch: (events) => engine.query<InsertedRow>(insertSql, batchParams(events)),
    async queryEvents(query) {
      const backward = query.before !== undefined;
      const [row] = await engine.query<EventsPageRow>(backward ? SELECT_EVENTS_PAGE_BEFORE : SELECT_EVENTS_PAGE, [
        query.after,
        query.topic ?? null,
        query.source ?? null,
        query.since ?? null,
        query.until ?? null,
        query.limit,
        query.before ?? null,
      ]);
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
    async eventsAfter(after, topic, limit) {
      const rows = await engine.query<EventAfterRow>(SELECT_EVENTS_AFTER, [after, topic ?? null, limit]);
      return rows.map((row) => ({ seq: Number(row.seq), topic: row.topic, json: row.json }));
    },
    async headSeq() {
      const [row] = await engine.query<{ seq: string }>(SELECT_HEAD_SEQ);
      return Number(row?.seq ?? 0);
    },
    async topicCounts() {
      const rows = await engine.query<TopicCountsRow>(SELECT_TOPIC_COUNTS);
      const counts = new Map<string, TopicStats>();
      for (const row of rows) {
        const persisted = { received: Number(row.received), unique: Number(row.unique_count), expired: Number(row.expired) };
        counts.set(row.topic, { ...deriveCounters(persisted), last_received_at: row.last_received_at });
      }
      return counts;
    },
    expireEvents: (cutoff, limit) => deleted(EXPIRE_EVENTS, cutoff, limit),
    expireKeys: (cutoff, limit) => deleted(EXPIRE_KEYS, cutoff, limit),
    async reclaim() {
      if (engine.kind === 'pglite') await engine.exec('VACUUM events, event_keys, topic_stats');
    },
    async ping() {
      await engine.query(PING);
    },
    close: () => engine.close(),
  };
}
