import type { Histogram } from '../../src/schema/query.js';
import { ApiError, apiGet } from './api.js';
import { byId, h, setText } from './dom.js';
import { formatCount, formatLocal } from './format.js';
import { isLogql, withFormMatchers } from './logql-search.js';

/** The filters of the events form as the API takes them (absent ones are omitted). */
export type EventFilters = Partial<Record<'topic' | 'source' | 'since' | 'until' | 'q', string>>;

/** A time range picked on the histogram: start inclusive, end exclusive, in ms since the epoch. */
export interface PickedRange {
  since: number;
  until: number;
}

export interface HistogramView {
  /** Draws the histogram of these filters (a newer call cancels an older one still loading). */
  show(filters: EventFilters): void;
}

/**
 * Matching events over time (GET /events/histogram), above the events list. Bars are buttons, not a canvas: each
 * says its range and count to a screen reader and takes a click or Enter; a drag across bars picks their range.
 * Either hands the range to `onPick` (the browser sets since/until and reloads).
 */
export function createHistogram(onPick: (range: PickedRange) => void): HistogramView {
  const bars = byId('histogram-bars');
  const caption = byId('histogram-caption');
  const axisFrom = byId('histogram-from');
  const axisTo = byId('histogram-to');
  let loading: AbortController | undefined;
  let shown: Histogram | undefined;
  let dragFrom: number | undefined;

  const barEnd = (histogram: Histogram, i: number): number =>
    Math.min(Date.parse(histogram.from) + (i + 1) * histogram.step_ms, Date.parse(histogram.to));
  const indexOf = (target: EventTarget | null): number | undefined => {
    const bar = target instanceof Element ? target.closest<HTMLElement>('[data-index]') : null;
    return bar ? Number(bar.dataset.index) : undefined;
  };
  const pick = (a: number, b: number): void => {
    if (!shown) return;
    const [first, last] = a <= b ? [a, b] : [b, a];
    const start = shown.buckets[first]?.start;
    if (start === undefined) return;
    onPick({ since: Date.parse(start), until: barEnd(shown, last) });
  };
  const mark = (a: number | undefined, b: number | undefined): void => {
    for (const bar of bars.children) {
      const i = Number((bar as HTMLElement).dataset.index);
      const inside = a !== undefined && b !== undefined && i >= Math.min(a, b) && i <= Math.max(a, b);
      bar.classList.toggle('picking', inside);
    }
  };

  // A press starts a pick; releasing over another bar picks the range between (a click, over the same bar, is
  // handled by the click listener, which keyboards reach too).
  bars.addEventListener('pointerdown', (event) => {
    dragFrom = indexOf(event.target);
    mark(dragFrom, dragFrom);
  });
  bars.addEventListener('pointerover', (event) => {
    if (dragFrom !== undefined && event.buttons !== 0) mark(dragFrom, indexOf(event.target));
  });
  bars.addEventListener('pointerup', (event) => {
    const from = dragFrom;
    const to = indexOf(event.target);
    dragFrom = undefined;
    mark(undefined, undefined);
    if (from !== undefined && to !== undefined && from !== to) pick(from, to);
  });
  bars.addEventListener('pointerleave', () => {
    dragFrom = undefined;
    mark(undefined, undefined);
  });
  bars.addEventListener('click', (event) => {
    const i = indexOf(event.target);
    if (i !== undefined) pick(i, i);
  });

  function render(histogram: Histogram): void {
    shown = histogram;
    const peak = Math.max(0, ...histogram.buckets.map((b) => b.count));
    const max = Math.max(1, peak);
    bars.replaceChildren(
      ...histogram.buckets.map((bucket, i) => {
        const label = `${formatLocal(bucket.start)} to ${formatLocal(new Date(barEnd(histogram, i)).toISOString())}: ${formatCount(bucket.count)} event${bucket.count === 1 ? '' : 's'}`;
        const fill = h('span', { class: 'fill' });
        // Set through the CSSOM: the page's Content-Security-Policy refuses style attributes.
        fill.style.height = `${(bucket.count / max) * 100}%`;
        return h(
          'button',
          { type: 'button', class: 'bar', 'data-index': i, 'data-count': bucket.count, 'aria-label': label, title: label },
          fill,
        );
      }),
    );
    setText(axisFrom, formatLocal(histogram.from));
    setText(axisTo, formatLocal(histogram.to));
    setText(
      caption,
      `${formatCount(histogram.total)} matching event${histogram.total === 1 ? '' : 's'}, ${formatStep(histogram.step_ms)} per bar (at most ${formatCount(peak)}). Click a bar or drag across bars to zoom.`,
    );
    bars.removeAttribute('aria-busy');
  }

  return {
    show(filters) {
      loading?.abort();
      const controller = (loading = new AbortController());
      const params = new URLSearchParams(Object.entries(filters).filter((entry): entry is [string, string] => entry[1] !== undefined));
      bars.setAttribute('aria-busy', 'true');
      const request = isLogql(filters.q)
        ? logqlHistogram(filters, controller.signal)
        : apiGet(`/events/histogram?${params.toString()}`, { signal: controller.signal, timeoutMs: 30_000 }).then(
            (response) => response.json() as Promise<Histogram>,
          );
      request
        .then((histogram) => {
          if (!controller.signal.aborted) render(histogram);
        })
        .catch((err: unknown) => {
          if (controller.signal.aborted) return;
          shown = undefined;
          bars.replaceChildren();
          bars.removeAttribute('aria-busy');
          setText(caption, err instanceof ApiError ? `No histogram: ${err.message}` : 'No histogram');
        });
    },
  };
}

/** A bucket width in the largest unit that keeps it short: "250 ms", "1.5 s", "2 min", "3 h", "2 d". */
function formatStep(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size) return `${Number((ms / size).toFixed(ms % size === 0 ? 0 : 1))} ${unit}`;
  }
  return `${ms} ms`;
}

/** Bars of a LogQL histogram; the range is since/until, else the hour before until (or now), as GET /events/histogram's. */
const LOGQL_BUCKETS = 60;
const LOGQL_DEFAULT_RANGE_MS = 3_600_000;

interface MatrixBody {
  data: { resultType: string; result: Array<{ values: Array<[number, string]> }> };
}

/**
 * The histogram of a LogQL log query: sum(count_over_time(<query> [step])) through the Loki API, one step per bar.
 * Loki's window (t − step, t] holds its end and not its start; evaluated at each bar's end less 1 ns it is the
 * bar's [start, end), as GET /events/histogram counts (timestamps are whole nanoseconds).
 */
async function logqlHistogram(filters: EventFilters, signal: AbortSignal): Promise<Histogram> {
  const to = filters.until === undefined ? Date.now() : Date.parse(filters.until);
  const from = filters.since === undefined ? to - LOGQL_DEFAULT_RANGE_MS : Date.parse(filters.since);
  const step = Math.max(1, Math.ceil((to - from) / LOGQL_BUCKETS));
  const count = Math.max(1, Math.ceil((to - from) / step));
  const ns = (ms: number): string => (BigInt(ms) * 1_000_000n - 1n).toString();
  const query = `sum(count_over_time(${withFormMatchers(filters.q ?? '', filters)} [${step}ms]))`;
  const params = new URLSearchParams({ query, start: ns(from + step), end: ns(from + count * step), step: `${step}ms` });
  const response = await apiGet(`/loki/api/v1/query_range?${params.toString()}`, { signal, timeoutMs: 30_000 });
  const body = (await response.json()) as MatrixBody;
  const counts = new Array<number>(count).fill(0);
  for (const [seconds, value] of body.data.result[0]?.values ?? []) {
    const k = Math.round((seconds * 1000 - from) / step) - 1;
    if (k >= 0 && k < count) counts[k] = Number(value);
  }
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    from: iso(from),
    to: iso(from + count * step),
    step_ms: step,
    buckets: counts.map((n, i) => ({ start: iso(from + i * step), count: n })),
    total: counts.reduce((a, b) => a + b, 0),
  };
}
