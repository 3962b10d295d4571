/*
 * The store on either engine (src/store/index.ts holds its interface and picks the engine): the same SQL for both,
 * from sql.ts, retention-sql.ts, predicate-sql.ts and logql-sql.ts.
 */
import { LogaggError } from '../errors.js';
import type { Event } from '../schema/event.js';
import { deriveCounters, type PersistedCounters } from '../schema/counters.js';
import type { TopicEntry, TopicStats } from '../schema/stats.js';
import type { Engine } from './engine.js';
import { createDeletionStore } from './deletion-store.js';
import { readHistogram } from './histogram.js';
import { createLogqlReader } from './logql.js';
import { DEFAULT_TENANT } from '../schema/keys.js';
import { migrate } from './migrate.js';
import { compilePredicate, translateQueryError } from './predicate-sql.js';
import { createSearchUpkeep } from './search-upkeep.js';
import { topicLimitRefusal } from './topic-limit.js';
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
import { withoutMarks } from './visible-sql.js';

import type { RuleCutoff, Store, TenantRun, TenantTopic } from './index.js';

/**
 * INSERT_BATCH's three parameters: per run of one tenant's events, the first copy of each key in arrival order (a
 * later copy in the same batch could only conflict), as [{"tenant", "events"}]; the copies received per tenant
 * and topic, all copies counted, as {"tenant": {"topic": n}}; the maximum of topics of each limited tenant, as
 * {"tenant": n}, or null when none is.
 */
function batchParams(events: readonly Event[], runs: readonly TenantRun[]): [string, string, string | null] {
  const seen = new Map<string, Map<string, Set<string>>>();
  // No prototype: a tenant or a topic may be called "__proto__".
  const received = Object.create(null) as Record<string, Record<string, number>>;
  const groups: string[] = [];
  let maxTopics: Record<string, number> | null = null;
  let at = 0;
  for (const run of runs) {
    if (run.maxTopics !== undefined) {
      maxTopics ??= Object.create(null) as Record<string, number>;
      maxTopics[run.tenant] = run.maxTopics;
    }
    let topics = seen.get(run.tenant);
    if (!topics) {
      topics = new Map();
      seen.set(run.tenant, topics);
      received[run.tenant] = Object.create(null) as Record<string, number>;
    }
    const counts = received[run.tenant] as Record<string, number>;
    const firstCopies: Event[] = [];
    for (const end = at + run.count; at < end; at++) {
      const event = events[at] as Event;
      let ids = topics.get(event.topic);
      if (!ids) {
        ids = new Set();
        topics.set(event.topic, ids);
        counts[event.topic] = 0;
      }
      (counts[event.topic] as number)++;
      if (ids.has(event.event_id)) continue;
      ids.add(event.event_id);
      firstCopies.push(event);
    }
    groups.push(`{"tenant":${JSON.stringify(run.tenant)},"events":${JSON.stringify(firstCopies)}}`);
  }
  if (at !== events.length) throw new LogaggError('STORE_FAILED', { message: 'The tenant runs do not cover the batch' });
  return [`[${groups.join(',')}]`, JSON.stringify(received), maxTopics && JSON.stringify(maxTopics)];
}

/** The one place counters become figures: duplicates and stored are derived, never stored. */
function toTopicStats(counters: PersistedCounters, lastReceivedAt: string | null): TopicStats {
  return { ...deriveCounters(counters), last_received_at: lastReceivedAt };
}

type CountsColumns = Pick<TopicCountsRow, 'received' | 'unique_count' | 'expired' | 'deleted' | 'last_received_at'>;
const rowStats = (row: CountsColumns): TopicStats =>
  toTopicStats(
    { received: Number(row.received), unique: Number(row.unique_count), expired: Number(row.expired), deleted: Number(row.deleted) },
    row.last_received_at,
  );

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
  JSON.stringify(windows.map((w, ord) => ({ ord, tenant: w.tenant ?? null, pattern: w.like, cutoff: w.cutoff?.toISOString() ?? null })));

const tenantTopic = (tenant: string | null | undefined, topic: string | null | undefined): TenantTopic | undefined =>
  tenant == null || topic == null ? undefined : { tenant, topic };

const optionalSeq = (text: string | null): number | undefined => (text === null ? undefined : Number(text));

/** Names one GET /topics reads at most, whatever it matches: the bound on its work. */
export const TOPIC_SCAN_BUDGET = 10_000;

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
  // The same statement tells whether a deletion job marks any row: without, the read drops VISIBLE (visible-sql.ts).
  let horizonRead = 0;
  const readHorizon = async (): Promise<{ horizon: number; hiding: boolean }> => {
    // No parameters, but an array: the PostgreSQL engine then runs it as the prepared statement it is.
    const [row] = await engine.query<{ horizon: string; hiding: boolean }>(SELECT_READ_HORIZON, []);
    horizonRead = Math.max(horizonRead, Number(row?.horizon ?? 0));
    return { horizon: horizonRead, hiding: row?.hiding ?? true };
  };
  const marked = (hiding: boolean, text: string): string => (hiding ? text : withoutMarks(text));
  // When a batch was last refused with STORE_FULL, cleared by the next batch that commits: /ready reports it.
  let fullAt: number | undefined;
  return {
    ...createDeletionStore(engine),
    kind: engine.kind,
    writers: engine.writers,
    migrate: () => migrate(engine),
    async insertBatch(events, runs = [{ tenant: DEFAULT_TENANT, count: events.length }]) {
      try {
        await engine.checkWritable?.();
        const rows = await engine.query<InsertedRow>(insertSql, batchParams(events, runs));
        fullAt = undefined;
        return rows;
      } catch (err) {
        if (err instanceof LogaggError && err.code === 'STORE_FULL') fullAt = performance.now();
        throw topicLimitRefusal(err) ?? err;
      }
    },
    async queryEvents(tenant, query, search) {
      const backward = query.before !== undefined;
      // Rows above the read horizon are not readable yet: the page ends before horizon + 1 as if asked to.
      const { horizon, hiding } = await readHorizon();
      const readable = horizon + 1;
      const params: unknown[] = [
        query.after,
        query.topic ?? null,
        query.source ?? null,
        query.since ?? null,
        query.until ?? null,
        query.limit,
        Math.min(query.before ?? readable, readable),
        tenant,
      ];
      let text = backward ? SELECT_EVENTS_PAGE_BEFORE : SELECT_EVENTS_PAGE;
      if (search) {
        text = eventsPageSql(backward, compilePredicate(search, params));
        await searchUpkeep?.();
      }
      const [row] = await engine.query<EventsPageRow>(marked(hiding, text), params).catch((err: unknown) => {
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
    async histogram(tenant, filter, search) {
      if (search) await searchUpkeep?.();
      return readHistogram(engine, tenant, filter, search);
    },
    async eventsAfter(tenant, after, topic, limit, search) {
      const { horizon, hiding } = await readHorizon();
      const through = Math.min(horizon, search?.through ?? horizon);
      if (through <= after) return [];
      const params: unknown[] = [after, topic ?? null, limit, through, tenant];
      const text = search ? eventsAfterSql(compilePredicate(search.predicate, params)) : SELECT_EVENTS_AFTER;
      const rows = await engine.query<EventAfterRow>(marked(hiding, text), params).catch((err: unknown) => {
        throw search ? translateQueryError(err) : err;
      });
      return rows.map((row) => ({ seq: Number(row.seq), tenant: row.tenant, topic: row.topic, json: row.json }));
    },
    logql: (tenant) => createLogqlReader(engine, tenant),
    headSeq: async () => (await readHorizon()).horizon,
    async topicCounts(tenant = DEFAULT_TENANT) {
      const rows = await engine.query<TopicCountsRow>(SELECT_TOPIC_COUNTS, [tenant]);
      return new Map(rows.map((row) => [row.topic, rowStats(row)]));
    },
    async stats(tenant, top, named) {
      const rows = await engine.query<StatsRow>(SELECT_STATS, [top, JSON.stringify(named), tenant]);
      const first = rows[0];
      if (!first) throw new LogaggError('STORE_FAILED', { message: 'The totals row is missing (schema not migrated?)' });
      return {
        totals: toTopicStats(
          {
            received: Number(first.total_received),
            unique: Number(first.total_unique),
            expired: Number(first.total_expired),
            deleted: Number(first.total_deleted),
          },
          null,
        ),
        topicCount: Number(first.topic_count),
        topics: entries(rows),
      };
    },
    async topicsPage(tenant, { after, limit, q }) {
      // Without a filter every name read is kept: reading limit + 1 tells whether more remain.
      const budget = q === undefined ? limit + 1 : TOPIC_SCAN_BUDGET;
      const rows = await engine.query<TopicsPageRow>(SELECT_TOPICS_PAGE, [after ?? '', budget, q ?? null, limit, tenant]);
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
      const params = [rulesJson(windows), from.topic, topics, limit, from.inclusive, from.tenant];
      const [row] = await engine.query<ExpirePageRow>(EXPIRE_EVENTS_BY_RULES, params);
      return {
        deleted: row?.deleted ?? 0,
        scanned: row?.scanned ?? 0,
        lastTopic: tenantTopic(row?.last_tenant, row?.last_topic),
        lastDeletedTopic: tenantTopic(row?.last_deleted_tenant, row?.last_deleted_topic),
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
      if (engine.kind === 'pglite') await engine.exec('VACUUM events, event_keys, topic_stats, deletion_rows');
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
