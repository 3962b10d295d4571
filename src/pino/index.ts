import { writeSync } from 'node:fs';
import build from 'pino-abstract-transport';
import { createPublisher, DEFAULT_PUBLISHER_OPTIONS, type PublisherOptions } from '../client/index.js';
import { type LineMapping, lineToEvent } from './line-to-event.js';

/** Options of `pino({ transport: { target: 'logagg/pino', options } })`; they cross into a worker, so plain data. */
export interface LogaggTransportOptions
  extends
    LineMapping,
    Pick<PublisherOptions, 'url' | 'apiKey' | 'batchMax' | 'lingerMs' | 'maxQueue' | 'concurrency' | 'timeoutMs' | 'retry'> {}

// thread-stream's end() stops waiting for the worker after 10 s; the report has to be written before that.
const CLOSE_BUDGET_MS = 9_000;

// writeSync on fd 2, not the worker's process.stderr: that is relayed to the main thread asynchronously and lost
// when the app is exiting, which is exactly when the last failures happen.
const report = (text: string): void => {
  try {
    writeSync(2, `logagg/pino [LOGAGG_PINO_NOT_STORED] ${text}\n`);
  } catch {
    // fd 2 full (EAGAIN on a non-blocking pipe) or closed: the report is lost, but throwing here would end the
    // worker and with it every line still pending.
  }
};

// A line that is not JSON (or is JSON null) is shipped as text rather than dropped. Parsed here, not left to
// pino-abstract-transport's 'unknown' event, so it reaches the same loop as every other line: in order, and
// under the same backpressure.
const parseLine = (line: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(line);
    if (value !== null) return value as Record<string, unknown>;
  } catch {
    // Falls through to the text form.
  }
  return { unparsed: line, time: Date.now() };
};

function checkOptions(options: LogaggTransportOptions | undefined): LogaggTransportOptions {
  if (typeof options?.url !== 'string' || options.url === '')
    throw new TypeError('logagg/pino: options.url is required, e.g. http://127.0.0.1:8080');
  if (typeof options.topic !== 'string' || options.topic === '') throw new TypeError('logagg/pino: options.topic is required');
  return options;
}

/**
 * The pino transport (runs in pino's worker thread). A default export because pino loads a transport by its
 * default export; everything else in logagg uses named exports.
 */
export default function logaggTransport(input: LogaggTransportOptions): ReturnType<typeof build> {
  const options = checkOptions(input);
  const maxQueue = options.maxQueue ?? DEFAULT_PUBLISHER_OPTIONS.maxQueue;
  const publisher = createPublisher({
    ...options,
    // A worker has no caller to reject to: lines that will not be stored are reported on stderr, once per failure.
    onError: (error, events) => report(`${events.length} log line(s) not stored: ${error.message}`),
  });
  // The line the loop holds while it waits for room (0 or 1): read from the stream, not yet in the publisher.
  let held = 0;
  const consume = async (source: AsyncIterable<Record<string, unknown>>): Promise<void> => {
    for await (const line of source) {
      // Backpressure instead of QueueFullError: pino's buffer (in the app) holds the lines meanwhile.
      if (publisher.pending >= maxQueue) {
        held = 1;
        await publisher.waitForRoom();
        held = 0;
      }
      void publisher.publish(lineToEvent(line, options));
    }
  };
  // build() calls the consumer synchronously, so this is set before any close.
  let consumed: Promise<void> = Promise.resolve();
  return build(
    (source) => {
      const consuming = consume(source as AsyncIterable<Record<string, unknown>>);
      // A failed loop (the stream destroyed with an error) is build()'s to handle; close only waits for its end.
      consumed = consuming.catch(() => undefined);
      return consuming;
    },
    {
      parseLine,
      // Runs when the stream has ended (logger closed, or the app exiting): the main thread waits for this before
      // the worker is stopped. The loop may still hold the last line, waiting for room when the queue is full, so
      // it is let finish first; then publisher.close() commits every pending line. The main thread waits 10 s at
      // most (thread-stream's end()), then stops the worker: lines still unconfirmed by then are reported rather
      // than lost silently.
      close: async () => {
        let timer: NodeJS.Timeout | undefined;
        const outOfTime = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_BUDGET_MS)));
        const drained = consumed.then(() => publisher.close());
        if ((await Promise.race([drained, outOfTime])) === 'late')
          report(`${publisher.pending + held} log line(s) not confirmed stored when the app exited`);
        clearTimeout(timer);
      },
    },
  );
}
