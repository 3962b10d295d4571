const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export const formatCount = (value: number): string => integer.format(value);

export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return '—';
  return perSecond >= 100 ? integer.format(perSecond) : decimal.format(perSecond);
}

export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return '—';
  return `${decimal.format((part / whole) * 100)}%`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms >= 10 ? `${integer.format(ms)} ms` : `${ms.toFixed(2)} ms`;
}

/** Seconds as "2d 3h", "4h 5m", "6m 7s" or "8s": the two largest units are enough to read at a glance. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const units: [string, number][] = [
    ['d', Math.floor(s / 86_400)],
    ['h', Math.floor(s / 3600) % 24],
    ['m', Math.floor(s / 60) % 60],
    ['s', s % 60],
  ];
  const first = units.findIndex(([, n]) => n > 0);
  if (first < 0) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([, n]) => n > 0)
    .map(([unit, n]) => `${n}${unit}`)
    .join(' ');
}

/** "12s ago" for an ISO time, measured against the browser clock. */
export function formatAgo(iso: string, now = Date.now()): string {
  const seconds = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 1) return 'just now';
  return `${formatDuration(seconds)} ago`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** An ISO time in the browser's time zone as "2025-10-21 17:00:00.000" (the filters take local time too). */
export function formatLocal(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A datetime-local input's value (local time) as an ISO instant for the API, or undefined when empty. */
export function localInputToIso(value: string): string | undefined {
  if (value === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** An instant (ms since the epoch) as a datetime-local input's value in the browser's time zone, to the millisecond. */
export function msToLocalInput(ms: number): string {
  return formatLocal(new Date(ms).toISOString()).replace(' ', 'T');
}

/** A short one-line preview of a payload: its `content` string when it has one, else compact JSON. */
export function previewPayload(payload: object, max = 120): string {
  const content = (payload as { content?: unknown }).content;
  const text = typeof content === 'string' ? content : JSON.stringify(payload);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
