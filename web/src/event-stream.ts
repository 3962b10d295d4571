import { apiGet } from './api.js';

/** One Server-Sent Event; `id` is the event's seq. */
export interface StreamMessage {
  id: string;
  event: string;
  data: string;
}

export interface StreamOptions {
  lastEventId: string | null;
  signal: AbortSignal;
  /** Called once the server has answered 200 and the stream is open. */
  onOpen(): void;
  /** Called with every message of one network read, so the caller handles bursts in one go. */
  onMessages(messages: StreamMessage[]): void;
  /** The server's `retry:` hint in ms. */
  onRetry?(ms: number): void;
}

/**
 * Reads /events/stream over fetch rather than EventSource: EventSource cannot send the Authorization header,
 * and the API takes the key only in headers (a key in the URL would land in access logs). Resolves when the
 * server ends the stream; rejects with ApiError on a non-2xx answer or with the network error.
 */
export async function readEventStream(path: string, options: StreamOptions): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId !== null) headers['last-event-id'] = options.lastEventId;
  const response = await apiGet(path, { signal: options.signal, timeoutMs: null, headers });
  if (!response.body) return;
  options.onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const messages = parser.push(value);
    if (parser.retryMs !== null) options.onRetry?.(parser.retryMs);
    if (messages.length > 0) options.onMessages(messages);
  }
}

/** The text/event-stream format (WHATWG HTML §9.2.6): fields per line, a blank line ends a message. */
export class EventStreamParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id = '';
  retryMs: number | null = null;

  push(text: string): StreamMessage[] {
    this.buffer += text;
    const messages: StreamMessage[] = [];
    let start = 0;
    for (;;) {
      const end = this.buffer.indexOf('\n', start);
      if (end < 0) break;
      // CRLF and LF both end a line (the server sends LF).
      const line = this.buffer.slice(start, this.buffer[end - 1] === '\r' ? end - 1 : end);
      start = end + 1;
      this.line(line, messages);
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private line(line: string, messages: StreamMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) messages.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
  }
}
