import type { Predicate } from '../query/predicate.js';
import { DETECTED_LEVEL_SQL } from './detected-level-sql.js';
import { VISIBLE } from './visible-sql.js';
import { compilePredicate, LINE_SQL } from './predicate-sql.js';

export { DETECTED_LEVEL_SQL } from './detected-level-sql.js';

/*
 * The SQL of the Loki read API (src/query/logql/): entries of the matching streams in a time range, and entry
 * counts and bytes per stream and step window for metric queries. Its own file beside sql.ts; the conditions come
 * from predicate-sql.ts, so LogQL runs on the same line index as search.
 */

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

/** The condition that keeps a read to one tenant's events: the tenant becomes the next parameter. */
function ofTenant(params: unknown[], tenant: string): string {
  params.push(tenant);
  return `events.tenant = $${params.length}`;
}

const usTime = (param: string): string => `to_timestamp(0) + (${param}::bigint * interval '1 microsecond')`;

/** One page of entries in time order (then seq), keyset-paged so a long scan can stop and resume. */
export function entryScanSql(tenant: string, scan: EntryScan): { text: string; params: unknown[] } {
  const params: unknown[] = [scan.fromUs, scan.toUs];
  const conditions = [
    ofTenant(params, tenant),
    `ts >= ${usTime('$1')}`,
    `ts < ${usTime('$2')}`,
    compilePredicate(scan.where, params),
    VISIBLE,
  ];
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
export function entriesBySeqSql(tenant: string, seqs: readonly string[]): { text: string; params: unknown[] } {
  return {
    text: `SELECT seq::text AS seq, ${TS_US}::text AS us, topic, source, ${DETECTED_LEVEL_SQL} AS level, ${LINE_SQL} AS line
FROM events WHERE seq IN (SELECT json_array_elements_text($1::json)::bigint) AND events.tenant = $2 AND ${VISIBLE}
ORDER BY events.seq`,
    params: [JSON.stringify(seqs), tenant],
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
  /** Hide ts's statistics from the grouping (OFFSET 0): PostgreSQL's choice; PGlite runs the same plan faster without. */
  fence?: boolean;
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
export function countScanSql(tenant: string, scan: CountScan): { text: string; params: unknown[] } {
  const micro = [scan.startNs, scan.stepNs, scan.rangeNs].every((ns) => BigInt(ns) % 1000n === 0n);
  const fast = micro ? countByBinsSql(tenant, scan) : undefined;
  if (fast !== undefined) return fast;
  const params: unknown[] = [scan.fromUs, scan.toUs, scan.startNs, scan.stepNs, scan.rangeNs];
  const conditions = countConditions(tenant, scan, params);
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

function countConditions(tenant: string, scan: CountScan, params: unknown[]): string[] {
  const conditions = [
    ofTenant(params, tenant),
    `ts > ${usTime('$1')}`,
    `ts <= ${usTime('$2')}`,
    compilePredicate(scan.where, params),
    VISIBLE,
  ];
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
function countByBinsSql(tenant: string, scan: CountScan): { text: string; params: unknown[] } | undefined {
  const [startUs, stepUs, rangeUs] = [scan.startNs, scan.stepNs, scan.rangeNs].map((ns) => BigInt(ns) / 1000n) as [bigint, bigint, bigint];
  // usTime multiplies an interval by a float8: exact while the microseconds are below 2^53 (year 2255).
  const exact = (us: bigint): boolean => us > -(2n ** 53n) && us < 2n ** 53n;
  if (stepUs <= 0n || !exact(stepUs) || !exact(startUs + 1n) || !exact(startUs - rangeUs + 1n)) return undefined;
  const aligned = rangeUs % stepUs === 0n;
  const params: unknown[] = [scan.fromUs, scan.toUs, (startUs + 1n).toString(), stepUs.toString()];
  if (!aligned) params.push((startUs - rangeUs + 1n).toString());
  const { perStream, perRow } = splitLabelRegexes(scan.where);
  const conditions = countConditions(tenant, { ...scan, where: perRow }, params);
  const stride = `($4::bigint * interval '1 microsecond')`;
  const binned = (origin: string): string => `date_bin(${stride}, ts, ${usTime(origin)})`;
  const steps = (bin: string, origin: string): string =>
    `(extract(epoch FROM ${bin} - (${usTime(origin)})) * 1000000)::bigint / $4::bigint`;
  const lastK = aligned ? `${steps('first_bin', '$3')} + ${(rangeUs / stepUs).toString()}` : steps('last_bin', '$5');
  const bins = `first_bin${aligned ? '' : ', last_bin'}`;
  const wanted = (column: StreamColumn): boolean => scan.columns === undefined || scan.columns.includes(column);
  // With label regexes left for after the count, the rows are counted per stream first, then filtered and summed;
  // OFFSET 0 keeps the planner from pushing the regexes back down to the rows (it does, for grouped columns). Under
  // the rows' own select it hides ts's statistics: the planner took each row for its own group (date_bin of a
  // unique ts) and chose a disk sort for some queries, 1.8 s where a hash over the few hundred groups takes 0.45 s.
  // PGlite hashes without it, and the fence's extra step cost it 221 against 143 ms at 200,000 rows (same run).
  const counted =
    perStream.length === 0
      ? `SELECT ${columnList(scan.columns)}, ${scan.bytes ? `octet_length(${LINE_SQL})` : '0'} AS line_bytes, ${binned('$3')} AS first_bin${aligned ? '' : `, ${binned('$5')} AS last_bin`}
    FROM events WHERE ${conditions.join(' AND ')}${scan.fence === true ? '\n    OFFSET 0' : ''}`
      : `SELECT ${wanted('topic') ? 'topic' : "''::text AS topic"}, ${wanted('source') ? 'source' : "''::text AS source"}, level, n, line_bytes, ${bins}
    FROM (
      SELECT topic, source, level, ${bins}, count(*) AS n, sum(line_bytes) AS line_bytes
      FROM (
        SELECT topic, source, ${wanted('level') ? DETECTED_LEVEL_SQL : "''::text"} AS level,
          ${scan.bytes ? `octet_length(${LINE_SQL})` : '0'} AS line_bytes, ${binned('$3')} AS first_bin${aligned ? '' : `, ${binned('$5')} AS last_bin`}
        FROM events WHERE ${conditions.join(' AND ')}${scan.fence === true ? '\n        OFFSET 0' : ''}
      ) per_row
      GROUP BY topic, source, level, ${bins}
      OFFSET 0
    ) streams
    WHERE ${perStream.map((p) => compilePredicate(p, params)).join(' AND ')}`;
  return {
    text: `SELECT topic, source, level, (${steps('first_bin', '$3')} + 1)::text AS first_k, (${lastK})::text AS last_k,
  entries::text AS entries, bytes::text AS bytes
FROM (
  SELECT topic, source, level, first_bin, ${aligned ? 'NULL::timestamptz' : 'last_bin'} AS last_bin,
    ${perStream.length === 0 ? 'count(*)' : 'sum(n)'} AS entries, sum(line_bytes) AS bytes
  FROM (
    ${counted}
  ) binned
  GROUP BY topic, source, level, ${bins}
) windows`,
    params,
  };
}

/** Whether a Predicate reads only topic and source, and holds a regex. */
const labelsOnly = (p: Predicate): boolean =>
  p.kind === 'label' || ((p.kind === 'all' || p.kind === 'any') && p.of.every(labelsOnly)) || (p.kind === 'not' && labelsOnly(p.of));
const hasRegex = (p: Predicate): boolean =>
  (p.kind === 'label' && p.op === 'regex' && p.value !== '.*' && p.value !== '.+') ||
  ((p.kind === 'all' || p.kind === 'any') && p.of.some(hasRegex)) ||
  (p.kind === 'not' && hasRegex(p.of));

/**
 * The conjuncts of `where` that test topic/source with a regex, apart: a regex per row cost ~1 µs (3.3 s of a 1M-row
 * count under load), per stream and bin it runs a few hundred times. Exact: such a conjunct has one value per stream.
 */
function splitLabelRegexes(where: Predicate): { perStream: Predicate[]; perRow: Predicate } {
  const conjuncts = (p: Predicate): Predicate[] => (p.kind === 'all' ? p.of.flatMap(conjuncts) : [p]);
  const all = conjuncts(where);
  const perStream = all.filter((p) => labelsOnly(p) && hasRegex(p));
  return { perStream, perRow: { kind: 'all', of: all.filter((p) => !perStream.includes(p)) } };
}

/** A range read's time range, tenant and selector as parameters; the caller's rest of the statement follows. */
interface RangeRead {
  tenant: string;
  where: Predicate;
  fromUs: string;
  toUs: string;
  limit: number;
}

/**
 * `select` over the visible events of one tenant in [from, to) that match `where`, then `tail`, which ends with
 * a LIMIT: `tail` is given the limit's parameter. The three label and stream readers below differ only there.
 */
function rangeReadSql(read: RangeRead, select: string, tail: (limit: string) => string): { text: string; params: unknown[] } {
  const params: unknown[] = [read.fromUs, read.toUs];
  const condition = `${ofTenant(params, read.tenant)} AND ${compilePredicate(read.where, params)}`;
  params.push(read.limit);
  return {
    text: `${select} FROM events
WHERE ts >= ${usTime('$1')} AND ts < ${usTime('$2')} AND ${condition} AND ${VISIBLE}
${tail(`$${params.length}::int`)}`,
    params,
  };
}

/** Distinct values of a stream label (topic or source) among events in a time range, at most `limit`. */
export const labelValuesSql = (read: RangeRead, column: 'topic' | 'source') =>
  rangeReadSql(read, `SELECT DISTINCT ${column} AS value`, (limit) => `ORDER BY value LIMIT ${limit}`);

/** Distinct (topic, source) pairs among events in a time range, at most `limit`. */
export const seriesSql = (read: RangeRead) =>
  rangeReadSql(read, 'SELECT DISTINCT topic, source', (limit) => `ORDER BY topic, source LIMIT ${limit}`);

/** Entries and line bytes per stream (topic, source) among events in [from, to), at most `limit` streams. */
export const streamTotalsSql = (read: RangeRead) =>
  rangeReadSql(
    read,
    `SELECT topic, source, count(*)::text AS entries, coalesce(sum(octet_length(${LINE_SQL})), 0)::text AS bytes`,
    (limit) => `GROUP BY topic, source ORDER BY topic, source LIMIT ${limit}`,
  );
