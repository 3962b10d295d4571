import type { StoredEvent } from '../../src/schema/event.js';
import { ApiError, apiGet, parseLinks } from './api.js';
import { byId, h, setText } from './dom.js';
import { formatCount, formatLocal, localInputToIso, msToLocalInput } from './format.js';
import type { EventFilters, PickedRange } from './histogram.js';
import { entryKey, isLogql, type LogqlEntry, logqlPage, nsRange, withFormMatchers } from './logql-search.js';
import { payloadView } from './payload-view.js';
import { selectedTopic, selectTopic } from './topic-filter.js';

// The newest page is "the `limit` events before a seq past any real one" (the API's seq cursor is ≤ 15 digits).
const PAST_LAST_SEQ = '999999999999999';

type Cursor = { before: string } | { after: string } | { url: string };

interface Page {
  events: StoredEvent[];
  older: string | null;
  newer: string | null;
}

/** A page of a LogQL search: entries before `endNs` (exclusive), less those the newer page already showed. */
interface LogqlCursor {
  endNs: bigint;
  skip: ReadonlySet<string>;
}

export interface EventsBrowser {
  /** Back to the newest page (the page-wide topic filter changed). */
  reload(): void;
  /** The same page again (after an API key was entered). */
  retry(): void;
  /** Told each poll's count of stored events, so an empty newest page fills once events arrive. */
  noticeStored(stored: number): void;
  /** Narrows since/until to a range (a bar of the histogram) and applies the form. */
  zoom(range: PickedRange): void;
}

/**
 * The stored-events browser: filters, a page of events, and cursor pagination both ways. Each time the filters
 * are applied (not when paging) they go to `onApply`: the histogram and the live tail follow them.
 */
export function createEventsBrowser(onApply: (filters: EventFilters) => void): EventsBrowser {
  const form = byId<HTMLFormElement>('events-form');
  const tbody = byId<HTMLTableElement>('events-table').tBodies[0] as HTMLTableSectionElement;
  const info = byId('page-info');
  const buttons = new Map(
    [...byId('events-pager').querySelectorAll<HTMLButtonElement>('[data-page]')].map((b) => [b.dataset.page ?? '', b]),
  );
  let page: Page = { events: [], older: null, newer: null };
  let loading: AbortController | undefined;
  let busy = false;
  let lastCursor: Cursor = { before: PAST_LAST_SEQ };
  let lastStored = -1;
  let applied: EventFilters = {};
  // LogQL paging: the page shown, and the newer ones before it (Newer goes back through them).
  let logqlCursor: LogqlCursor | undefined;
  let newerLogql: LogqlCursor[] = [];
  let olderLogql: LogqlCursor | undefined;

  const field = (name: string): HTMLInputElement | HTMLSelectElement => form.elements.namedItem(name) as HTMLInputElement;
  const filters = (): EventFilters => ({
    q: field('q').value.trim() || undefined,
    topic: field('topic').value.trim() || undefined,
    source: field('source').value.trim() || undefined,
    since: localInputToIso(field('since').value),
    until: localInputToIso(field('until').value),
  });
  const query = (cursor: Cursor): string => {
    if ('url' in cursor) return cursor.url;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filters())) if (value !== undefined) params.set(name, value);
    params.set('limit', field('limit').value);
    if ('before' in cursor) params.set('before', cursor.before);
    else params.set('after', cursor.after);
    return `/events?${params.toString()}`;
  };

  /** One page of the LogQL search in the box (src: web/src/logql-search.ts), rendered in the events table. */
  async function loadLogql(cursor: LogqlCursor): Promise<void> {
    loading?.abort();
    const controller = (loading = new AbortController());
    busy = true;
    logqlCursor = cursor;
    tbody.parentElement?.setAttribute('aria-busy', 'true');
    const current = filters();
    const limit = Number(field('limit').value);
    try {
      const query = withFormMatchers(current.q ?? '', current);
      const { startNs } = nsRange(current);
      const fetched = await logqlPage(query, { startNs, endNs: cursor.endNs }, limit + cursor.skip.size, controller.signal);
      const entries = fetched.filter((entry) => !cursor.skip.has(entryKey(entry))).slice(0, limit);
      const oldest = entries.at(-1);
      // The next older page ends just after the oldest entry shown, so entries sharing its instant are not lost;
      // the ones shown here are skipped there.
      olderLogql =
        oldest !== undefined && fetched.length === limit + cursor.skip.size
          ? { endNs: BigInt(oldest.ns) + 1n, skip: new Set(entries.filter((e) => e.ns === oldest.ns).map(entryKey)) }
          : undefined;
      renderLogql(entries);
    } catch (err) {
      if (controller.signal.aborted) return;
      tbody.replaceChildren();
      setEnabled('older', false);
      setEnabled('newer', false);
      setText(info, `Could not run the LogQL query: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (loading === controller) {
        busy = false;
        tbody.parentElement?.removeAttribute('aria-busy');
      }
    }
  }

  function renderLogql(entries: LogqlEntry[]): void {
    const rows = entries.map((entry) => {
      const iso = new Date(Number(BigInt(entry.ns) / 1_000_000n)).toISOString();
      const labels = Object.entries(entry.labels)
        .filter(([name]) => name !== 'topic' && name !== 'source' && name !== 'service_name')
        .map(([name, value]) => `${name}=${value}`)
        .join(' ');
      return h(
        'tr',
        { 'data-ns': entry.ns },
        h('td', { class: 'num' }, ''),
        h('td', {}, h('time', { datetime: iso, title: `timestamp ${entry.ns} ns` }, formatLocal(iso))),
        h('td', { class: 'topic-cell' }, entry.labels.topic ?? ''),
        h('td', { class: 'wide' }, entry.labels.source ?? ''),
        h('td', { class: 'wide mono' }, ''),
        h(
          'td',
          { class: 'payload-cell' },
          h('span', { class: 'mono logql-line' }, entry.line),
          labels ? h('span', { class: 'note' }, ` ${labels}`) : '',
        ),
      );
    });
    tbody.replaceChildren(...rows);
    setText(
      info,
      entries.length > 0
        ? `LogQL: ${entries.length} line${entries.length === 1 ? '' : 's'}, newest first${newerLogql.length > 0 ? ` (page ${newerLogql.length + 1})` : ''}`
        : 'No lines match this LogQL query here',
    );
    setEnabled('older', olderLogql !== undefined);
    setEnabled('newer', newerLogql.length > 0);
    setEnabled('oldest', false);
  }

  async function load(cursor: Cursor): Promise<void> {
    loading?.abort();
    const controller = (loading = new AbortController());
    busy = true;
    lastCursor = cursor;
    logqlCursor = undefined;
    tbody.parentElement?.setAttribute('aria-busy', 'true');
    try {
      const response = await apiGet(query(cursor), { signal: controller.signal });
      const events = (await response.json()) as StoredEvent[];
      const links = parseLinks(response.headers.get('link'));
      const first = events[0];
      const lastEvent = events.at(-1);
      page = {
        events,
        // Link rel="prev"/"next" are the API's word on whether more remain; without them, a page that came from
        // the other direction still has a way back.
        older: links.get('prev') ?? ('after' in cursor && cursor.after !== '0' && first ? query({ before: String(first.seq) }) : null),
        newer:
          links.get('next') ??
          ('before' in cursor && cursor.before !== PAST_LAST_SEQ && lastEvent ? query({ after: String(lastEvent.seq) }) : null),
      };
      render();
    } catch (err) {
      if (controller.signal.aborted) return;
      setText(info, err instanceof ApiError ? `Could not load events: ${err.message}` : 'Could not load events');
    } finally {
      if (loading === controller) {
        busy = false;
        tbody.parentElement?.removeAttribute('aria-busy');
      }
    }
  }

  function render(): void {
    logqlCursor = undefined;
    setEnabled('oldest', true);
    // Newest first, like the live tail; the API pages in ascending seq.
    const rows = page.events
      .toReversed()
      .map((event) =>
        h(
          'tr',
          { 'data-seq': event.seq },
          h('td', { class: 'num' }, String(event.seq)),
          h(
            'td',
            {},
            h(
              'time',
              { datetime: event.timestamp, title: `timestamp ${event.timestamp}\nreceived ${event.received_at}` },
              formatLocal(event.timestamp),
            ),
          ),
          h('td', { class: 'topic-cell' }, event.topic),
          h('td', { class: 'wide' }, event.source),
          h('td', { class: 'wide mono' }, event.event_id),
          h('td', { class: 'payload-cell' }, payloadView(event.payload)),
        ),
      );
    tbody.replaceChildren(...rows);
    const first = page.events[0];
    const lastEvent = page.events.at(-1);
    setText(
      info,
      first && lastEvent
        ? `seq ${formatCount(first.seq)} – ${formatCount(lastEvent.seq)} (${page.events.length} event${page.events.length === 1 ? '' : 's'})`
        : 'No events match these filters here',
    );
    setEnabled('older', page.older !== null);
    setEnabled('newer', page.newer !== null);
  }

  function setEnabled(name: string, enabled: boolean): void {
    const button = buttons.get(name);
    if (button) button.disabled = !enabled;
  }

  /** The newest page of the form's filters, and the filters to whoever follows them. */
  function apply(): void {
    newest();
    applied = filters();
    onApply(applied);
  }

  /** The newest page: of the LogQL query when the box holds one, else of GET /events. */
  function newest(): void {
    const current = filters();
    newerLogql = [];
    if (isLogql(current.q)) void loadLogql({ endNs: nsRange(current).endNs, skip: new Set() });
    else void load({ before: PAST_LAST_SEQ });
  }

  buttons.get('newest')?.addEventListener('click', newest);
  buttons.get('oldest')?.addEventListener('click', () => void load({ after: '0' }));
  buttons.get('older')?.addEventListener('click', () => {
    if (logqlCursor !== undefined) {
      if (olderLogql === undefined) return;
      newerLogql.push(logqlCursor);
      void loadLogql(olderLogql);
    } else if (page.older) void load({ url: page.older });
  });
  buttons.get('newer')?.addEventListener('click', () => {
    if (logqlCursor !== undefined) {
      const newer = newerLogql.pop();
      if (newer !== undefined) void loadLogql(newer);
    } else if (page.newer) void load({ url: page.newer });
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const topic = field('topic').value.trim();
    // The topic field and the page-wide filter are one setting; changing it reloads through onTopicChange.
    if ((topic || null) !== selectedTopic()) selectTopic(topic || null);
    else apply();
  });
  form.addEventListener('reset', () => {
    // After the browser has cleared the fields.
    setTimeout(() => {
      if (selectedTopic() !== null) selectTopic(null);
      else apply();
    });
  });

  field('topic').value = selectedTopic() ?? '';
  return {
    reload() {
      field('topic').value = selectedTopic() ?? '';
      apply();
    },
    retry() {
      if (logqlCursor !== undefined) void loadLogql(logqlCursor);
      else void load(lastCursor);
      onApply(applied);
    },
    noticeStored(stored) {
      const changed = stored !== lastStored;
      lastStored = stored;
      if (logqlCursor !== undefined) return;
      // Only an empty newest page refreshes by itself: a page someone is reading never moves under them.
      const onNewest = 'before' in lastCursor && lastCursor.before === PAST_LAST_SEQ;
      if (changed && onNewest && page.events.length === 0 && !busy) void load(lastCursor);
    },
    zoom(range) {
      field('since').value = msToLocalInput(range.since);
      field('until').value = msToLocalInput(range.until);
      form.requestSubmit();
    },
  };
}
