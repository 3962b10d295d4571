import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { Feed } from './ingest/feed.js';
import { createPipeline } from './ingest/index.js';
import { Metrics } from './metrics.js';
import { createStore } from './store/index.js';
import { startNatsTransport } from './transports/nats.js';

/**
 * Composition root: config → store → migrate → pipeline → app → listen. Shutdown runs in reverse: stop
 * accepting, answer in-flight requests, commit what is queued, close the store.
 */
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'logagg' } });

  const store = await createStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedSync: config.embeddedSync,
    workers: config.workers,
    onOpen: (info) => logger.info(info, 'embedded store opened'),
  });
  if (store.kind === 'pglite' && !config.embeddedSync) {
    logger.warn('EMBEDDED_SYNC=off: commits are not flushed to disk; an OS crash or power cut can lose acknowledged events');
  }
  const applied = await store.migrate();
  logger.info({ store: store.kind, applied }, 'schema ready');

  const feed = new Feed(store, {
    pollIntervalMs: 250,
    pageSize: 1000,
    onError: (err) => logger.warn({ err }, 'live feed could not read the store'),
  });
  const metrics = new Metrics({
    queuedEvents: () => pipeline.figures().queued_events,
    subscribers: () => feed.subscriberCount,
  });
  const pipeline = createPipeline(store, {
    batchMax: config.batchMax,
    lingerMs: config.batchLingerMs,
    workers: store.writers,
    maxQueue: config.maxQueue,
    logger: logger.child({ component: 'ingest' }),
    onCommit: () => feed.wake(),
    onBatch: (tally) => metrics.recordBatch(tally),
    onStoreError: (code) => metrics.recordStoreError(code),
  });
  const app = await buildApp({
    store,
    pipeline,
    feed,
    metrics,
    version: PACKAGE_VERSION,
    logger,
    bodyLimit: config.bodyLimit,
    maxBatchEvents: config.maxBatchEvents,
    apiKey: config.apiKey,
    startedAt,
  });
  await app.listen({ port: config.port, host: config.host });
  const transport = config.natsUrl
    ? await startNatsTransport(pipeline, {
        url: config.natsUrl,
        stream: config.natsStream,
        subjects: config.natsSubjects,
        durable: config.natsDurable,
        logger: logger.child({ component: 'nats' }),
        onRejected: (rejected) => metrics.recordRejected('nats', rejected.code),
      })
    : undefined;

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting with queued work');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // app.close waits for in-flight requests, which wait for their commits; the pipeline keeps running meanwhile.
    await app.close();
    // Before the pipeline: messages in flight still commit and are acked; undelivered ones stay for other replicas.
    await transport?.close();
    await pipeline.close();
    await store.close();
    logger.info('stopped');
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad config): report on stderr in one clear line, then the detail.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`logagg: ${message}\n`);
  if (err instanceof Error && err.cause) process.stderr.write(`cause: ${String(err.cause)}\n`);
  process.exit(1);
});
