import type { LogqlReader } from '../../store/index.js';
import type { LogExpr } from './ast.js';
import { planLog } from './pipeline.js';
import { ceilDiv, type ScannedEntry, scanEntries } from './scan.js';

export interface LogQuery {
  startNs: bigint;
  endNs: bigint;
  limit: number;
  backward: boolean;
}

/** A log query: up to `limit` entries with start ≤ time < end, newest first when backward (Loki's rule). */
export async function evaluateLogs(reader: LogqlReader, log: LogExpr, query: LogQuery): Promise<ScannedEntry[]> {
  const entries: ScannedEntry[] = [];
  if (query.endNs <= query.startNs) return entries;
  // Times are kept to the microsecond: ts·1000 ≥ start ⇔ ts ≥ ceil(start/1000), and likewise for end.
  const range = { fromUs: ceilDiv(query.startNs, 1000n), toUs: ceilDiv(query.endNs, 1000n), backward: query.backward };
  await scanEntries(reader, planLog(log), range, query.limit, (entry) => entries.push(entry));
  return entries;
}
