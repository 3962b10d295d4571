import type { Predicate } from '../predicate.js';
import type { Matcher } from './ast.js';
import { matchesValue } from './matcher.js';
import { portableRegex } from './regex.js';

/**
 * How an event is a Loki stream entry (docs/query.md, "The event as a Loki stream"). Stream labels: `topic`,
 * `source`, and `service_name`, which is the source (Grafana's Logs Drilldown starts from service_name, and the
 * source is the service that published). Structured metadata: `detected_level`, read from the payload's
 * level-like fields (LEVEL_FIELDS) and normalized as Loki normalizes it. The line: src/query/line.ts.
 */
export const STREAM_LABELS = ['service_name', 'source', 'topic'] as const;
export type StreamLabel = (typeof STREAM_LABELS)[number];
export const DETECTED_LEVEL = 'detected_level';

/** The values detected_level takes: Loki's (pkg/util/constants/levels.go), "unknown" for anything else. */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'fatal', 'unknown'] as const;
export type Level = (typeof LEVELS)[number];

/** A level-like text, compared ignoring case, as Loki's normalizeLogLevel reads it. */
export const LEVEL_ALIASES: Readonly<Record<string, Level>> = {
  trace: 'trace',
  trc: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  warn: 'warn',
  wrn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  critical: 'critical',
  fatal: 'fatal',
};

/**
 * Payload fields read for the level, first present wins: a string through LEVEL_ALIASES; a number in `level` or
 * `lvl` on pino's scale (10 trace … 60 fatal); `severity_number` on OpenTelemetry's (1–24, what logagg's OTLP
 * inlet stores).
 */
export const LEVEL_FIELDS = ['level', 'lvl', 'severity', 'severity_text', 'loglevel', 'log_level'] as const;

export interface StreamLabels {
  topic: string;
  source: string;
  level: Level;
}

/** The labels of an entry in Loki's order of categories: stream labels, then structured metadata. */
export function streamLabelValue(labels: StreamLabels, name: string): string | undefined {
  switch (name) {
    case 'topic':
      return labels.topic;
    case 'source':
    case 'service_name':
      return labels.source;
    default:
      return undefined;
  }
}

/** A stream selector as what the store can run: a Predicate, or `false` when no stream can match. */
export function selectorPredicate(matchers: readonly Matcher[]): Predicate | false {
  const of: Predicate[] = [];
  for (const m of matchers) {
    const column = m.name === 'topic' ? 'topic' : m.name === 'source' || m.name === 'service_name' ? 'source' : undefined;
    if (column === undefined) {
      // No stream has this label: Loki compares its value as "" (docs/query.md).
      if (!matchesValue(m, '')) return false;
      continue;
    }
    of.push(labelPredicate(column, m));
  }
  return { kind: 'all', of };
}

function labelPredicate(name: 'topic' | 'source', m: Matcher): Predicate {
  if (m.op === '=' || m.op === '!=') {
    const eq: Predicate = { kind: 'label', name, op: 'eq', value: m.value };
    return m.op === '=' ? eq : { kind: 'not', of: eq };
  }
  const { body } = portableRegex(m.value);
  const re: Predicate = { kind: 'label', name, op: 'regex', value: body };
  return m.op === '=~' ? re : { kind: 'not', of: re };
}

/** The detected_level values a matcher accepts: a finite set, so the store can test membership. */
export function levelsMatching(m: Matcher): Level[] {
  return LEVELS.filter((level) => matchesValue(m, level));
}
