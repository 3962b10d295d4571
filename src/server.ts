import { readFileSync, realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type Logger, pino } from 'pino';
import { type AppOptions, buildApp } from './app.js';
import { Keyring } from './auth/keyring.js';
import { type KeysFileReloader, watchKeysFile } from './auth/reload.js';
import { type Config, loadConfig } from './config.js';
import { LogaggError } from './errors.js';
import { Feed } from './ingest/feed.js';
import { type OtlpGrpcServer, startOtlpGrpc } from './inlets/otlp/grpc.js';
import { createPipeline } from './ingest/index.js';
import { Metrics } from './metrics.js';
import { tuneHeap } from './heap-tuning.js';
import { explainStartupError, type StartupStep } from './startup-errors.js';
import { createStore } from './store/index.js';
import { type DeletionRunner, type DeletionRunnerOptions, startDeletionRunner } from './store/deletion.js';
import { type RetentionJob, type RetentionOptions, startRetention } from './store/retention.js';
import { anyExpiry, describeRules, needsKeyTable } from './schema/retention-rules.js';
import { startNatsTransport } from './inlets/nats/index.js';
import { startQuotas } from './quota/reload.js';

export const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** A running aggregator: where it listens and how to stop it. */
export interface Aggregator {
  url: string;
  /** The OTLP/gRPC port when OTLP_GRPC_PORT is set. */
  otlpGrpcPort?: number;
  /** Re-reads KEYS_FILE (SIGHUP); false when it is unset or refused (the previous keys stay; the reason is logged). */
  reloadKeys(): boolean;
  /** Re-reads TENANT_LIMITS_FILE (SIGHUP); false when it is unset or refused (the previous limits stay). */
  reloadLimits(): boolean;
  /** Stops accepting, answers in-flight requests, commits what is queued, closes transport and store. */
  stop(): Promise<void>;
}

/** Creates the pino logger the server logs with (JSON lines on stdout). */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, base: { service: 'logagg' } });
}

/**
 * Test seams: the retention job's clock, pause and statement sizes (tests move time forward by days); the deletion
 * runner's pause, or none at all (`off`: accepted jobs wait for the next start, as after a crash).
 */
export type AggregatorHooks = {
  retention?: Pick<RetentionOptions, 'now' | 'intervalMs' | 'batchSize' | 'topicsPerStatement'>;
  deletion?: Pick<DeletionRunnerOptions, 'intervalMs'> & { off?: boolean };
  /** Sees every HTTP route as it is declared (src/app.ts). */
  onRoute?: AppOptions['onRoute'];
};

/**
 * Composition root: config → store → migrate → pipeline → app → listen → transport. stop() runs in reverse.
 */
export async function startAggregator(config: Readonly<Config>, logger: Logger, hooks: AggregatorHooks = {}): Promise<Aggregator> {
  // What is started so far, undone in reverse if a later step fails: a failed start (migration, listen, NATS)
  // must not leave the store open, the port taken or the data-dir lock behind (the next start would then report
  // a crash recovery, or find the directory locked by this very process).
  const undo: { what: string; run: () => Promise<void> }[] = [];
  try {
    return await startParts(config, logger, undo, hooks);
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (cleanupErr) {
        logger.warn({ err: cleanupErr }, `could not ${step.what} after a failed start`);
      }
    }
    throw err;
  }
}

async function startParts(
  config: Readonly<Config>,
  logger: Logger,
  undo: { what: string; run: () => Promise<void> }[],
  hooks: AggregatorHooks,
): Promise<Aggregator> {
  const startedAt = Date.now();
  // Each step that meets the outside world says, on failure, what went wrong and which setting to check.
  const explained =
    (step: StartupStep) =>
    (err: unknown): never => {
      throw explainStartupError(step, err, config);
    };
  const defaultWindows = { eventsMs: config.retentionMs, keysMs: config.dedupRetentionMs };
  if (config.retentionRules.length > 0) {
    logger.info({ rules: describeRules(config.retentionRules, defaultWindows) }, 'retention rules (first match wins)');
  }
  const store = await createStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedSync: config.embeddedSync,
    workers: config.workers,
    onOpen: (info) => logger.info(info, 'embedded store opened'),
    keepKeys: needsKeyTable(config.retentionRules, defaultWindows),
    storeTimeoutMs: config.storeTimeoutMs,
    embeddedStatementTimeoutMs: config.embeddedStatementTimeoutMs,
    minFreeDiskMb: config.minFreeDiskMb,
    onEngineRestart: (event) =>
      event.state === 'lost'
        ? logger.warn(event, 'embedded engine restarting; publishes get 503 until it is back')
        : logger.info(event, 'embedded engine reopened'),
  }).catch(explained('store'));
  undo.push({ what: 'close the store', run: () => store.close() });
  if (store.kind === 'pglite' && !config.embeddedSync) {
    logger.warn('EMBEDDED_SYNC=off: commits are not flushed to disk; an OS crash or power cut can lose acknowledged events');
  }
  const applied = await store.migrate().catch(explained('store'));
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
  const { quotas, limitsFile } = startQuotas(config.tenantLimits, config.tenantLimitsFile, {
    onRefused: (tenant, limit) => metrics.recordQuotaRefused(tenant, limit),
    logger: logger.child({ component: 'limits' }),
  });
  if (limitsFile) undo.push({ what: 'stop watching TENANT_LIMITS_FILE', run: async () => limitsFile.close() });
  const pipeline = createPipeline(store, {
    batchMax: config.batchMax,
    lingerMs: config.batchLingerMs,
    workers: store.writers,
    maxQueue: config.maxQueue,
    storeTimeoutMs: config.storeTimeoutMs,
    logger: logger.child({ component: 'ingest' }),
    onCommit: () => feed.wake(),
    onBatch: (tally) => metrics.recordBatch(tally),
    onStoreError: (code) => metrics.recordStoreError(code),
    ...(quotas
      ? {
          topicLimit: (tenant: string) => quotas.topicLimit(tenant),
          onTopicLimitRefused: (tenant: string) => metrics.recordQuotaRefused(tenant, 'max_topics'),
        }
      : {}),
  });
  undo.push({ what: 'close the pipeline', run: () => pipeline.close() });
  const keyring = new Keyring(config.keys, config.apiKey);
  if (config.keys?.length === 0 && config.apiKey === undefined) {
    logger.warn('the key list is empty and API_KEY is unset: every request but the public routes is refused (401)');
  }
  const keysFile: KeysFileReloader | undefined =
    config.keysFile === undefined
      ? undefined
      : watchKeysFile({ path: config.keysFile, keyring, apiKey: config.apiKey, logger: logger.child({ component: 'keys' }) });
  if (keysFile) undo.push({ what: 'stop watching KEYS_FILE', run: async () => keysFile.close() });
  // Started after listen; a job accepted before then is found by the runner's first look.
  const deletion: { runner?: DeletionRunner } = {};
  const app = await buildApp({
    store,
    pipeline,
    feed,
    metrics,
    version: PACKAGE_VERSION,
    logger,
    bodyLimit: config.bodyLimit,
    maxBatchEvents: config.maxBatchEvents,
    keyring,
    ...(quotas ? { quotas } : {}),
    requestTimeoutMs: config.requestTimeoutMs,
    startedAt,
    loki: { topicLabels: config.lokiTopicLabels, sourceLabels: config.lokiSourceLabels },
    ...(hooks.onRoute ? { onRoute: hooks.onRoute } : {}),
    onDeletionAccepted: () => deletion.runner?.wake(),
  });
  undo.push({ what: 'close the HTTP server', run: () => app.close() });
  // NATS before listen: a NATS failure is reported before any "Server listening" line.
  const transport = config.natsUrl
    ? await startNatsTransport(pipeline, {
        url: config.natsUrl,
        stream: config.natsStream,
        subjects: config.natsSubjects,
        durable: config.natsDurable,
        tenant: config.natsTenant,
        logger: logger.child({ component: 'nats' }),
        onRejected: (rejected) => metrics.recordRejected('nats', rejected.code),
      }).catch(explained('nats'))
    : undefined;
  if (transport) undo.push({ what: 'close the NATS transport', run: () => transport.close() });
  const otlpGrpc: OtlpGrpcServer | undefined =
    config.otlpGrpcPort === undefined
      ? undefined
      : await startOtlpGrpc({
          pipeline,
          host: config.host,
          port: config.otlpGrpcPort,
          maxBatchEvents: config.maxBatchEvents,
          bodyLimit: config.bodyLimit,
          authorize: (key, tenantHeader) => keyring.authorize(key, tenantHeader, () => 'write'),
          ...(quotas ? { quotas } : {}),
          logger: logger.child({ component: 'otlp-grpc' }),
          onRejected: (code) => metrics.recordRejected('otlp-grpc', code),
        }).catch((err: unknown) => {
          const reason = err instanceof Error ? err.message : String(err);
          throw new LogaggError('STARTUP_FAILED', {
            message: `Cannot listen for OTLP/gRPC on ${config.host}:${config.otlpGrpcPort} (OTLP_GRPC_PORT, HOST): ${reason}`,
            cause: err,
          });
        });
  if (otlpGrpc) undo.push({ what: 'stop the OTLP/gRPC server', run: () => otlpGrpc.close() });
  await app.listen({ port: config.port, host: config.host }).catch(explained('listen'));
  const retention: RetentionJob | undefined = !anyExpiry(config.retentionRules, defaultWindows)
    ? undefined
    : startRetention(store, {
        retentionMs: config.retentionMs,
        dedupRetentionMs: config.dedupRetentionMs,
        rules: config.retentionRules,
        keySliceMarginMs: 2 * config.storeTimeoutMs + 60_000,
        ...hooks.retention,
        onPass: (pass) => {
          metrics.recordExpired(pass.events, pass.keys);
          logger.info(pass, 'retention deleted expired rows');
        },
        onError: (err) => logger.warn({ err }, 'retention pass failed; retrying next interval'),
      });
  deletion.runner = hooks.deletion?.off
    ? undefined
    : startDeletionRunner(store, {
        batchSize: config.deletionBatchSize,
        intervalMs: hooks.deletion?.intervalMs,
        onDeleted: (rows) => metrics.recordDeleted(rows),
        onJobDone: (job) => logger.info(job, 'deletion job done'),
        onError: (err) => logger.warn({ err }, 'deletion batch failed; retrying next interval'),
      });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

  return {
    url: `http://${host}:${port}`,
    ...(otlpGrpc ? { otlpGrpcPort: otlpGrpc.port } : {}),
    reloadKeys: () => keysFile?.reload('signal') ?? false,
    reloadLimits: () => limitsFile?.reload('signal') ?? false,
    async stop() {
      keysFile?.close();
      limitsFile?.close();
      // app.close waits for in-flight requests, which wait for their commits; the pipeline keeps running meanwhile.
      // So does the gRPC server's close, for its calls in flight.
      await retention?.stop();
      await deletion.runner?.stop();
      await Promise.all([app.close(), otlpGrpc?.close()]);
      // Before the pipeline: messages in flight still commit and are acked; undelivered ones stay for other replicas.
      await transport?.close();
      await pipeline.close();
      await store.close();
    },
  };
}

/** Runs the server until SIGTERM/SIGINT, then shuts down within SHUTDOWN_TIMEOUT_MS and exits. */
export async function serve(config: Readonly<Config>): Promise<void> {
  const logger = createLogger(config);
  // Process-wide, so here and not in startAggregator: tests start several aggregators in one process.
  logger.info(tuneHeap(config), 'V8 heap steps');
  const aggregator = await startAggregator(config, logger);
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
    await aggregator.stop();
    logger.info('stopped');
  };
  // SIGHUP reloads KEYS_FILE and TENANT_LIMITS_FILE (docs/tenants.md); without a handler Node would end the process.
  process.on('SIGHUP', () => {
    if (config.keysFile !== undefined) aggregator.reloadKeys();
    if (config.tenantLimitsFile !== undefined) aggregator.reloadLimits();
    if (config.keysFile === undefined && config.tenantLimitsFile === undefined) logger.info('SIGHUP: nothing to reload');
  });
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

/** Reports a startup failure (the logger may not exist yet: bad config) in one clear line and exits 1. */
export function exitOnStartupError(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`logagg: ${message}\n`);
  // A STARTUP_FAILED message already holds the reason; other errors show what they wrap.
  const explained = err instanceof LogaggError && err.code === 'STARTUP_FAILED';
  if (err instanceof Error && err.cause && !explained) process.stderr.write(`cause: ${String(err.cause)}\n`);
  process.exit(1);
}

// `node dist/server.js` (npm start) runs the server; importing this module (the CLI, tests) does not.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  Promise.resolve()
    .then(() => serve(loadConfig()))
    .catch(exitOnStartupError);
}
