import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { byId } from './dom.js';
import { formatMs, formatRate } from './format.js';
import type { Rates } from './rates.js';

/** Five minutes at one poll a second. */
const WINDOW_POINTS = 300;
const WINDOW_SECONDS = 300;
// A fixed window ending at the newest point: the axis reads as "the last five minutes" from the first poll on.
const slidingWindow: uPlot.Scale.Range = (_u, _min, max) => {
  const end = Number.isFinite(max) ? max : Date.now() / 1000;
  return [end - WINDOW_SECONDS, end];
};

type Column = (number | null)[];

interface ChartSpec {
  el: HTMLElement;
  build(width: number, colors: Palette): uPlot.Options;
  columns: Column[];
}

interface Palette {
  text: string;
  grid: string;
  unique: string;
  duplicates: string;
  latency: string;
  queue: string;
}

function palette(): Palette {
  const css = getComputedStyle(document.documentElement);
  const read = (name: string): string => css.getPropertyValue(name).trim();
  return {
    text: read('--muted'),
    grid: read('--grid'),
    unique: read('--chart-unique'),
    duplicates: read('--chart-duplicates'),
    latency: read('--chart-latency'),
    queue: read('--chart-queue'),
  };
}

function axis(colors: Palette, extra: uPlot.Axis = {}): uPlot.Axis {
  return { stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 }, ...extra };
}

const clock = (seconds: number): string => new Date(seconds * 1000).toTimeString().slice(0, 8);
// A five-minute window needs only the time of day; uPlot's default adds a date to the first tick.
const timeAxis = (colors: Palette): uPlot.Axis => axis(colors, { values: (_u, splits) => splits.map(clock), space: 70 });
const timeSeries: uPlot.Series = { label: 'time', value: (_u, v) => (v === null || v === undefined ? '—' : clock(v)) };

const height = (): number => (window.matchMedia('(max-width: 640px)').matches ? 150 : 190);
const show =
  (format: (v: number) => string) =>
  (_u: uPlot, v: number | null): string =>
    v === null || v === undefined ? '—' : format(v);

function rateChart(el: HTMLElement): ChartSpec {
  return {
    el,
    columns: [[], [], []],
    build: (width, c) => ({
      width,
      height: height(),
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: slidingWindow }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [
        timeSeries,
        { label: 'unique/s', stroke: c.unique, fill: `${c.unique}33`, width: 2, value: show(formatRate) },
        { label: 'duplicates/s', stroke: c.duplicates, fill: `${c.duplicates}33`, width: 2, value: show(formatRate) },
      ],
      axes: [timeAxis(c), axis(c, { size: 56 })],
    }),
  };
}

function pipelineChart(el: HTMLElement): ChartSpec {
  return {
    el,
    columns: [[], [], []],
    build: (width, c) => ({
      width,
      height: height(),
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: slidingWindow },
        ms: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        q: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
      },
      series: [
        timeSeries,
        { label: 'commit ms', scale: 'ms', stroke: c.latency, width: 2, value: show(formatMs), spanGaps: false },
        { label: 'queued', scale: 'q', stroke: c.queue, width: 1, value: show(formatRate) },
      ],
      axes: [timeAxis(c), axis(c, { scale: 'ms', size: 56 }), axis(c, { scale: 'q', side: 1, size: 56, grid: { show: false } })],
    }),
  };
}

/** The two live charts; push() adds one poll's point, resetRates() starts the rate chart over (topic changed). */
export interface Charts {
  push(rates: Rates, at: number): void;
  resetRates(): void;
}

export function createCharts(): Charts {
  const specs = [rateChart(byId('chart-rate')), pipelineChart(byId('chart-pipeline'))];
  const plots = new Map<ChartSpec, uPlot>();

  const render = (): void => {
    const colors = palette();
    for (const spec of specs) {
      plots.get(spec)?.destroy();
      const width = Math.max(200, spec.el.clientWidth);
      plots.set(spec, new uPlot(spec.build(width, colors), spec.columns as uPlot.AlignedData, spec.el));
    }
  };
  render();
  // Colours come from CSS variables: rebuild the charts when the system switches between light and dark.
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', render);
  let lastWidth = -1;
  new ResizeObserver(() => {
    const width = specs[0]?.el.clientWidth ?? 0;
    if (width === lastWidth) return;
    lastWidth = width;
    for (const spec of specs) plots.get(spec)?.setSize({ width: Math.max(200, spec.el.clientWidth), height: height() });
  }).observe(byId('chart-rate'));

  const append = (spec: ChartSpec, values: (number | null)[]): void => {
    spec.columns.forEach((column, i) => {
      column.push(values[i] ?? null);
      if (column.length > WINDOW_POINTS) column.shift();
    });
    plots.get(spec)?.setData(spec.columns as uPlot.AlignedData);
  };

  return {
    push(rates, at) {
      const seconds = at / 1000;
      const [rate, pipeline] = specs as [ChartSpec, ChartSpec];
      append(rate, [seconds, rates.unique, rates.duplicates]);
      append(pipeline, [seconds, rates.commitMs, rates.queued]);
    },
    resetRates() {
      const rate = specs[0];
      if (!rate) return;
      for (const column of rate.columns) column.length = 0;
      plots.get(rate)?.setData(rate.columns as uPlot.AlignedData);
    },
  };
}
