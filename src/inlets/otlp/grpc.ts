import { Metadata, Server, ServerCredentials, type ServiceDefinition, type ServiceError, status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { isLogaggError, LogaggError } from '../../errors.js';
import type { Grant } from '../../auth/keyring.js';
import type { Pipeline } from '../../ingest/index.js';
import { exportLogsResponse } from './index.js';
import { otlpStatusBody } from './status.js';
import { encodeExportLogsResponse, encodeStatus } from './proto.js';
import { mapProtobufLogs } from './proto-http.js';

export interface OtlpGrpcOptions {
  pipeline: Pipeline;
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxBatchEvents: number;
  /** Largest message, compressed and inflated (grpc-js checks the inflated size as it inflates). */
  bodyLimit: number;
  /** The key decision for the write role (src/auth/keyring.ts): the key and X-Scope-OrgID as sent. */
  authorize: (key: string | undefined, tenantHeader: string | string[] | undefined) => Grant | LogaggError;
  logger: Pick<Logger, 'error' | 'debug'>;
  /**
   * Per-tenant quotas (src/quota/quotas.ts, docs/tenants.md); absent when TENANT_LIMITS is unset. The message is
   * received whole before the handler runs, so its size is the body's.
   */
  quotas?: {
    admitBody(tenant: string, bytes: number): LogaggError | undefined;
    admitEvents(tenant: string, events: number): LogaggError | undefined;
  };
  /** A refused call, by logagg error code (logagg_requests_rejected_total). */
  onRejected: (code: string) => void;
  /** How long close() lets calls in flight finish before cutting them. */
  closeGraceMs?: number;
}

export interface OtlpGrpcServer {
  port: number;
  /** Stops accepting calls, lets those in flight answer (their commits finish), then closes. */
  close(): Promise<void>;
}

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const identity = (bytes: Buffer): Buffer => bytes;

// Messages stay bytes through grpc-js: the handler decodes them, so a message that does not decode is answered
// INVALID_ARGUMENT by the same code as OTLP/HTTP protobuf, not by grpc-js's generic deserialization failure.
const LOGS_SERVICE: ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The key as gRPC clients send it: `authorization: Bearer <key>` metadata (OTEL_EXPORTER_OTLP_HEADERS), or x-api-key. */
function offeredKey(metadata: Metadata): string | undefined {
  const header = metadata.get('authorization')[0];
  const given = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : metadata.get('x-api-key')[0];
  return typeof given === 'string' ? given : undefined;
}

/** X-Scope-OrgID as metadata: strings, one value (several are refused as the HTTP header's are). */
function tenantHeader(metadata: Metadata): string | string[] | undefined {
  const values = metadata.get('x-scope-orgid').map(String);
  return values.length <= 1 ? values[0] : values;
}

/**
 * The gRPC status of a refusal, as the OTLP spec asks: UNAVAILABLE (retryable) for overload, a store that is down
 * or full and shutdown; INVALID_ARGUMENT (not retryable) for data that cannot be taken; UNAUTHENTICATED; INTERNAL
 * for a bug. RESOURCE_EXHAUSTED is retryable only with a RetryInfo: a tenant's quota (QUOTA_EXCEEDED) sends one,
 * with the wait as its retry_delay; any other 429 would become UNAVAILABLE.
 */
function toServiceError(err: LogaggError): Partial<ServiceError> {
  const body = otlpStatusBody(err);
  const retryAfter = err.code === 'QUOTA_EXCEEDED' ? err.retryAfterSeconds : undefined;
  const code = body.code === status.RESOURCE_EXHAUSTED && retryAfter === undefined ? status.UNAVAILABLE : body.code;
  const metadata = new Metadata();
  // The google.rpc.Status, as rich-error clients read it; the plain message carries the same text.
  metadata.set('grpc-status-details-bin', Buffer.from(encodeStatus({ ...body, code }, retryAfter)));
  return { code, details: body.message, metadata };
}

/**
 * OTLP/gRPC logs: `LogsService/Export` on its own port, decoded and mapped like OTLP/HTTP protobuf, through the
 * same validation and group commit, answered after commit (docs/integrations.md).
 */
export async function startOtlpGrpc(options: OtlpGrpcOptions): Promise<OtlpGrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': options.bodyLimit,
    'grpc.max_send_message_length': 1024 * 1024,
    // Channelz (grpc-js's introspection, which logagg does not serve) tracks every call and socket: off, it is
    // CPU per call saved.
    'grpc.enable_channelz': 0,
  });
  server.addService(LOGS_SERVICE, {
    Export: (call: { request: Buffer; metadata: Metadata }, callback: (error: Partial<ServiceError> | null, value?: Buffer) => void) => {
      void (async () => {
        const grant = options.authorize(offeredKey(call.metadata), tenantHeader(call.metadata));
        if (grant instanceof LogaggError) throw grant;
        const { quotas } = options;
        const overBody = quotas?.admitBody(grant.tenant, call.request.length);
        if (overBody !== undefined) throw overBody;
        const mapped = mapProtobufLogs(call.request, { maxBatchEvents: options.maxBatchEvents, receivedAt: Date.now() });
        const overEvents = quotas?.admitEvents(grant.tenant, mapped.events.length);
        if (overEvents !== undefined) throw overEvents;
        await options.pipeline.submit(mapped.events, 'otlp-grpc', { tenant: grant.tenant });
        return encodeExportLogsResponse(exportLogsResponse(mapped.rejected));
      })().then(
        (response) => callback(null, response),
        (raw: unknown) => {
          const err = isLogaggError(raw) ? raw : new LogaggError('INTERNAL', { cause: raw });
          options.onRejected(err.code);
          if (err.status === 503) options.logger.debug({ code: err.code }, 'gRPC export refused');
          else if (err.status >= 500) options.logger.error({ err: raw, code: err.code }, 'gRPC export failed');
          callback(toServiceError(err));
        },
      );
    },
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // A call still running after the grace period is cut; its sender retries, and the retry is a duplicate.
        const cutoff = setTimeout(() => server.forceShutdown(), options.closeGraceMs ?? 5000);
        server.tryShutdown(() => {
          clearTimeout(cutoff);
          resolve();
        });
      }),
  };
}
