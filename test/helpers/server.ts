import { loadConfig } from '../../src/config.js';
import { createLogger, startAggregator } from '../../src/server.js';
import type { StoreLocation } from './stores.js';

export interface TestServer {
  url: string;
  /** Graceful stop: stop accepting, commit what is queued, close the store. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  batchMax?: number;
  lingerMs?: number;
  workers?: number;
  maxQueue?: number;
  bodyLimit?: number;
  maxBatchEvents?: number;
  apiKey?: string;
  /** Listen on this port (to restart a server where clients expect it); default: any free port. */
  port?: number;
}

/** The real server (the same composition root as `npm start`) on a real store, on 127.0.0.1. */
export async function startServer(location: StoreLocation, options: TestServerOptions = {}): Promise<TestServer> {
  const env: Record<string, string | undefined> = {
    PORT: String(options.port ?? 0),
    HOST: '127.0.0.1',
    DATA_DIR: location.dataDir,
    DATABASE_URL: location.databaseUrl,
    LOG_LEVEL: 'silent',
    BATCH_MAX: options.batchMax?.toString(),
    BATCH_LINGER_MS: options.lingerMs?.toString(),
    WORKERS: options.workers?.toString(),
    MAX_QUEUE: options.maxQueue?.toString(),
    BODY_LIMIT: options.bodyLimit?.toString(),
    MAX_BATCH_EVENTS: options.maxBatchEvents?.toString(),
    API_KEY: options.apiKey,
  };
  const config = loadConfig(env);
  return startAggregator(config, createLogger(config));
}
