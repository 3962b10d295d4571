import WebSocket from 'ws';

/** One message of Loki's tail, as parsed JSON. */
export interface TailMessage {
  streams: Array<{ stream: Record<string, string>; values: Array<[string, string, ...unknown[]]> }>;
  dropped_entries?: unknown;
  encodingFlags?: string[];
}

/** A real WebSocket client (the `ws` package) on /loki/api/v1/tail: collects messages; close() hangs up. */
export interface TailClient {
  socket: WebSocket;
  messages: TailMessage[];
  /** Every entry received so far, in order: [ns, line, labels]. */
  entries(): Array<{ ns: string; line: string; labels: Record<string, string> }>;
  /** Resolves once `count` entries have arrived (rejects after timeoutMs, or when the socket closes first). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** The close code and reason, once the socket has closed. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a tail; rejects with the HTTP status and body when the server refuses the upgrade. */
export function openTail(url: string, headers: Record<string, string> = {}): Promise<TailClient> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers });
  const messages: TailMessage[] = [];
  let wake: () => void = () => undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      wake();
    });
  });
  socket.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString()) as TailMessage);
    wake();
  });
  const entries = () => messages.flatMap((m) => m.streams.flatMap((s) => s.values.map(([ns, line]) => ({ ns, line, labels: s.stream }))));
  const client: TailClient = {
    socket,
    messages,
    entries,
    closed,
    async waitFor(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (entries().length < count) {
        if (Date.now() > deadline) throw new Error(`got ${entries().length} of ${count} entries`);
        if (socket.readyState === WebSocket.CLOSED) throw new Error(`closed after ${entries().length} of ${count} entries`);
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), new Promise((r) => setTimeout(r, 50))]);
      }
    },
    close: () => socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, body })),
      );
    });
    socket.once('error', reject);
  });
}
