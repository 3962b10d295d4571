import { LogaggError } from '../../../errors.js';
import type { Expr } from '../../../query/logql/ast.js';
import { parsePromDuration } from '../../../query/logql/duration.js';
import { parseLogql } from '../../../query/logql/parse.js';
import { nowNs, parseLimit, parseTime } from './params.js';

/** Loki's maxDelayForInTailing (pkg/loghttp/tail.go). */
export const MAX_DELAY_FOR = 5;
const HOUR_NS = 3600n * 1_000_000_000n;
const UINT32_MAX = 4294967295;

export interface TailParams {
  expr: Expr;
  /** Past entries from here (ns) to now are sent first, the newest `limit` of them. */
  startNs: bigint;
  limit: number;
  delayForSeconds: number;
}

const bad = (message: string): LogaggError => new LogaggError('BAD_REQUEST', { message });

/** Go's strconv.Atoi, with its error text (Loki's delay_for parse). */
function atoi(value: string): number {
  if (!/^[-+]?[0-9]+$/.test(value)) throw bad(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}

/**
 * The tail request, read in Loki's order (ParseTailQuery, pkg/loghttp/tail.go): the query must parse (a metric
 * query parses too: Loki refuses it only after the upgrade), then limit, start (or since), delay_for. Every error
 * here is answered before the upgrade, as a 400.
 */
export function parseTailParams(query: { query?: string; start?: string; since?: string; limit?: string; delay_for?: string }): TailParams {
  const expr = parseLogql(query.query ?? '');
  const limit = parseLimit(query.limit);
  let since = HOUR_NS;
  if (query.since !== undefined && query.since !== '') {
    const ns = parsePromDuration(query.since);
    if (ns === undefined) throw bad(`could not parse 'since' parameter: ${JSON.stringify(query.since)} is not a duration`);
    since = BigInt(ns);
  }
  const startNs = parseTime(query.start, nowNs() - since, 'start');
  const delay = query.delay_for === undefined || query.delay_for === '' ? 0 : atoi(query.delay_for);
  if (delay < 0 || delay > UINT32_MAX) throw bad(`delay_for value ${delay} is out of range [0, ${UINT32_MAX}]`);
  if (delay > MAX_DELAY_FOR) throw bad(`delay_for can't be greater than ${MAX_DELAY_FOR}`);
  return { expr, startNs, limit, delayForSeconds: delay };
}
