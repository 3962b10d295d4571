import type { StoredEvent } from '../../src/schema/event.js';
import { ApiError } from './api.js';
import { byId, h, setText } from './dom.js';
import { readEventStream, type StreamMessage } from './event-stream.js';
import { formatCount, formatLocal } from './format.js';
import type { EventFilters } from './histogram.js';
import { isLogql, withFormMatchers } from './logql-search.js';
import { payloadView } from './payload-view.js';

/** Rows kept on screen; older ones are dropped (they stay in the store and the events browser). */
export const MAX_TAIL_ROWS = 500;
const MAX_RETRY_MS = 10_000;

/** What the tail follows: the events form's topic, and its search with its source folded in (source:"…"). */
export interface TailFilter {
  topic: string | null;
  q: string | null;
  /** q is a LogQL log query (the form's topic and source already in its selector): followed with logql=. */
  logql?: true;
}

/** The form's search as the stream's q: the stream has no source parameter, and q's source: term is the same filter. */
export function tailFilter(filters: EventFilters): TailFilter {
  if (isLogql(filters.q)) return { topic: filters.topic ?? null, q: withFormMatchers(filters.q, filters), logql: true };
  const source = filters.source === undefined ? [] : [`source:"${filters.source.replace(/["\\]/g, '\\$&')}"`];
  const q = [...(filters.q === undefined ? [] : [filters.q]), ...source].join(' ');
  return { topic: filters.topic ?? null, q: q === '' ? null : q };
}

interface Pending {
  seq: number;
  data: string;
}

/**
 * The live tail: one stream from /events/stream, rendered once per animation frame however fast events come
 * (only the newest MAX_TAIL_ROWS of a burst are parsed and drawn). Pausing closes the stream; resuming reopens
 * it with Last-Event-ID = the last seq shown, so the server replays exactly what came in between.
 */
export class LiveTail {
  private readonly list = byId<HTMLOListElement>('tail-list');
  private readonly status = byId('tail-status');
  private readonly count = byId('tail-count');
  private readonly toggle = byId<HTMLButtonElement>('tail-toggle');
  private paused = false;
  private filter: TailFilter | undefined;
  /** The seq of the last event handed to the screen: where a resumed stream starts. */
  private cursor: number | null = null;
  private pending: Pending[] = [];
  private frame = 0;
  private stream: AbortController | undefined;
  private seen = 0;
  private retryMs = 1000;
  private state: 'connecting' | 'live' | 'reconnecting' | 'paused' | 'needs-key' | 'refused' = 'connecting';
  private refusal = '';

  constructor() {
    this.toggle.addEventListener('click', () => (this.paused ? this.resume() : this.pause()));
    byId('tail-clear').addEventListener('click', () => {
      this.list.replaceChildren();
      this.seen = 0;
      this.showCount();
    });
  }

  /**
   * Follows one topic (or all) and search from now on; the rows of the previous choice are cleared. The same
   * choice again changes nothing: the stream goes on.
   */
  follow(filter: TailFilter): void {
    if (this.filter?.topic === filter.topic && this.filter.q === filter.q && this.filter.logql === filter.logql) return;
    this.filter = filter;
    this.cursor = null;
    this.pending = [];
    this.seen = 0;
    this.list.replaceChildren();
    this.showCount();
    if (!this.paused) this.connect();
    else this.showStatus();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.stream?.abort();
    // Draw what already arrived, so the cursor is the last seq on screen.
    this.flush();
    this.state = 'paused';
    this.showStatus();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connect();
  }

  /** The same filter from now on, in another tenant: the rows on screen and the cursor were the other's. */
  restart(): void {
    const filter = this.filter;
    this.filter = undefined;
    if (filter) this.follow(filter);
  }

  /** Reconnects now (after an API key was entered). */
  retry(): void {
    if (!this.paused) this.connect();
  }

  private connect(): void {
    this.stream?.abort();
    const controller = (this.stream = new AbortController());
    this.state = this.state === 'live' ? 'reconnecting' : 'connecting';
    this.showStatus();
    void this.run(controller);
  }

  private async run(controller: AbortController): Promise<void> {
    const params = new URLSearchParams();
    // A LogQL query holds the topic in its selector already.
    if (this.filter?.topic && !this.filter.logql) params.set('topic', this.filter.topic);
    if (this.filter?.q) params.set(this.filter.logql ? 'logql' : 'q', this.filter.q);
    const path = params.size === 0 ? '/events/stream' : `/events/stream?${params.toString()}`;
    let failures = 0;
    while (!controller.signal.aborted) {
      try {
        await readEventStream(path, {
          lastEventId: this.cursor === null ? null : String(this.cursor),
          signal: controller.signal,
          onOpen: () => {
            failures = 0;
            this.state = 'live';
            this.showStatus();
          },
          onMessages: (messages) => this.receive(messages),
          onRetry: (ms) => (this.retryMs = ms),
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) {
          // The key prompt is up; retry() reconnects once a key is entered.
          this.state = 'needs-key';
          this.showStatus();
          return;
        }
        if (err instanceof ApiError && err.status === 400) {
          // A search the server cannot answer: retrying cannot help; the next follow() with another one can.
          this.state = 'refused';
          this.refusal = err.message;
          this.showStatus();
          return;
        }
        failures++;
      }
      if (controller.signal.aborted) return;
      // The server ended the stream (shutdown, a slow reader cut off) or it failed: resume from the cursor.
      this.state = 'reconnecting';
      this.showStatus();
      await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_MS, this.retryMs * 2 ** Math.min(failures, 4))));
    }
  }

  private receive(messages: StreamMessage[]): void {
    for (const message of messages) {
      const seq = Number(message.id);
      if (message.event !== 'message' || !Number.isSafeInteger(seq)) continue;
      this.pending.push({ seq, data: message.data });
      this.cursor = seq;
      this.seen++;
    }
    // A burst is held until the next frame; at most MAX_TAIL_ROWS of it can ever be seen.
    if (this.pending.length > MAX_TAIL_ROWS * 2) this.pending = this.pending.slice(-MAX_TAIL_ROWS);
    if (this.frame === 0 && this.pending.length > 0) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const fragment = document.createDocumentFragment();
    // Newest on top.
    for (const item of batch.slice(-MAX_TAIL_ROWS).reverse()) fragment.append(this.row(item));
    this.list.prepend(fragment);
    while (this.list.childElementCount > MAX_TAIL_ROWS) this.list.lastElementChild?.remove();
    this.showCount();
  }

  private row(item: Pending): HTMLLIElement {
    let event: StoredEvent;
    try {
      event = JSON.parse(item.data) as StoredEvent;
    } catch {
      return h('li', { 'data-seq': item.seq }, `seq ${item.seq}: unreadable event`);
    }
    return h(
      'li',
      { 'data-seq': item.seq, 'data-event-id': event.event_id },
      h('time', { datetime: event.received_at, title: `received ${event.received_at}` }, formatLocal(event.received_at).slice(11)),
      h('span', { class: 'seq' }, `#${item.seq}`),
      h('span', { class: 'topic-cell' }, event.topic),
      h('span', { class: 'source' }, event.source),
      h('span', { class: 'mono event-id' }, event.event_id),
      payloadView(event.payload),
    );
  }

  private showStatus(): void {
    // The label says what a press does (Pause / Resume); an aria-pressed state on top would say it twice.
    setText(this.toggle, this.paused ? 'Resume' : 'Pause');
    const topic = this.filter?.topic ?? null;
    const q = this.filter?.q ?? null;
    const what = `${topic === null ? 'all topics' : `topic ${topic}`}${q === null ? '' : `, matching ${q}`}`;
    const texts: Record<typeof this.state, string> = {
      connecting: `Connecting to the live stream of ${what}…`,
      live: `Live: ${what}.`,
      reconnecting: `Connection lost; reconnecting (resumes after seq ${this.cursor ?? 'now'})…`,
      paused: `Paused after seq ${this.cursor ?? '—'}. Resume continues from there without losing events.`,
      'needs-key': 'Waiting for the API key.',
      refused: `The live stream refused this search: ${this.refusal}`,
    };
    this.status.dataset.state = this.state;
    setText(this.status, texts[this.state]);
    this.showCount();
  }

  /** Outside the status live region: a count changing every frame would be read out without end. */
  private showCount(): void {
    const kept = this.list.childElementCount;
    setText(this.count, `${formatCount(this.seen)} received${this.seen > kept ? `, newest ${formatCount(kept)} shown` : ''}`);
  }
}
