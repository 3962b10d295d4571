import { LogaggError } from '../../errors.js';

/** Samples per step of one labelled series; undefined where the series has no sample. */
export interface Series {
  labels: Map<string, string>;
  values: Array<number | undefined>;
}

/** A query's value over its steps: a set of series, or one number per step (a scalar). */
export type Value = { kind: 'vector'; series: Series[] } | { kind: 'scalar'; values: number[] };

/** Series one metric query may return (Loki's max_query_series default). */
export const MAX_SERIES = 500;
/** Series a range aggregation may hold before grouping: bounds memory for a label that is unique per line. */
export const MAX_INNER_SERIES = 20_000;
/** Series × steps a range aggregation may hold (two numbers each): bounds its memory at about 64 MB. */
export const MAX_CELLS = 4_000_000;
/** Points per series of a range query (Loki's limit). */
export const MAX_POINTS = 11_000;

/** Labels as Prometheus prints them, sorted by name: the identity of a series and the order of results. */
export function labelsKey(labels: ReadonlyMap<string, string>): string {
  const names = [...labels.keys()].sort();
  return `{${names.map((name) => `${name}=${JSON.stringify(labels.get(name))}`).join(', ')}}`;
}

export function tooManySeries(limit: number): LogaggError {
  return new LogaggError('LOGQL_LIMIT', {
    message: `maximum of series (${limit}) reached for a single query; narrow the selector or aggregate with sum by (...)`,
  });
}

export function sortSeries(series: Series[]): Series[] {
  return series
    .map((s) => ({ s, key: labelsKey(s.labels) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ s }) => s);
}
