import type { LogaggError } from '../../errors.js';
import type { OtlpStatus } from '../../schema/otlp.js';

/** google.rpc.Code values used below (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto). */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

// HTTP status → gRPC code, as code.proto pairs them. 413 is INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: the request
// is too large as sent and no retry can help, while RESOURCE_EXHAUSTED (kept for 429) reads as "try again later".
const BY_HTTP_STATUS = new Map<number, number>([
  [400, GRPC.INVALID_ARGUMENT],
  [401, GRPC.UNAUTHENTICATED],
  [403, GRPC.PERMISSION_DENIED],
  [404, GRPC.NOT_FOUND],
  [408, GRPC.DEADLINE_EXCEEDED],
  [413, GRPC.INVALID_ARGUMENT],
  [415, GRPC.INVALID_ARGUMENT],
  [422, GRPC.INVALID_ARGUMENT],
  [429, GRPC.RESOURCE_EXHAUSTED],
  [500, GRPC.INTERNAL],
  [503, GRPC.UNAVAILABLE],
]);

/** The gRPC status code an HTTP error status stands for; other 4xx are the client's fault, other 5xx ours. */
function grpcCodeFor(httpStatus: number): number {
  return BY_HTTP_STATUS.get(httpStatus) ?? (httpStatus < 500 ? GRPC.INVALID_ARGUMENT : GRPC.INTERNAL);
}

/**
 * An error of POST /v1/logs as the OTLP/HTTP spec asks: a google.rpc.Status in its JSON encoding. logagg's own
 * code leads the message, so logs and dashboards on the sender's side still show it. `details` stays empty: each
 * entry would have to be a typed Any ("@type"), and the JSON path of a decode error is already in the message.
 */
export function otlpStatusBody(err: LogaggError): OtlpStatus {
  return { code: grpcCodeFor(err.status), message: `${err.code}: ${err.message}`, details: [] };
}
