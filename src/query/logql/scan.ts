import { LogaggError } from '../../errors.js';
import type { EntryRow, LogqlReader } from '../../store/index.js';
import type { Plan } from './pipeline.js';
import { EntryLabels, runStages } from './pipeline.js';
import type { Level } from './stream.js';

/**
 * Rows one query may read to evaluate stages in JavaScript (parsers, line_format, label filters the store cannot
 * run). Past it the query is refused with LOGQL_LIMIT rather than answered from part of the data.
 */
export const SCAN_BUDGET = 200_000;
/** Rows fetched per round trip while scanning. */
const CHUNK = 5_000;

export interface ScannedEntry {
  /** The event's seq (decimal text): a live tail tells the entries it already sent by it. */
  seq: string;
  /** Nanoseconds since the epoch. */
  ns: bigint;
  line: string;
  labels: EntryLabels;
}

export const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
};

export const ceilDiv = (a: bigint, b: bigint): bigint => -floorDiv(-a, b);

/**
 * A stored row through the plan's JavaScript stages: its entry, or undefined when a stage drops it. The plan's
 * Predicate and level set are the SQL's to apply (a scan's WHERE, or the caller's own check).
 */
export function entryOf(plan: Plan, row: EntryRow): ScannedEntry | undefined {
  const labels = new EntryLabels({ topic: row.topic, source: row.source, level: row.level as Level });
  const line = runStages(plan.stages, row.line, labels);
  if (line === undefined) return undefined;
  return { seq: row.seq, ns: BigInt(row.us) * 1000n, line, labels };
}

/**
 * Entries with from ≤ time < to (microseconds), in time order (then commit order), through the plan's JS stages,
 * until `want` are kept (undefined: all). `onEntry` returns false to stop early.
 */
export async function scanEntries(
  reader: LogqlReader,
  plan: Plan,
  range: { fromUs: bigint; toUs: bigint; backward: boolean },
  want: number | undefined,
  onEntry: (entry: ScannedEntry) => void,
): Promise<void> {
  if (plan.where === false || (plan.levels !== undefined && plan.levels.length === 0)) return;
  const pure = plan.stages.length === 0;
  let kept = 0;
  let read = 0;
  let after: { us: string; seq: string } | undefined;
  for (;;) {
    const limit = pure && want !== undefined ? Math.min(want - kept, CHUNK) : CHUNK;
    if (limit <= 0) return;
    const rows: EntryRow[] = await reader.scanEntries({
      where: plan.where,
      levels: plan.levels,
      fromUs: range.fromUs.toString(),
      toUs: range.toUs.toString(),
      backward: range.backward,
      after,
      limit,
    });
    for (const row of rows) {
      const entry = entryOf(plan, row);
      if (entry === undefined) continue;
      onEntry(entry);
      if (want !== undefined && ++kept >= want) return;
    }
    if (rows.length < limit) return;
    read += rows.length;
    if (!pure && read >= SCAN_BUDGET) {
      throw new LogaggError('LOGQL_LIMIT', {
        message:
          `The query reads more than ${SCAN_BUDGET.toLocaleString('en')} lines to run its pipeline; narrow the time range, ` +
          'the stream selector or add a line filter (|= "...") before the parser',
      });
    }
    const last = rows[rows.length - 1] as EntryRow;
    after = { us: last.us, seq: last.seq };
  }
}
