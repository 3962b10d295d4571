import { LogaggError } from '../../../errors.js';
import { parsePromDuration } from '../../../query/logql/duration.js';
import type { Steps } from '../../../query/logql/evaluate.js';
import { MAX_POINTS } from '../../../query/logql/series.js';

/**
 * The Loki read API's parameters, read as Loki reads them (grafana/loki pkg/loghttp/params.go): times as an
 * integer (10 digits or fewer: seconds, more: nanoseconds), a float of seconds (rounded to the millisecond), or
 * RFC 3339; a step as float seconds or a duration (`60000ms`, as Grafana sends it).
 */

/** Entries one log query may return (Loki's max_entries_limit_per_query default). */
export const MAX_ENTRIES = 5000;
export const DEFAULT_LIMIT = 100;
const DEFAULT_SINCE_NS = 3600n * 1_000_000_000n;
const INT64_MAX = 2n ** 63n - 1n;

const bad = (message: string): LogaggError => new LogaggError('BAD_REQUEST', { message });

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;

export function parseTime(value: string | undefined, fallback: bigint, name: string): bigint {
  if (value === undefined || value === '') return fallback;
  if (value.includes('.') && /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(value)) {
    const seconds = Number(value);
    if (Math.abs(seconds) < 9.2e9) {
      const whole = Math.trunc(seconds);
      const ms = Math.round((seconds - whole) * 1000);
      return BigInt(whole) * 1_000_000_000n + BigInt(ms) * 1_000_000n;
    }
  }
  if (/^[-+]?[0-9]+$/.test(value)) {
    const n = BigInt(value);
    if (n <= INT64_MAX && n >= -INT64_MAX - 1n) return value.length <= 10 ? n * 1_000_000_000n : n;
  }
  const match = RFC3339.exec(value);
  if (match) {
    const [, y, mo, d, h, mi, s, fraction, zone] = match as unknown as string[];
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (!Number.isNaN(ms) && Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= 31) {
      let ns = BigInt(ms) * 1_000_000n + BigInt((fraction ?? '.').slice(1).padEnd(9, '0'));
      if (zone !== 'Z' && zone !== 'z') {
        const offset = (Number((zone as string).slice(1, 3)) * 60 + Number((zone as string).slice(4, 6))) * 60;
        ns -= BigInt((zone as string).startsWith('-') ? -offset : offset) * 1_000_000_000n;
      }
      return ns;
    }
  }
  throw bad(`could not parse '${name}' parameter: ${JSON.stringify(value)} is not nanoseconds, seconds or an RFC 3339 time`);
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** start and end of a range request: end defaults to now, start to an hour before end (or now). */
export function parseBounds(query: { start?: string; end?: string; since?: string }): { startNs: bigint; endNs: bigint } {
  const now = nowNs();
  let since = DEFAULT_SINCE_NS;
  if (query.since !== undefined && query.since !== '') {
    const ns = parsePromDuration(query.since);
    if (ns === undefined) throw bad(`could not parse 'since' parameter: ${JSON.stringify(query.since)} is not a duration`);
    since = BigInt(ns);
  }
  const endNs = parseTime(query.end, now, 'end');
  const startNs = parseTime(query.start, (endNs > now ? now : endNs) - since, 'start');
  if (endNs < startNs) throw bad('end timestamp must not be before or equal to start time');
  return { startNs, endNs };
}

export function parseStep(value: string | undefined, startNs: bigint, endNs: bigint): bigint {
  if (value === undefined || value === '') {
    const seconds = (endNs - startNs) / 1_000_000_000n / 250n;
    return (seconds > 1n ? seconds : 1n) * 1_000_000_000n;
  }
  let ns: number | undefined;
  if (/^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(value)) ns = Number(value) * 1e9;
  else ns = parsePromDuration(value);
  if (ns === undefined || !Number.isFinite(ns)) throw bad(`cannot parse ${JSON.stringify(value)} to a valid duration`);
  // Go's time.Duration truncates to whole nanoseconds, so a step under 1 ns is a zero step too.
  if (Math.trunc(ns) <= 0) throw bad('zero or negative query resolution step widths are not accepted. Try a positive integer');
  return BigInt(Math.trunc(ns));
}

/** The evaluation times of a range request: start, start + step, … up to end; at most MAX_POINTS of them. */
export function parseSteps(step: string | undefined, startNs: bigint, endNs: bigint): Steps {
  const stepNs = parseStep(step, startNs, endNs);
  const count = (endNs - startNs) / stepNs + 1n;
  if (count > BigInt(MAX_POINTS)) {
    throw new LogaggError('LOGQL_LIMIT', {
      message: `exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)`,
    });
  }
  return { startNs, stepNs, count: Number(count) };
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_LIMIT;
  if (!/^[-+]?[0-9]+$/.test(value)) throw bad(`could not parse 'limit' parameter: ${JSON.stringify(value)} is not an integer`);
  const limit = Number(value);
  if (limit <= 0) throw bad('limit must be a positive value');
  if (limit > MAX_ENTRIES) {
    throw new LogaggError('LOGQL_LIMIT', {
      message: `max entries limit per query exceeded, limit > max_entries_limit_per_query (${value} > ${MAX_ENTRIES})`,
    });
  }
  return limit;
}

/** true for backward (Loki's default), false for forward. */
export function parseDirection(value: string | undefined): boolean {
  if (value === undefined || value === '') return true;
  const upper = value.toUpperCase();
  if (upper === 'BACKWARD') return true;
  if (upper === 'FORWARD') return false;
  throw bad(`invalid direction '${value}'`);
}
