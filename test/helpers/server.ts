import { loadConfig } from '../../src/config.js';
import { type AggregatorHooks, createLogger, startAggregator } from '../../src/server.js';
import { after, before } from 'node:test';
import { freshStore, type StoreKind, type StoreLocation } from './stores.js';

export interface TestServer {
  url: string;
  /** Set when the options asked for OTLP/gRPC. */
  otlpGrpcPort?: number;
  /** Re-reads TENANT_LIMITS_FILE, as SIGHUP does. */
  reloadLimits(): boolean;
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
  /** KEYS (the key list inline) and KEYS_FILE: docs/tenants.md. */
  keys?: string;
  keysFile?: string;
  /** TENANT_LIMITS (JSON) and TENANT_LIMITS_FILE: docs/tenants.md, "Quotas". */
  tenantLimits?: string;
  tenantLimitsFile?: string;
  /** Listen on this port (to restart a server where clients expect it); default: any free port. */
  port?: number;
  /** RETENTION and DEDUP_RETENTION, e.g. "3s". */
  retention?: string;
  dedupRetention?: string;
  /** RETENTION_RULES, e.g. "debug.*=3d, payments.*=400d/800d". */
  retentionRules?: string;
  /** DELETION_BATCH_SIZE. */
  deletionBatchSize?: number;
  /** The retention job's clock and sizes (src/server.ts AggregatorHooks). */
  hooks?: AggregatorHooks;
  /** Listen for OTLP/gRPC too, on a free port (OTLP_GRPC_PORT=0). */
  otlpGrpc?: boolean;
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
    KEYS: options.keys,
    KEYS_FILE: options.keysFile,
    TENANT_LIMITS: options.tenantLimits,
    TENANT_LIMITS_FILE: options.tenantLimitsFile,
    RETENTION: options.retention,
    DEDUP_RETENTION: options.dedupRetention,
    RETENTION_RULES: options.retentionRules,
    DELETION_BATCH_SIZE: options.deletionBatchSize?.toString(),
    OTLP_GRPC_PORT: options.otlpGrpc ? '0' : undefined,
  };
  const config = loadConfig(env);
  return startAggregator(config, createLogger(config), options.hooks);
}

/**
 * One real server on a fresh store for the enclosing describe(): started before its tests, stopped and the
 * store deleted after them. Read `.url` inside tests (it is set once the suite starts).
 */
export function serverForSuite(kind: StoreKind, options: TestServerOptions = {}): { readonly url: string; readonly otlpGrpcPort: number } {
  let location: StoreLocation | undefined;
  let server: TestServer | undefined;
  before(async () => {
    location = await freshStore(kind);
    server = await startServer(location, options);
  });
  after(async () => {
    await server?.stop();
    await location?.destroy();
  });
  return {
    get url() {
      if (!server) throw new Error('the suite server is not started yet: read .url inside a test');
      return server.url;
    },
    get otlpGrpcPort() {
      if (server?.otlpGrpcPort === undefined) throw new Error('no OTLP/gRPC port: start the suite server with { otlpGrpc: true }');
      return server.otlpGrpcPort;
    },
  };
}
