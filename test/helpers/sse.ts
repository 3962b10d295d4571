export interface SseEvent {
  id: number;
  data: { seq: number; topic: string; event_id: string };
}

/** A real SSE client over fetch: collects events as they arrive; close() hangs up. */
export interface SseStream {
  events: SseEvent[];
  /** Resolves once `count` events have arrived (or rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}, read = true): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}`);
  const events: SseEvent[] = [];
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let wake: () => void = () => undefined;
  const pump = async (): Promise<void> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id !== undefined && data !== undefined) events.push({ id: Number(id), data: JSON.parse(data) as SseEvent['data'] });
      }
      wake();
    }
  };
  let start: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (start = resolve));
  const ended = started.then(pump).catch(() => undefined);
  if (read) start();
  return {
    events,
    ended,
    async waitFor(count, timeoutMs = 15_000) {
      start();
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`got ${events.length} of ${count} events`);
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), new Promise((r) => setTimeout(r, 50))]);
      }
      return events;
    },
    close: () => abort.abort(),
  };
}
