import type { Predicate } from '../query/predicate.js';
import type { Engine } from './engine.js';
import {
  type CountRow,
  type CountScan,
  countScanSql,
  type EntryRow,
  type EntryScan,
  entriesBySeqSql,
  entryScanSql,
  labelValuesSql,
  seriesSql,
  streamTotalsSql,
} from './logql-sql.js';
import { translateQueryError } from './predicate-sql.js';
import { HIDING, withoutMarks } from './visible-sql.js';

export type { CountRow, CountScan, EntryRow, EntryScan, StreamColumn } from './logql-sql.js';

/** What the Loki read API asks of the store (src/query/logql/ evaluates; the SQL is in logql-sql.ts). */
export interface LogqlReader {
  /** One page of entries of the matching events in [from, to), in time order, after a keyset cursor. */
  scanEntries(scan: EntryScan): Promise<EntryRow[]>;
  /** The entries of these events (seqs as decimal text), in seq order; deleted ones are missing. */
  entriesBySeq(seqs: readonly string[]): Promise<EntryRow[]>;
  /** Entries and line bytes per stream and set of step windows (see countScanSql). */
  countWindows(scan: CountScan): Promise<CountRow[]>;
  /** Distinct values of topic or source among matching events in [from, to), at most `limit`, sorted. */
  labelValues(column: 'topic' | 'source', where: Predicate, fromUs: string, toUs: string, limit: number): Promise<string[]>;
  /** Distinct (topic, source) of matching events in [from, to), at most `limit`, sorted. */
  series(where: Predicate, fromUs: string, toUs: string, limit: number): Promise<Array<{ topic: string; source: string }>>;
  /** Entries and line bytes per stream of matching events in [from, to), at most `limit` streams, sorted. */
  streamTotals(where: Predicate, fromUs: string, toUs: string, limit: number): Promise<StreamTotal[]>;
}

export interface StreamTotal {
  topic: string;
  source: string;
  /** Counts as decimal text (bigint in SQL). */
  entries: string;
  bytes: string;
}

/** The reader of one tenant's events: every statement it runs is kept to that tenant. */
export function createLogqlReader(engine: Engine, tenant: string): LogqlReader {
  // One short statement first: without a deletion job's marks the read drops VISIBLE (src/store/visible-sql.ts).
  const run = async <R>(statement: { text: string; params: unknown[] }): Promise<R[]> => {
    try {
      const [marks] = await engine.query<{ hiding: boolean }>(HIDING, []);
      const text = marks?.hiding === false ? withoutMarks(statement.text) : statement.text;
      return await engine.query<R>(text, statement.params);
    } catch (err) {
      throw translateQueryError(err);
    }
  };
  return {
    scanEntries: (scan) => run<EntryRow>(entryScanSql(tenant, scan)),
    entriesBySeq: async (seqs) => (seqs.length === 0 ? [] : run<EntryRow>(entriesBySeqSql(tenant, seqs))),
    countWindows: (scan: CountScan) => run<CountRow>(countScanSql(tenant, { ...scan, fence: engine.kind === 'postgres' })),
    async labelValues(column, where, fromUs, toUs, limit) {
      const rows = await run<{ value: string }>(labelValuesSql({ tenant, where, fromUs, toUs, limit }, column));
      return rows.map((row) => row.value);
    },
    series: (where, fromUs, toUs, limit) => run<{ topic: string; source: string }>(seriesSql({ tenant, where, fromUs, toUs, limit })),
    streamTotals: (where, fromUs, toUs, limit) => run<StreamTotal>(streamTotalsSql({ tenant, where, fromUs, toUs, limit })),
  };
}
