import { byId, h, setText } from './dom.js';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate } from './format.js';
import type { Snapshot } from './poller.js';
import { computeRates, countsFor, type Rates } from './rates.js';

interface Card {
  key: string;
  label: string;
  /** Shown under the value: where the figure comes from or what it covers. */
  hint?: string;
  value(snapshot: Snapshot, rates: Rates, topic: string | null): string | undefined;
}

const STORE_NAMES = { postgres: 'PostgreSQL', pglite: 'Embedded (PGlite)' } as const;

const CARDS: Card[] = [
  { key: 'received', label: 'Received', value: (s, _r, t) => num(countsFor(s, t)?.received) },
  { key: 'unique', label: 'Unique', value: (s, _r, t) => num(countsFor(s, t)?.unique_processed) },
  { key: 'duplicates', label: 'Duplicates', value: (s, _r, t) => num(countsFor(s, t)?.duplicate_dropped) },
  {
    key: 'duplicate-rate',
    label: 'Duplicate rate',
    value: (s, _r, t) => {
      const counts = countsFor(s, t);
      return counts ? formatPercent(counts.duplicate_dropped, counts.received) : undefined;
    },
  },
  { key: 'rejected', label: 'Rejected', hint: 'requests, this process', value: (s) => num(s.metrics?.rejected) },
  { key: 'stored', label: 'Stored', value: (s, _r, t) => num(countsFor(s, t)?.stored) },
  { key: 'expired', label: 'Expired', hint: 'by retention', value: (s, _r, t) => num(countsFor(s, t)?.expired) },
  { key: 'deleted', label: 'Deleted', hint: 'by deletion jobs', value: (s, _r, t) => num(countsFor(s, t)?.deleted) },
  {
    key: 'ingest-rate',
    label: 'Ingest rate',
    hint: 'events/s',
    value: (_s, r) => (r.unique === null || r.duplicates === null ? undefined : formatRate(r.unique + r.duplicates)),
  },
  { key: 'queue', label: 'Queue depth', hint: 'events waiting', value: (_s, r) => num(r.queued) },
  { key: 'commit', label: 'Batch commit', hint: 'mean, last second', value: (_s, r) => formatMs(r.commitMs) },
  { key: 'uptime', label: 'Uptime', value: (s) => (s.stats ? formatDuration(s.stats.uptime) : undefined) },
  { key: 'store', label: 'Store', value: (s) => (s.stats ? STORE_NAMES[s.stats.store] : undefined) },
  { key: 'readiness', label: 'Readiness', value: (s) => (s.ready === null ? undefined : s.ready ? 'Ready' : 'Not ready') },
];

function num(value: number | null | undefined): string | undefined {
  return value === undefined || value === null ? undefined : formatCount(value);
}

/** The counter cards: built once, then only their text changes on each poll. */
export function createOverview(): (snapshot: Snapshot, previous: Snapshot | null, topic: string | null) => void {
  const list = byId<HTMLDListElement>('cards');
  const values = new Map<string, HTMLElement>();
  for (const card of CARDS) {
    const value = h('dd', { 'data-figure': card.key }, '—');
    const box = h('div', { class: 'card' }, h('dt', {}, card.label, card.hint ? h('small', {}, card.hint) : null), value);
    list.append(box);
    values.set(card.key, value);
  }
  return (snapshot, previous, topic) => {
    // Without fresh stats the last figures stay on screen (the banner says why); the readiness card still updates.
    const rates = computeRates(snapshot, previous, topic);
    for (const card of CARDS) {
      const el = values.get(card.key);
      if (!el) continue;
      const text = card.value(snapshot, rates, topic);
      if (text !== undefined) setText(el, text);
      else if (card.key === 'readiness' || card.key === 'ingest-rate') setText(el, '—');
      if (card.key === 'readiness') el.dataset.state = snapshot.ready === false ? 'bad' : snapshot.ready ? 'good' : 'unknown';
    }
  };
}
