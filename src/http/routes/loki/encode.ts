import type { ScannedEntry } from '../../../query/logql/scan.js';
import type { Steps } from '../../../query/logql/evaluate.js';
import { labelsKey, type Value } from '../../../query/logql/series.js';

/**
 * Response bodies of the Loki read API, field for field as Loki writes them (grafana/loki pkg/util/marshal):
 * `streams` values are ["<ns>", "<line>"], plus a third element {structuredMetadata?, parsed?} when the request
 * carries `X-Loki-Response-Encoding-Flags: categorize-labels` (then `stream` holds only the stream labels and
 * data.encodingFlags echoes the flag); sample times are seconds as JSON numbers, values are strings.
 */

export const CATEGORIZE_LABELS = 'categorize-labels';

/** Go's strconv.FormatFloat(v, 'f', -1, 64): no exponent, NaN and ±Inf spelled as Prometheus does. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const text = String(v);
  const match = /^(-?)([0-9])(?:\.([0-9]+))?e([-+][0-9]+)$/.exec(text);
  if (!match) return text;
  const [, sign, first, rest = '', exp] = match as unknown as [string, string, string, string | undefined, string];
  const digits = first + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  return `${sign}${digits.padEnd(point, '0')}`;
}

/** A step time as Loki writes it: milliseconds (truncated) as seconds. */
export function stepSeconds(ns: bigint): number {
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  return Number(ms) / 1000;
}

const sortedObject = (labels: ReadonlyMap<string, string>): Record<string, string> => {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of [...labels.keys()].sort()) out[name] = labels.get(name) as string;
  return out;
};

type StreamValue = [string, string] | [string, string, Record<string, Record<string, string>>];

export function encodeStreams(entries: readonly ScannedEntry[], categorize: boolean): unknown[] {
  const streams = new Map<string, { labels: Map<string, string>; values: StreamValue[] }>();
  for (const entry of entries) {
    const labels = categorize ? entry.labels.stream : entry.labels.all();
    const key = labelsKey(labels);
    let stream = streams.get(key);
    if (stream === undefined) {
      stream = { labels, values: [] };
      streams.set(key, stream);
    }
    if (!categorize) {
      stream.values.push([entry.ns.toString(), entry.line]);
      continue;
    }
    const extra: Record<string, Record<string, string>> = {};
    if (entry.labels.metadata.size > 0) extra.structuredMetadata = sortedObject(entry.labels.metadata);
    if (entry.labels.parsed.size > 0) extra.parsed = sortedObject(entry.labels.parsed);
    stream.values.push([entry.ns.toString(), entry.line, extra]);
  }
  return [...streams.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, stream]) => ({ stream: sortedObject(stream.labels), values: stream.values }));
}

/** A metric value: a matrix over the steps (range query), or a vector or scalar at one instant. */
export function encodeMetric(value: Value, steps: Steps, instant: boolean): { resultType: string; result: unknown } {
  const time = (k: number): number => stepSeconds(steps.startNs + steps.stepNs * BigInt(k));
  if (instant) {
    if (value.kind === 'scalar') return { resultType: 'scalar', result: [time(0), formatValue(value.values[0] as number)] };
    return {
      resultType: 'vector',
      result: value.series.map((s) => ({ metric: sortedObject(s.labels), value: [time(0), formatValue(s.values[0] as number)] })),
    };
  }
  const series = value.kind === 'scalar' ? [{ labels: new Map<string, string>(), values: value.values }] : value.series;
  return {
    resultType: 'matrix',
    result: series.map((s) => ({
      metric: sortedObject(s.labels),
      values: s.values.flatMap((v, k) => (v === undefined ? [] : [[time(k), formatValue(v)]])),
    })),
  };
}

const zeroCache = () => ({
  entriesFound: 0,
  entriesRequested: 0,
  entriesStored: 0,
  bytesReceived: 0,
  bytesSent: 0,
  requests: 0,
  downloadTime: 0,
  queryLengthServed: 0,
});
const zeroChunk = () => ({
  compressedBytes: 0,
  decompressedBytes: 0,
  decompressedLines: 0,
  decompressedStructuredMetadataBytes: 0,
  headChunkBytes: 0,
  headChunkLines: 0,
  headChunkStructuredMetadataBytes: 0,
  postFilterLines: 0,
  totalDuplicates: 0,
});
const zeroStore = () => ({
  chunksDownloadTime: 0,
  congestionControlLatency: 0,
  totalChunksRef: 0,
  totalChunksDownloaded: 0,
  chunkRefsFetchTime: 0,
  queryReferencedStructuredMetadata: false,
  pipelineWrapperFilteredLines: 0,
  chunk: zeroChunk(),
});

/** Loki's stats object: the summary filled in (seconds, entries returned), the store-internal parts zero. */
export function encodeStats(execSeconds: number, entriesReturned: number): unknown {
  return {
    summary: {
      bytesProcessedPerSecond: 0,
      linesProcessedPerSecond: 0,
      totalBytesProcessed: 0,
      totalLinesProcessed: 0,
      execTime: execSeconds,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: entriesReturned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: 0,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store: zeroStore() },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: zeroStore() },
    cache: {
      chunk: zeroCache(),
      index: zeroCache(),
      result: zeroCache(),
      statsResult: zeroCache(),
      volumeResult: zeroCache(),
      seriesResult: zeroCache(),
      labelResult: zeroCache(),
      instantMetricResult: zeroCache(),
    },
    index: { totalChunks: 0, postFilterChunks: 0, shardsDuration: 0, usedBloomFilters: false },
  };
}
