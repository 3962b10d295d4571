import type { LogqlReader } from '../../store/index.js';
import type { BinaryOp, SampleExpr } from './ast.js';
import { evaluateRange, type Steps } from './range.js';
import { labelsKey, MAX_SERIES, type Series, sortSeries, tooManySeries, type Value } from './series.js';

export type { Steps } from './range.js';

/** A metric query over its steps; series sorted by labels (topk/bottomk at an instant: by value, as Loki). */
export async function evaluateMetric(reader: LogqlReader, expr: SampleExpr, steps: Steps): Promise<Value> {
  const value = await evaluate(reader, expr, steps);
  if (value.kind === 'scalar') return value;
  const series = value.series.filter((s) => s.values.some((v) => v !== undefined));
  if (series.length > MAX_SERIES) throw tooManySeries(MAX_SERIES);
  const byValue = steps.count === 1 && expr.kind === 'vectorAgg' && (expr.op === 'topk' || expr.op === 'bottomk');
  if (byValue) {
    const sign = expr.op === 'topk' ? -1 : 1;
    return { kind: 'vector', series: series.sort((a, b) => sign * ((a.values[0] as number) - (b.values[0] as number))) };
  }
  return { kind: 'vector', series: sortSeries(series) };
}

async function evaluate(reader: LogqlReader, expr: SampleExpr, steps: Steps): Promise<Value> {
  switch (expr.kind) {
    case 'literal':
      return { kind: 'scalar', values: new Array<number>(steps.count).fill(expr.value) };
    case 'vector':
      return { kind: 'vector', series: [{ labels: new Map(), values: new Array<number>(steps.count).fill(expr.value) }] };
    case 'range':
      return { kind: 'vector', series: await evaluateRange(reader, expr, steps) };
    case 'vectorAgg': {
      // sum of a range aggregation: the store groups by the labels the sum keeps (a sum over fewer, larger series).
      const inner =
        expr.op === 'sum' && expr.expr.kind === 'range'
          ? { kind: 'vector' as const, series: await evaluateRange(reader, expr.expr, steps, { kept: keptBy(expr.grouping) }) }
          : await evaluate(reader, expr.expr, steps);
      const series = inner.kind === 'vector' ? inner.series : [{ labels: new Map<string, string>(), values: inner.values }];
      return { kind: 'vector', series: aggregate(expr, series, steps.count) };
    }
    case 'binary': {
      const [left, right] = await Promise.all([evaluate(reader, expr.left, steps), evaluate(reader, expr.right, steps)]);
      return binary(expr.op, expr.returnBool, left, right);
    }
  }
}

/** Whether a label survives the grouping (no grouping: none does). */
function keptBy(grouping: { without: boolean; labels: string[] } | undefined): (name: string) => boolean {
  if (grouping === undefined) return () => false;
  return (name) => grouping.labels.includes(name) !== grouping.without;
}

function groupLabels(labels: Map<string, string>, grouping: { without: boolean; labels: string[] } | undefined): Map<string, string> {
  if (grouping === undefined) return new Map();
  if (grouping.without) return new Map([...labels].filter(([name]) => !grouping.labels.includes(name)));
  return new Map([...labels].filter(([name]) => grouping.labels.includes(name)));
}

function aggregate(expr: Extract<SampleExpr, { kind: 'vectorAgg' }>, series: Series[], count: number): Series[] {
  const groups = new Map<string, { labels: Map<string, string>; members: Series[] }>();
  for (const s of series) {
    const labels = groupLabels(s.labels, expr.grouping);
    const key = labelsKey(labels);
    const group = groups.get(key) ?? { labels, members: [] };
    group.members.push(s);
    groups.set(key, group);
  }
  if (expr.op === 'topk' || expr.op === 'bottomk') {
    const k = expr.param as number;
    const kept = new Map<Series, Array<number | undefined>>();
    for (const { members } of groups.values()) {
      for (let step = 0; step < count; step++) {
        const present = members.filter((s) => s.values[step] !== undefined);
        present.sort((a, b) => (expr.op === 'topk' ? 1 : -1) * ((b.values[step] as number) - (a.values[step] as number)));
        for (const s of present.slice(0, k)) {
          const values = kept.get(s) ?? new Array<number | undefined>(count).fill(undefined);
          values[step] = s.values[step];
          kept.set(s, values);
        }
      }
    }
    return [...kept].map(([s, values]) => ({ labels: s.labels, values }));
  }
  return [...groups.values()].map(({ labels, members }) => {
    const values = new Array<number | undefined>(count).fill(undefined);
    for (let step = 0; step < count; step++) {
      const present = members.map((s) => s.values[step]).filter((v): v is number => v !== undefined);
      if (present.length === 0) continue;
      values[step] = reduce(expr.op, present);
    }
    return { labels, values };
  });
}

function reduce(op: string, values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return values.reduce((a, b) => (Number.isNaN(a) || b < a ? b : a));
    case 'max':
      return values.reduce((a, b) => (Number.isNaN(a) || b > a ? b : a));
    default:
      return values.length;
  }
}

/** Go's float arithmetic (math.Mod and math.Pow agree with JavaScript's % and **). */
function arithmetic(op: BinaryOp, a: number, b: number): number | boolean {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

/**
 * One sample of `a op b`: arithmetic gives the number; a comparison keeps `keep` (the vector side's value) when
 * true and drops the sample when false, or with bool gives 1 or 0.
 */
function apply(op: BinaryOp, returnBool: boolean, a: number, b: number, keep: number): number | undefined {
  const result = arithmetic(op, a, b);
  if (typeof result === 'number') return result;
  if (returnBool) return result ? 1 : 0;
  return result ? keep : undefined;
}

function binary(op: BinaryOp, returnBool: boolean, left: Value, right: Value): Value {
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    return { kind: 'scalar', values: left.values.map((a, i) => apply(op, true, a, right.values[i] as number, a) as number) };
  }
  if (left.kind === 'vector' && right.kind === 'scalar') {
    return {
      kind: 'vector',
      series: left.series.map((s) => ({
        labels: s.labels,
        values: s.values.map((a, i) => (a === undefined ? undefined : apply(op, returnBool, a, right.values[i] as number, a))),
      })),
    };
  }
  if (left.kind === 'scalar' && right.kind === 'vector') {
    return {
      kind: 'vector',
      series: right.series.map((s) => ({
        labels: s.labels,
        values: s.values.map((b, i) => (b === undefined ? undefined : apply(op, returnBool, left.values[i] as number, b, b))),
      })),
    };
  }
  // Two vectors: one-to-one on the whole label set; the left side's labels.
  const rights = new Map((right as Extract<Value, { kind: 'vector' }>).series.map((s) => [labelsKey(s.labels), s]));
  const series: Series[] = [];
  for (const l of (left as Extract<Value, { kind: 'vector' }>).series) {
    const r = rights.get(labelsKey(l.labels));
    if (r === undefined) continue;
    const values = l.values.map((a, i) => {
      const b = r.values[i];
      return a === undefined || b === undefined ? undefined : apply(op, returnBool, a, b, a);
    });
    series.push({ labels: l.labels, values });
  }
  return { kind: 'vector', series };
}
