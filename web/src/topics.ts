import type { TopicEntry, TopicsPage } from '../../src/schema/stats.js';
import { apiJson } from './api.js';
import { byId, h, setText } from './dom.js';
import { formatAgo, formatCount, formatPercent } from './format.js';
import type { Snapshot, TopicFigures } from './poller.js';
import { selectedTopic, selectTopic } from './topic-filter.js';

/**
 * Rows per page. The table reads GET /topics a page at a time (in name order, searched by the server), never every
 * topic: there may be 100,000 of them, and /stats lists only the top ones.
 */
const PAGE_ROWS = 50;
/** The open page is re-read at most this often while the poll ticks (a page of counters is ~10 KiB). */
const REFRESH_MS = 3000;
/** Each /topics request reads at most 10,000 names; a rare search may take a few requests to fill a page. */
const MAX_REQUESTS_PER_PAGE = 20;

interface Column {
  label: string;
  /** Hidden on narrow screens. */
  wide?: boolean;
  numeric?: boolean;
  text?(figures: TopicFigures): string;
  last?: boolean;
}

const COLUMNS: Column[] = [
  { label: 'Topic' },
  { label: 'Received', numeric: true, text: (f) => formatCount(f.received) },
  { label: 'Unique', numeric: true, wide: true, text: (f) => formatCount(f.unique_processed) },
  { label: 'Duplicates', numeric: true, text: (f) => formatCount(f.duplicate_dropped) },
  { label: 'Dup. rate', numeric: true, wide: true, text: (f) => formatPercent(f.duplicate_dropped, f.received) },
  { label: 'Stored', numeric: true, wide: true, text: (f) => formatCount(f.stored) },
  { label: 'Last event', last: true },
];

interface Row {
  tr: HTMLTableRowElement;
  button: HTMLButtonElement;
  cells: HTMLTableCellElement[];
  time: HTMLTimeElement;
}

/** A page of topics and where the following one starts. */
interface Loaded {
  topics: TopicEntry[];
  next: string | null;
}

/** Reads up to PAGE_ROWS topics after `after` matching `q`, following the server's cursor through short pages. */
async function loadPage(after: string, q: string): Promise<Loaded> {
  const topics: TopicEntry[] = [];
  let cursor: string | null = after;
  for (let requests = 0; cursor !== null && topics.length < PAGE_ROWS && requests < MAX_REQUESTS_PER_PAGE; requests++) {
    const params = new URLSearchParams({ limit: String(PAGE_ROWS - topics.length) });
    if (cursor !== '') params.set('after', cursor);
    if (q !== '') params.set('q', q);
    const page = await apiJson<TopicsPage>(`/topics?${params.toString()}`);
    topics.push(...page.topics);
    cursor = page.next;
  }
  return { topics, next: cursor };
}

/** The topics table: a page of GET /topics, rows keyed by topic and updated in place so focus and selection survive. */
export function createTopicsTable(): { update(snapshot: Snapshot): void; refreshSelection(): void } {
  const table = byId<HTMLTableElement>('topics-table');
  const tbody = table.tBodies[0] as HTMLTableSectionElement;
  const search = byId<HTMLInputElement>('topic-search');
  const note = byId('topics-note');
  const options = byId<HTMLDataListElement>('topic-options');
  const prev = byId<HTMLButtonElement>('topics-prev');
  const next = byId<HTMLButtonElement>('topics-next');
  const rows = new Map<string, Row>();
  // Cursors of the pages before this one (keyset paging only goes forward; going back pops).
  const trail: string[] = [];
  let after = '';
  let loaded: Loaded | null = null;
  let loadedAt = 0;
  let loading = false;
  let again = false;
  let topicCount: number | null = null;

  table.tHead?.rows[0]?.append(
    ...COLUMNS.map((column) =>
      h(
        'th',
        { scope: 'col', class: [column.numeric ? 'num' : '', column.wide ? 'wide' : ''].join(' ').trim() || undefined },
        column.label,
      ),
    ),
  );

  async function reload(): Promise<void> {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      loaded = await loadPage(after, search.value.trim());
      loadedAt = Date.now();
      render();
    } catch {
      // The poll reports why the server cannot be read; the table keeps its last page meanwhile.
    } finally {
      loading = false;
      if (again) {
        again = false;
        void reload();
      }
    }
  }

  let typing: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      trail.length = 0;
      after = '';
      void reload();
    }, 250);
  });
  next.addEventListener('click', () => {
    if (!loaded?.next) return;
    trail.push(after);
    after = loaded.next;
    void reload();
  });
  prev.addEventListener('click', () => {
    if (trail.length === 0) return;
    after = trail.pop() as string;
    void reload();
  });

  function makeRow(topic: string): Row {
    const button = h('button', { type: 'button', class: 'topic-link', title: `Filter the page to ${topic}` }, topic);
    button.addEventListener('click', () => selectTopic(selectedTopic() === topic ? null : topic));
    const time = h('time');
    const cells = COLUMNS.map((column, i) =>
      h(
        'td',
        { class: [column.numeric ? 'num' : '', column.wide ? 'wide' : ''].join(' ').trim() || undefined },
        i === 0 ? button : column.last ? time : null,
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

  function render(): void {
    if (!loaded) return;
    const shown = loaded.topics;
    const wanted = new Set(shown.map((entry) => entry.topic));
    for (const [topic, row] of rows) {
      if (!wanted.has(topic)) {
        row.tr.remove();
        rows.delete(topic);
      }
    }
    const order = shown.map((entry) => {
      let row = rows.get(entry.topic);
      if (!row) rows.set(entry.topic, (row = makeRow(entry.topic)));
      fill(row, entry.topic, entry);
      return row.tr;
    });
    placeRows(tbody, order);
    const names = shown.map((entry) => entry.topic);
    if (options.children.length !== names.length || names.some((name, i) => (options.children[i] as HTMLOptionElement).value !== name)) {
      options.replaceChildren(...names.map((topic) => h('option', { value: topic })));
    }
    prev.disabled = trail.length === 0;
    next.disabled = loaded.next === null;
    const searching = search.value.trim() !== '';
    const total = topicCount === null ? '' : ` of ${formatCount(topicCount)}`;
    if (topicCount === 0) setText(note, 'No topics yet: publish an event and it appears here.');
    else if (shown.length === 0)
      setText(note, searching ? 'No topic on this page matches; try Next, or another search.' : 'No more topics.');
    else
      setText(
        note,
        `Topics ${formatCount(trail.length * PAGE_ROWS + 1)}–${formatCount(trail.length * PAGE_ROWS + shown.length)}` +
          `${searching ? ' matching' : total}, by name. Select a topic to filter the rest of the page; select it again to show all.`,
      );
  }

  return {
    update(snapshot) {
      if (snapshot.stats) topicCount = snapshot.stats.topic_count;
      if (Date.now() - loadedAt >= REFRESH_MS || (loaded?.topics.length === 0 && topicCount !== 0)) void reload();
      else render();
    },
    refreshSelection: render,
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
