import { byId, h, setText } from './dom.js';
import { formatAgo, formatCount, formatPercent } from './format.js';
import type { Snapshot, TopicFigures } from './poller.js';
import { selectedTopic, selectTopic } from './topic-filter.js';

/** Rows rendered at most; a search narrows the rest. Thousands of rows re-sorted every second would cost. */
const MAX_ROWS = 200;

type SortKey = 'topic' | 'received' | 'unique' | 'duplicates' | 'last';

interface Column {
  key: SortKey | null;
  label: string;
  /** Hidden on narrow screens. */
  wide?: boolean;
  numeric?: boolean;
  text?(figures: TopicFigures): string;
}

const COLUMNS: Column[] = [
  { key: 'topic', label: 'Topic' },
  { key: 'received', label: 'Received', numeric: true, text: (f) => formatCount(f.received) },
  { key: 'unique', label: 'Unique', numeric: true, wide: true, text: (f) => formatCount(f.unique_processed) },
  { key: 'duplicates', label: 'Duplicates', numeric: true, text: (f) => formatCount(f.duplicate_dropped) },
  { key: null, label: 'Dup. rate', numeric: true, wide: true, text: (f) => formatPercent(f.duplicate_dropped, f.received) },
  { key: null, label: 'Stored', numeric: true, wide: true, text: (f) => formatCount(f.stored) },
  { key: 'last', label: 'Last event' },
];

const SORTERS: Record<SortKey, (a: [string, TopicFigures], b: [string, TopicFigures]) => number> = {
  topic: ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0),
  received: ([, a], [, b]) => b.received - a.received,
  unique: ([, a], [, b]) => b.unique_processed - a.unique_processed,
  duplicates: ([, a], [, b]) => b.duplicate_dropped - a.duplicate_dropped,
  last: ([, a], [, b]) => (b.last_received_at ?? '').localeCompare(a.last_received_at ?? ''),
};

interface Row {
  tr: HTMLTableRowElement;
  button: HTMLButtonElement;
  cells: HTMLTableCellElement[];
  time: HTMLTimeElement;
}

/** The topics table: rows keyed by topic and updated in place, so focus and selection survive each poll. */
export function createTopicsTable(): { update(snapshot: Snapshot): void; refreshSelection(): void } {
  const table = byId<HTMLTableElement>('topics-table');
  const tbody = table.tBodies[0] as HTMLTableSectionElement;
  const search = byId<HTMLInputElement>('topic-search');
  const note = byId('topics-note');
  const options = byId<HTMLDataListElement>('topic-options');
  const rows = new Map<string, Row>();
  let sortKey: SortKey = 'topic';
  let last: Snapshot | null = null;
  let knownTopics = '';

  const headers = COLUMNS.map((column) => {
    const th = h('th', { scope: 'col', class: [column.numeric ? 'num' : '', column.wide ? 'wide' : ''].join(' ').trim() || undefined });
    if (column.key === null) th.textContent = column.label;
    else {
      const key = column.key;
      th.append(h('button', { type: 'button', class: 'sort' }, column.label));
      th.addEventListener('click', () => {
        sortKey = key;
        if (last) update(last);
      });
    }
    return th;
  });
  table.tHead?.rows[0]?.append(...headers);
  search.addEventListener('input', () => {
    if (last) update(last);
  });

  function makeRow(topic: string): Row {
    const button = h('button', { type: 'button', class: 'topic-link', title: `Filter the page to ${topic}` }, topic);
    button.addEventListener('click', () => selectTopic(selectedTopic() === topic ? null : topic));
    const time = h('time');
    const cells = COLUMNS.map((column, i) =>
      h(
        'td',
        { class: [column.numeric ? 'num' : '', column.wide ? 'wide' : ''].join(' ').trim() || undefined },
        i === 0 ? button : column.key === 'last' ? time : null,
      ),
    );
    const tr = h('tr', { 'data-topic': topic }, ...cells);
    return { tr, button, cells, time };
  }

  function fill(row: Row, topic: string, figures: TopicFigures): void {
    COLUMNS.forEach((column, i) => {
      const cell = row.cells[i];
      if (cell && column.text) setText(cell, column.text(figures));
    });
    const at = figures.last_received_at;
    setText(row.time, at ? formatAgo(at) : '—');
    if (at && row.time.dateTime !== at) {
      row.time.dateTime = at;
      row.time.title = at;
    }
    const selected = selectedTopic() === topic;
    row.button.setAttribute('aria-pressed', String(selected));
    row.tr.classList.toggle('selected', selected);
  }

  function update(snapshot: Snapshot): void {
    if (!snapshot.stats) return;
    last = snapshot;
    const all = Object.entries(snapshot.stats.per_topic);
    const names = all.map(([topic]) => topic).join('\n');
    if (names !== knownTopics) {
      knownTopics = names;
      options.replaceChildren(...all.slice(0, 1000).map(([topic]) => h('option', { value: topic })));
    }
    const needle = search.value.trim().toLowerCase();
    const matching = needle === '' ? all : all.filter(([topic]) => topic.toLowerCase().includes(needle));
    matching.sort(SORTERS[sortKey]);
    const shown = matching.slice(0, MAX_ROWS);
    const wanted = new Set(shown.map(([topic]) => topic));
    for (const [topic, row] of rows) {
      if (!wanted.has(topic)) {
        row.tr.remove();
        rows.delete(topic);
      }
    }
    const order = shown.map(([topic, figures]) => {
      let row = rows.get(topic);
      if (!row) rows.set(topic, (row = makeRow(topic)));
      fill(row, topic, figures);
      return row.tr;
    });
    placeRows(tbody, order);
    COLUMNS.forEach((column, i) => {
      if (column.key !== null)
        headers[i]?.setAttribute('aria-sort', column.key !== sortKey ? 'none' : sortKey === 'topic' ? 'ascending' : 'descending');
    });
    if (all.length === 0) setText(note, 'No topics yet: publish an event and it appears here.');
    else if (matching.length > shown.length) setText(note, `Showing ${shown.length} of ${matching.length} topics: type in Find to narrow.`);
    else setText(note, 'Select a topic to filter the rest of the page; select it again to show all.');
  }

  return {
    update,
    refreshSelection: () => {
      if (last) update(last);
    },
  };
}

/** Reorders rows only where the order changed, and gives focus back if moving a row took it away. */
function placeRows(tbody: HTMLTableSectionElement, order: HTMLTableRowElement[]): void {
  const active = document.activeElement;
  let moved = false;
  order.forEach((tr, i) => {
    if (tbody.children[i] !== tr) {
      tbody.insertBefore(tr, tbody.children[i] ?? null);
      moved = true;
    }
  });
  if (moved && active instanceof HTMLElement && tbody.contains(active) && document.activeElement !== active) {
    active.focus({ preventScroll: true });
  }
}
