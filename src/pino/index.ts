import { writeSync } from 'node:fs';
import build from 'pino-abstract-transport';
import { createPublisher, DEFAULT_PUBLISHER_OPTIONS, type PublisherOptions } from '../client/index.js';
import { type LineMapping, lineToEvent } from './line-to-event.js';

/** Options of `pino({ transport: { target: 'logagg/pino', options } })`; they cross into a worker, so plain data. */
export interface LogaggTransportOptions
  extends LineMapping,
    Pick<PublisherOptions, 'url' | 'apiKey' | 'batchMax' | 'lingerMs' | 'maxQueue' | 'concurrency' | 'timeoutMs' | 'retry'> {}

// thread-stream's end() stops waiting for the worker after 10 s; the report has to be written before that.
const CLOSE_BUDGET_MS = 9_000;

// writeSync on fd 2, not the worker's process.stderr: that is relayed to the main thread asynchronously and lost
// when the app is exiting, which is exactly when the last failures happen.
const report = (text: string): void => void writeSync(2, `logagg/pino [LOGAGG_PINO_NOT_STORED] ${text}\n`);

function checkOptions(options: LogaggTransportOptions | undefined): LogaggTransportOptions {
  if (typeof options?.url !== 'string' || options.url === '') throw new TypeError('logagg/pino: options.url is required, e.g. http://127.0.0.1:8080');
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
  return build(
    async (source) => {
      // A line that is not JSON is shipped as text rather than dropped.
      source.on('unknown', (line: string) => void publisher.publish(lineToEvent({ unparsed: line, time: Date.now() }, options)));
      for await (const line of source as AsyncIterable<Record<string, unknown>>) {
        // Backpressure instead of QueueFullError: pino's buffer (in the app) holds the lines meanwhile.
        if (publisher.pending >= maxQueue) await publisher.waitForRoom();
        void publisher.publish(lineToEvent(line, options));
      }
    },
    {
      // Runs when pino ends the stream (logger closed, or the app exiting): the main thread waits for this before
      // the worker is stopped, so every buffered line is committed first. It waits 10 s at most (thread-stream's
      // end()), then stops the worker: lines still unconfirmed by then are reported rather than lost silently.
      close: async () => {
        let timer: NodeJS.Timeout | undefined;
        const outOfTime = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_BUDGET_MS)));
        if ((await Promise.race([publisher.close(), outOfTime])) === 'late') report(`${publisher.pending} log line(s) not confirmed stored when the app exited`);
        clearTimeout(timer);
      },
    },
  );
}
