import { LogaggError } from '../../errors.js';
import type { CountRow, LogqlReader, StreamColumn } from '../../store/index.js';
import type { SampleExpr } from './ast.js';
import { EntryLabels, planLog, runStages } from './pipeline.js';
import { ceilDiv, floorDiv, scanEntries } from './scan.js';
import { labelsKey, MAX_CELLS, MAX_INNER_SERIES, type Series, tooManySeries } from './series.js';
import { DETECTED_LEVEL, type Level } from './stream.js';

/** Evaluation times start + k·step, k = 0 … steps − 1 (an instant query: one step at its time). */
export interface Steps {
  startNs: bigint;
  stepNs: bigint;
  count: number;
}

interface Window {
  labels: Map<string, string>;
  entries: Float64Array;
  bytes: Float64Array;
}

/**
 * count_over_time, rate, bytes_over_time, bytes_rate: each step t counts the entries with t − range < time ≤ t
 * (Loki's window: start exclusive, end inclusive); rate divides by the range in seconds. With no JS stage that
 * reads lines, the store counts per stream and window set; otherwise entries are scanned (bounded) and counted
 * here. A step whose window holds no entry has no sample.
 */
export async function evaluateRange(
  reader: LogqlReader,
  expr: Extract<SampleExpr, { kind: 'range' }>,
  steps: Steps,
  summed?: { kept: (label: string) => boolean },
): Promise<Series[]> {
  const plan = planLog(expr.log);
  const columns = summed !== undefined && plan.stages.length === 0 ? keptColumns(summed.kept) : undefined;
  const rangeNs = BigInt(expr.rangeNs);
  const endNs = steps.startNs + steps.stepNs * BigInt(steps.count - 1);
  const windows = new Map<string, Window>();
  const add = (labels: Map<string, string>, firstK: bigint, lastK: bigint, entries: number, bytes: number): void => {
    const from = firstK < 0n ? 0 : Number(firstK);
    const to = lastK >= BigInt(steps.count) ? steps.count - 1 : Number(lastK);
    if (from > to) return;
    const key = labelsKey(labels);
    let window = windows.get(key);
    if (window === undefined) {
      if (windows.size >= MAX_INNER_SERIES) throw tooManySeries(MAX_INNER_SERIES);
      if ((windows.size + 1) * steps.count > MAX_CELLS) {
        throw new LogaggError('LOGQL_LIMIT', {
          message: `the query holds more than ${MAX_CELLS.toLocaleString('en')} series × steps; use a larger step, a shorter range or aggregate`,
        });
      }
      window = { labels, entries: new Float64Array(steps.count), bytes: new Float64Array(steps.count) };
      windows.set(key, window);
    }
    for (let k = from; k <= to; k++) {
      window.entries[k] = (window.entries[k] as number) + entries;
      window.bytes[k] = (window.bytes[k] as number) + bytes;
    }
  };
  if (plan.where !== false && !(plan.levels !== undefined && plan.levels.length === 0)) {
    if (plan.labelsOnly) {
      const rows = await reader.countWindows({
        where: plan.where,
        levels: plan.levels,
        startNs: steps.startNs.toString(),
        stepNs: steps.stepNs.toString(),
        rangeNs: rangeNs.toString(),
        fromUs: floorDiv(steps.startNs - rangeNs, 1000n).toString(),
        toUs: floorDiv(endNs, 1000n).toString(),
        bytes: expr.op === 'bytes_over_time' || expr.op === 'bytes_rate',
        ...(columns !== undefined ? { columns } : {}),
      });
      for (const row of rows) {
        if (columns !== undefined) {
          add(summedLabels(columns, row), BigInt(row.first_k), BigInt(row.last_k), Number(row.entries), Number(row.bytes));
          continue;
        }
        const labels = new EntryLabels({ topic: row.topic, source: row.source, level: row.level as Level });
        if (runStages(plan.stages, '', labels) === undefined) continue;
        add(labels.all(), BigInt(row.first_k), BigInt(row.last_k), Number(row.entries), Number(row.bytes));
      }
    } else {
      // time > start − range ⇔ ts ≥ floor((start − range)/1000) + 1 µs; time ≤ end ⇔ ts < floor(end/1000) + 1.
      const range = { fromUs: floorDiv(steps.startNs - rangeNs, 1000n) + 1n, toUs: floorDiv(endNs, 1000n) + 1n, backward: false };
      await scanEntries(reader, plan, range, undefined, (entry) => {
        const offset = entry.ns - steps.startNs;
        const bytes = Buffer.byteLength(entry.line, 'utf8');
        add(entry.labels.all(), ceilDiv(offset, steps.stepNs), ceilDiv(offset + rangeNs, steps.stepNs) - 1n, 1, bytes);
      });
    }
  }
  const seconds = expr.rangeNs / 1e9;
  const series: Series[] = [];
  for (const window of windows.values()) {
    const error = window.labels.get('__error__');
    if (error !== undefined && window.labels.get('__preserve_error__') !== 'true') {
      throw new LogaggError('LOGQL_PIPELINE_ERROR', {
        message:
          `pipeline error: '${error}' for series: '${labelsKey(window.labels)}'. Use a label filter to intentionally skip this ` +
          `error. (e.g | __error__!="${error}"). To skip all errors use | __error__="".`,
      });
    }
    const values = Array.from(window.entries, (entries, k): number | undefined => {
      if (entries === 0) return undefined;
      const bytes = window.bytes[k] as number;
      switch (expr.op) {
        case 'count_over_time':
          return entries;
        case 'rate':
          return entries / seconds;
        case 'bytes_over_time':
          return bytes;
        case 'bytes_rate':
          return bytes / seconds;
      }
    });
    series.push({ labels: window.labels, values });
  }
  return series;
}

/**
 * The stream columns a sum over a range aggregation keeps, when no stage reads labels: the series it sums are
 * then only the stream labels and detected_level, and the sum of the counts of a merged series is the sum of its
 * parts (rate divides once where Loki divides each part: the same number up to float rounding, whose order Loki
 * does not fix either). Leaving detected_level out lets the store count from the ts index without the payload.
 */
function keptColumns(kept: (label: string) => boolean): StreamColumn[] {
  const columns: StreamColumn[] = [];
  if (kept('topic')) columns.push('topic');
  if (kept('source') || kept('service_name')) columns.push('source');
  if (kept(DETECTED_LEVEL)) columns.push('level');
  return columns;
}

/** The labels of a row counted by `columns` only (the others were merged). */
function summedLabels(columns: readonly StreamColumn[], row: CountRow): Map<string, string> {
  const labels = new Map<string, string>();
  if (columns.includes('topic')) labels.set('topic', row.topic);
  if (columns.includes('source')) {
    labels.set('source', row.source);
    labels.set('service_name', row.source);
  }
  if (columns.includes('level')) labels.set(DETECTED_LEVEL, row.level);
  return labels;
}
