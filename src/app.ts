import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController, type RouteOptions } from 'fastify';
import type { Keyring } from './auth/keyring.js';
import { DEFAULTS } from './config.js';
import { authPlugin } from './http/plugins/auth.js';
import { adminRoutes } from './http/routes/admin.js';
import { quotaPlugin } from './http/plugins/quota.js';
import type { TenantQuotas } from './quota/quotas.js';
import { bodyPlugin } from './http/plugins/body.js';
import { bodyLimitPlugin } from './http/plugins/body-limit.js';
import { docsPlugin } from './http/plugins/docs.js';
import { clientErrorHandler, errorHandlerPlugin } from './http/plugins/error-handler.js';
import { lazyChildLogger } from './http/plugins/request-logger.js';
import { dashboardRoute } from './http/routes/dashboard.js';
import { eventsRoute } from './http/routes/events.js';
import { histogramRoute } from './http/routes/histogram.js';
import { healthRoutes } from './http/routes/health.js';
import { metricsRoute } from './http/routes/metrics.js';
import { otlpLogsRoute } from './inlets/otlp/routes.js';
import { publishRoute } from './inlets/http/routes.js';
import { statsRoute } from './http/routes/stats.js';
import { streamRoute } from './http/routes/stream.js';
import { topicsRoute } from './http/routes/topics.js';
import { elasticsearchRoutes } from './inlets/elasticsearch/routes.js';
import type { Feed } from './ingest/feed.js';
import type { Pipeline } from './ingest/index.js';
import type { Metrics } from './metrics.js';
import { lokiRoutes } from './inlets/loki/routes.js';
import { lokiReadRoutes } from './http/routes/loki/index.js';
import { lokiTailRoute } from './http/routes/loki/tail.js';
import type { LokiMapping } from './inlets/loki/map.js';
import type { Store } from './store/index.js';

export interface AppOptions {
  store: Store;
  pipeline: Pipeline;
  feed: Feed;
  metrics: Metrics;
  /** Shown in the OpenAPI document. */
  version: string;
  logger: FastifyBaseLogger | false;
  bodyLimit: number;
  maxBatchEvents: number;
  /** The API keys (KEYS, KEYS_FILE, API_KEY); with none, every request is let in (docs/tenants.md). */
  keyring: Keyring;
  /** Per-tenant quotas (TENANT_LIMITS); undefined: none, and no check runs (docs/tenants.md, "Quotas"). */
  quotas?: TenantQuotas;
  /** Longest a client may take to send a whole request (headers and body): slow-body clients are cut off. */
  requestTimeoutMs: number;
  startedAt?: number;
  /** Loki push: which stream labels name topic and source; LOKI_TOPIC_LABELS and LOKI_SOURCE_LABELS by default. */
  loki?: LokiMapping;
  /** Test seam: sees every route as it is declared (test/http/access.test.ts checks each declares its access). */
  onRoute?: (route: RouteOptions) => void;
  /** A deletion job was accepted: the runner should start it now. */
  onDeletionAccepted?: () => void;
}

const CLOSE_GRACE_MS = 5000;
const labelList = (text: string): string[] => text.split(',');
const DEFAULT_LOKI_MAPPING: LokiMapping = {
  topicLabels: labelList(DEFAULTS.LOKI_TOPIC_LABELS),
  sourceLabels: labelList(DEFAULTS.LOKI_SOURCE_LABELS),
};

/** Builds the HTTP app on a store and a pipeline; it never listens and never reads the environment. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger === false ? undefined : options.logger,
    bodyLimit: options.bodyLimit,
    // One log line per request would be the hot path's biggest cost; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.logger === false ? {} : { childLoggerFactory: lazyChildLogger }),
    return503OnClosing: true,
    // Fastify sets no request timeout by default, so a body dribbled byte by byte would hold a socket forever.
    // Node applies the larger of requestTimeout and headersTimeout and checks every connectionsCheckingInterval:
    // all three are set, or the effective limit is 60 s checked every 30 s.
    requestTimeout: options.requestTimeoutMs,
    http: {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
    },
    // Malformed request lines, oversized headers and timeouts get the same JSON error shape as everything else.
    clientErrorHandler,
  });
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  bodyPlugin(app);
  bodyLimitPlugin(app);

  // A keep-alive connection whose request is answered after close() began would stay open until its idle timeout
  // and hold shutdown up: answer every response from then on with Connection: close.
  let closing = false;
  // close() closes the connections idle at that instant only: a keep-alive connection whose response was already
  // on its way (too late for Connection: close) turns idle just after and would hold close() until its keep-alive
  // timeout (~100 s with a dashboard open). Sweep idle connections until the server has closed.
  // A connection still open CLOSE_GRACE_MS after close() began is cut: in-flight commits take milliseconds, and a
  // publisher cut off by this retries safely (its events are committed or not; a retry is deduplicated).
  let sweeper: NodeJS.Timeout | undefined;
  let cutoff: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
    cutoff = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
  });
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    clearTimeout(cutoff);
  });
  // A callback hook: it runs on every response, and an async hook costs a promise each.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  errorHandlerPlugin(app, options.metrics);
  // Before the routes, so the OpenAPI document sees each of them.
  await docsPlugin(app, options.version);
  // WebSocket upgrades (Loki's /tail) go through Fastify's routing, so auth and the other onRequest hooks answer
  // them before any upgrade. The route ends its own sockets on close (preClose in tail.ts). Clients send nothing
  // but control frames, so a message is kept small.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 }, preClose: (done) => done() });
  metricsRoute(app, options.metrics);
  authPlugin(app, options.keyring);
  // Before the inlets are declared: it adds its hook to each inlet route as the route is declared.
  quotaPlugin(app, options.quotas);
  publishRoute(app, { pipeline: options.pipeline, maxBatchEvents: options.maxBatchEvents });
  otlpLogsRoute(app, { pipeline: options.pipeline, maxBatchEvents: options.maxBatchEvents });
  lokiRoutes(app, { pipeline: options.pipeline, maxBatchEvents: options.maxBatchEvents, mapping: options.loki ?? DEFAULT_LOKI_MAPPING });
  eventsRoute(app, options.store);
  histogramRoute(app, options.store);
  lokiReadRoutes(app, options.store, options.version);
  streamRoute(app, { feed: options.feed, store: options.store });
  lokiTailRoute(app, { feed: options.feed, store: options.store });
  statsRoute(app, { store: options.store, pipeline: options.pipeline, startedAt: options.startedAt ?? Date.now() });
  topicsRoute(app, options.store);
  adminRoutes(app, { store: options.store, onDeletionAccepted: options.onDeletionAccepted });
  healthRoutes(app, options.store);
  dashboardRoute(app);
  elasticsearchRoutes(app, { pipeline: options.pipeline, store: options.store, maxBatchEvents: options.maxBatchEvents });
  return app;
}
