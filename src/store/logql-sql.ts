import type { Predicate } from '../query/predicate.js';
import { LEVEL_ALIASES, LEVEL_FIELDS } from '../query/logql/stream.js';
import { VISIBLE } from './visible-sql.js';
import { compilePredicate, LINE_SQL } from './predicate-sql.js';

/*
 * The SQL of the Loki read API (src/query/logql/): entries of the matching streams in a time range, and entry
 * counts and bytes per stream and step window for metric queries. Its own file beside sql.ts; the conditions come
 * from predicate-sql.ts, so LogQL runs on the same line index as search.
 */

const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** A level-like text → detected_level (LEVEL_ALIASES, ignoring case), else 'unknown'. */
function aliasCase(text: string): string {
  const whens = Object.entries(LEVEL_ALIASES).map(([alias, level]) => `WHEN ${quote(alias)} THEN ${quote(level)}`);
  return `CASE lower(${text}) ${whens.join(' ')} ELSE 'unknown' END`;
}

// Numbers are read only when short decimals, so a hostile payload (1e100000) can never fail the cast.
const SHORT_NUMBER = `'^-?[0-9]{1,15}(\\.[0-9]{1,15})?$'`;

/** pino's numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
function pinoCase(text: string): string {
  return `CASE WHEN ${text} !~ ${SHORT_NUMBER} THEN 'unknown' WHEN ${text}::numeric <= 10 THEN 'trace'
    WHEN ${text}::numeric <= 20 THEN 'debug' WHEN ${text}::numeric <= 30 THEN 'info' WHEN ${text}::numeric <= 40 THEN 'warn'
    WHEN ${text}::numeric <= 50 THEN 'error' ELSE 'fatal' END`;
}

/** OpenTelemetry's SeverityNumber: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal. */
function otlpCase(text: string): string {
  return `CASE WHEN ${text} !~ ${SHORT_NUMBER} THEN 'unknown' WHEN ${text}::numeric < 1 THEN 'unknown'
    WHEN ${text}::numeric <= 4 THEN 'trace' WHEN ${text}::numeric <= 8 THEN 'debug' WHEN ${text}::numeric <= 12 THEN 'info'
    WHEN ${text}::numeric <= 16 THEN 'warn' WHEN ${text}::numeric <= 20 THEN 'error' WHEN ${text}::numeric <= 24 THEN 'fatal'
    ELSE 'unknown' END`;
}

/** detected_level of an event (src/query/logql/stream.ts says which fields, in which order). */
export const DETECTED_LEVEL_SQL = `CASE
  ${LEVEL_FIELDS.map((field) => {
    const value = `(payload ->> ${quote(field)})`;
    const type = `json_typeof(payload -> ${quote(field)})`;
    const numeric = field === 'level' || field === 'lvl' ? `WHEN ${type} = 'number' THEN ${pinoCase(value)}` : '';
    return `WHEN ${type} = 'string' THEN ${aliasCase(value)} ${numeric}`;
  }).join('\n  ')}
  WHEN json_typeof(payload -> 'severity_number') = 'number' THEN ${otlpCase(`(payload ->> 'severity_number')`)}
  ELSE 'unknown' END`;

/** Microseconds since the epoch of an event's time, exact (extract gives numeric). */
const TS_US = '(extract(epoch FROM ts) * 1000000)::bigint';

export interface EntryScan {
  where: Predicate;
  /** detected_level must be one of these (undefined: any). */
  levels: readonly string[] | undefined;
  /** ts >= fromUs and ts < toUs, microseconds as decimal text. */
  fromUs: string;
  toUs: string;
  backward: boolean;
  /** Continue after this (ts, seq) in scan order. */
  after: { us: string; seq: string } | undefined;
  limit: number;
}

export interface EntryRow {
  seq: string;
  us: string;
  topic: string;
  source: string;
  level: string;
  line: string;
}

const usTime = (param: string): string => `to_timestamp(0) + (${param}::bigint * interval '1 microsecond')`;

/** One page of entries in time order (then seq), keyset-paged so a long scan can stop and resume. */
export function entryScanSql(scan: EntryScan): { text: string; params: unknown[] } {
  const params: unknown[] = [scan.fromUs, scan.toUs];
  const conditions = [`ts >= ${usTime('$1')}`, `ts < ${usTime('$2')}`, compilePredicate(scan.where, params), VISIBLE];
  if (scan.levels !== undefined) {
    params.push(JSON.stringify(scan.levels));
    conditions.push(`(${DETECTED_LEVEL_SQL}) IN (SELECT json_array_elements_text($${params.length}::json))`);
  }
  const order = scan.backward ? 'DESC' : 'ASC';
  if (scan.after !== undefined) {
    params.push(scan.after.us, scan.after.seq);
    const [us, seq] = [`$${params.length - 1}`, `$${params.length}`];
    const cmp = scan.backward ? '<' : '>';
    conditions.push(`(ts, seq) ${cmp} (${usTime(us)}, ${seq}::bigint)`);
  }
  params.push(scan.limit);
  return {
    text: `SELECT seq::text AS seq, ${TS_US}::text AS us, topic, source, ${DETECTED_LEVEL_SQL} AS level, ${LINE_SQL} AS line
FROM events WHERE ${conditions.join(' AND ')}
ORDER BY ts ${order}, events.seq ${order} LIMIT $${params.length}::int`,
    params,
  };
}

/**
 * The entries of the given events (seqs as decimal text), in seq order: what a live tail shows of the events the
 * feed handed it. At most as many rows as seqs; an event deleted meanwhile (retention) is simply missing.
 */
export function entriesBySeqSql(seqs: readonly string[]): { text: string; params: unknown[] } {
  return {
    text: `SELECT seq::text AS seq, ${TS_US}::text AS us, topic, source, ${DETECTED_LEVEL_SQL} AS level, ${LINE_SQL} AS line
FROM events WHERE seq IN (SELECT json_array_elements_text($1::json)::bigint) AND ${VISIBLE}
ORDER BY events.seq`,
    params: [JSON.stringify(seqs)],
  };
}

/** The stream columns a count can be grouped by. */
export type StreamColumn = 'topic' | 'source' | 'level';

export interface CountScan {
  where: Predicate;
  levels: readonly string[] | undefined;
  /** Evaluation times start + k·step (k = 0…), each counting (t − range, t]; nanoseconds as decimal text. */
  startNs: string;
  stepNs: string;
  rangeNs: string;
  /** Events after fromUs (exclusive) up to toUs (inclusive), microseconds: the union of all windows. */
  fromUs: string;
  toUs: string;
  /** Sum the lines' bytes (bytes_over_time, bytes_rate); otherwise bytes is 0 and no line is computed. */
  bytes: boolean;
  /**
   * The columns to group by (undefined: all three). A column left out comes back as '' and is never computed:
   * detected_level reads the payload, so without it a count can be answered from the ts index alone (migration 9).
   */
  columns?: readonly StreamColumn[];
}

export interface CountRow {
  topic: string;
  source: string;
  level: string;
  /** The first and last step k whose window holds these events (may reach outside 0…steps-1). */
  first_k: string;
  last_k: string;
  entries: string;
  bytes: string;
}

/**
 * Entries and line bytes per stream and window set, counted in the database: an event at x belongs to the steps k
 * with t_k − range < x ≤ t_k, that is ceil((x − start)/step) ≤ k ≤ ceil((x − start + range)/step) − 1, so the
 * rows group by that pair and the caller adds each group to its steps (overlapping windows cost nothing extra).
 */
export function countScanSql(scan: CountScan): { text: string; params: unknown[] } {
  const micro = [scan.startNs, scan.stepNs, scan.rangeNs].every((ns) => BigInt(ns) % 1000n === 0n);
  const fast = micro ? countByBinsSql(scan) : undefined;
  if (fast !== undefined) return fast;
  const params: unknown[] = [scan.fromUs, scan.toUs, scan.startNs, scan.stepNs, scan.rangeNs];
  const conditions = countConditions(scan, params);
  const offset = `(${TS_US}::numeric * 1000 - $3::numeric)`;
  return {
    text: `SELECT topic, source, level, first_k::text AS first_k, last_k::text AS last_k,
  count(*)::text AS entries, sum(line_bytes)::text AS bytes
FROM (
  SELECT ${columnList(scan.columns)}, ${scan.bytes ? `octet_length(${LINE_SQL})` : '0'} AS line_bytes,
    ceil(${offset} / $4::numeric) AS first_k, ceil((${offset} + $5::numeric) / $4::numeric) - 1 AS last_k
  FROM events WHERE ${conditions.join(' AND ')}
) windows
GROUP BY topic, source, level, first_k, last_k`,
    params,
  };
}

function countConditions(scan: CountScan, params: unknown[]): string[] {
  const conditions = [`ts > ${usTime('$1')}`, `ts <= ${usTime('$2')}`, compilePredicate(scan.where, params), VISIBLE];
  if (scan.levels !== undefined) {
    params.push(JSON.stringify(scan.levels));
    conditions.push(`(${DETECTED_LEVEL_SQL}) IN (SELECT json_array_elements_text($${params.length}::json))`);
  }
  return conditions;
}

/** The grouped columns as the SELECT list; a column not asked for is the constant ''. */
function columnList(columns: readonly StreamColumn[] | undefined): string {
  const wanted = (column: StreamColumn): boolean => columns === undefined || columns.includes(column);
  return [
    wanted('topic') ? 'topic' : "''::text AS topic",
    wanted('source') ? 'source' : "''::text AS source",
    wanted('level') ? `${DETECTED_LEVEL_SQL} AS level` : "''::text AS level",
  ].join(', ');
}

/**
 * The same counts when start, step and range are whole microseconds (Grafana's always are), grouped on
 * timestamps: for integers, ceil((x − start)/step) = floor((x − (start + 1µs))/step) + 1, which is date_bin with
 * origin start + 1µs, and the last step is floor((x − (start − range + 1µs))/step). The step numbers are computed
 * once per group, not per row: the numeric arithmetic of the general form cost ~2 µs a row (EXPLAIN ANALYZE, 1M
 * rows), most of such a query once the level is not read. When range is a multiple of step the last step follows
 * from the first and one date_bin does. Undefined when a bound is not exact as a float8 of microseconds.
 */
function countByBinsSql(scan: CountScan): { text: string; params: unknown[] } | undefined {
  const [startUs, stepUs, rangeUs] = [scan.startNs, scan.stepNs, scan.rangeNs].map((ns) => BigInt(ns) / 1000n) as [bigint, bigint, bigint];
  // usTime multiplies an interval by a float8: exact while the microseconds are below 2^53 (year 2255).
  const exact = (us: bigint): boolean => us > -(2n ** 53n) && us < 2n ** 53n;
  if (stepUs <= 0n || !exact(stepUs) || !exact(startUs + 1n) || !exact(startUs - rangeUs + 1n)) return undefined;
  const aligned = rangeUs % stepUs === 0n;
  const params: unknown[] = [scan.fromUs, scan.toUs, (startUs + 1n).toString(), stepUs.toString()];
  if (!aligned) params.push((startUs - rangeUs + 1n).toString());
  const conditions = countConditions(scan, params);
  const stride = `($4::bigint * interval '1 microsecond')`;
  const binned = (origin: string): string => `date_bin(${stride}, ts, ${usTime(origin)})`;
  const steps = (bin: string, origin: string): string =>
    `(extract(epoch FROM ${bin} - (${usTime(origin)})) * 1000000)::bigint / $4::bigint`;
  const lastK = aligned ? `${steps('first_bin', '$3')} + ${(rangeUs / stepUs).toString()}` : steps('last_bin', '$5');
  return {
    text: `SELECT topic, source, level, (${steps('first_bin', '$3')} + 1)::text AS first_k, (${lastK})::text AS last_k,
  entries::text AS entries, bytes::text AS bytes
FROM (
  SELECT topic, source, level, first_bin, ${aligned ? 'NULL::timestamptz' : 'last_bin'} AS last_bin, count(*) AS entries, sum(line_bytes) AS bytes
  FROM (
    SELECT ${columnList(scan.columns)}, ${scan.bytes ? `octet_length(${LINE_SQL})` : '0'} AS line_bytes,
      ${binned('$3')} AS first_bin${aligned ? '' : `, ${binned('$5')} AS last_bin`}
    FROM events WHERE ${conditions.join(' AND ')}
  ) binned
  GROUP BY topic, source, level, first_bin${aligned ? '' : ', last_bin'}
) windows`,
    params,
  };
}

/** Distinct values of a stream label (topic or source) among events in a time range, at most `limit`. */
export function labelValuesSql(
  column: 'topic' | 'source',
  where: Predicate,
  fromUs: string,
  toUs: string,
  limit: number,
): { text: string; params: unknown[] } {
  const params: unknown[] = [fromUs, toUs];
  const condition = compilePredicate(where, params);
  params.push(limit);
  return {
    text: `SELECT DISTINCT ${column} AS value FROM events
WHERE ts >= ${usTime('$1')} AND ts < ${usTime('$2')} AND ${condition} AND ${VISIBLE}
ORDER BY value LIMIT $${params.length}::int`,
    params,
  };
}

/** Distinct (topic, source) pairs among events in a time range, at most `limit`. */
export function seriesSql(where: Predicate, fromUs: string, toUs: string, limit: number): { text: string; params: unknown[] } {
  const params: unknown[] = [fromUs, toUs];
  const condition = compilePredicate(where, params);
  params.push(limit);
  return {
    text: `SELECT DISTINCT topic, source FROM events
WHERE ts >= ${usTime('$1')} AND ts < ${usTime('$2')} AND ${condition} AND ${VISIBLE}
ORDER BY topic, source LIMIT $${params.length}::int`,
    params,
  };
}

/** Entries and line bytes per stream (topic, source) among events in [from, to), at most `limit` streams. */
export function streamTotalsSql(where: Predicate, fromUs: string, toUs: string, limit: number): { text: string; params: unknown[] } {
  const params: unknown[] = [fromUs, toUs];
  const condition = compilePredicate(where, params);
  params.push(limit);
  return {
    text: `SELECT topic, source, count(*)::text AS entries, coalesce(sum(octet_length(${LINE_SQL})), 0)::text AS bytes FROM events
WHERE ts >= ${usTime('$1')} AND ts < ${usTime('$2')} AND ${condition} AND ${VISIBLE}
GROUP BY topic, source ORDER BY topic, source LIMIT $${params.length}::int`,
    params,
  };
}
