import type { StoredEvent } from '../schema/event.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';

export interface SubscribeOptions {
  /** Base URL of an aggregator. */
  url: string;
  topic?: string;
  /** Resume after this seq; without it the stream starts at the present. */
  after?: number;
  apiKey?: string;
  /** The tenant whose events to follow, sent as X-Scope-OrgID; unset: the key's own, or `default`. */
  tenant?: string;
  onEvent(event: StoredEvent): void;
  /** Told each time the connection drops and a reconnect is scheduled. */
  onReconnect?: (info: { attempt: number; delayMs: number; lastSeq: number | undefined; error: unknown }) => void;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
}

/** One SSE message; `error` is the server's `: error CODE message` comment sent just before it ends a stream. */
function parseBlock(block: string): { id?: string; data?: string; error?: string } {
  const out: { id?: string; data?: string; error?: string } = {};
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) out.id = line.slice(4);
    else if (line.startsWith('data: ')) out.data = line.slice(6);
    else if (line.startsWith(': error ')) out.error = line.slice(8);
  }
  return out;
}

/**
 * Follows GET /events/stream, reconnecting forever with the project's backoff and resuming by Last-Event-ID,
 * so each event reaches onEvent once and in seq order. Resolves when the signal aborts.
 */
export async function subscribe(options: SubscribeOptions): Promise<void> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  let lastSeq = options.after;
  let failures = 0;
  while (!options.signal?.aborted) {
    try {
      const target = new URL('/events/stream', options.url);
      if (options.topic) target.searchParams.set('topic', options.topic);
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastSeq !== undefined) headers['last-event-id'] = String(lastSeq);
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      if (options.tenant) headers['x-scope-orgid'] = options.tenant;
      const response = await fetch(target, { headers, signal: options.signal ?? null });
      if (response.status !== 200 || !response.body) throw new Error(`the stream answered ${response.status}`);
      // A start at the present still needs a cursor for the next reconnect: the first event sets it.
      const decoder = new TextDecoder();
      let buffer = '';
      let serverError: string | undefined;
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const { id, data, error } = parseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          serverError = error ?? serverError;
          if (id === undefined || data === undefined) continue;
          failures = 0;
          lastSeq = Number(id);
          options.onEvent(JSON.parse(data) as StoredEvent);
        }
      }
      // The store was away (the server says why): reconnect with backoff, as after any other drop.
      throw new Error(serverError === undefined ? 'the server ended the stream' : `the server ended the stream: ${serverError}`);
    } catch (err) {
      if (options.signal?.aborted) return;
      const delayMs = backoffDelay(Math.min(failures, 10), policy);
      failures++;
      options.onReconnect?.({ attempt: failures, delayMs, lastSeq, error: err });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
