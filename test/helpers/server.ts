import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { Feed } from '../../src/ingest/feed.js';
import { createPipeline, type PipelineOptions } from '../../src/ingest/index.js';
import { Metrics } from '../../src/metrics.js';
import { createStore } from '../../src/store/index.js';
import type { StoreLocation } from './stores.js';

export interface TestServer {
  url: string;
  /** Graceful stop: stop accepting, commit what is queued, close the store. */
  stop(): Promise<void>;
}

export interface TestServerOptions extends Partial<PipelineOptions> {
  bodyLimit?: number;
  maxBatchEvents?: number;
  apiKey?: string;
  /** Listen on this port (to restart a server where clients expect it); default: any free port. */
  port?: number;
}

/** The real server on a real store, listening on a free port of 127.0.0.1. */
export async function startServer(location: StoreLocation, options: TestServerOptions = {}): Promise<TestServer> {
  const store = await createStore({
    databaseUrl: location.databaseUrl,
    dataDir: location.dataDir,
    workers: options.workers ?? 4,
  });
  await store.migrate();
  const feed = new Feed(store, { pollIntervalMs: 100, pageSize: 1000 });
  const metrics = new Metrics({ queuedEvents: () => pipeline.figures().queued_events, subscribers: () => feed.subscriberCount });
  const pipeline = createPipeline(store, {
    batchMax: options.batchMax ?? 1000,
    lingerMs: options.lingerMs ?? 2,
    workers: store.writers,
    maxQueue: options.maxQueue ?? 50_000,
    onCommit: () => feed.wake(),
    onBatch: (tally) => metrics.recordBatch(tally),
    onStoreError: (code) => metrics.recordStoreError(code),
  });
  const app = await buildApp({
    store,
    pipeline,
    feed,
    metrics,
    version: 'test',
    logger: false,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    maxBatchEvents: options.maxBatchEvents ?? 10_000,
    apiKey: options.apiKey,
  });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await app.close();
      await pipeline.close();
      await store.close();
    },
  };
}
