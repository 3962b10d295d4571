import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CODES, type ErrorCode, isLogaggError, LogaggError, RETRY_AFTER_SECONDS } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { ErrorBody } from '../../schema/error.js';
import type { QueryRules } from '../../schema/query.js';
import type { Transport } from '../../schema/transport.js';
import { bodyLimitOf, bodyTooLarge } from './body-limit.js';

// Fastify's own failures, mapped onto our table so every error body has the same shape and code list.
const FASTIFY_CODES: Record<string, LogaggError['code']> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

/** A query parameter's problem, named: the route's rule in words where it has one, else Ajv's own words. */
function queryProblem(v: NonNullable<FastifyError['validation']>[number], rules: QueryRules): string {
  if (v.keyword === 'additionalProperties') return `unknown query parameter "${String(v.params.additionalProperty)}"`;
  const field = v.instancePath.slice(1);
  return `${field} ${rules[field] ?? v.message ?? 'is invalid'}`;
}

function toLogaggError(err: FastifyError, rules: QueryRules = {}, inlet?: InletConfig): LogaggError {
  if (isLogaggError(err)) return err;
  // No parser in the route's scope reads this content type: the route says what it takes instead.
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && inlet?.unsupportedMediaType !== undefined) {
    return new LogaggError('UNSUPPORTED_MEDIA_TYPE', { message: inlet.unsupportedMediaType, cause: err });
  }
  if (err.validation) {
    const query = err.validationContext === 'querystring';
    const details = err.validation.map((v) => ({
      path: `${err.validationContext ?? ''}${v.instancePath}`,
      message: query ? queryProblem(v, rules) : (v.message ?? 'is invalid'),
    }));
    const message = query ? `Invalid query: ${details.map((d) => d.message).join('; ')}` : err.message;
    return new LogaggError('VALIDATION_FAILED', { message, details, cause: err });
  }
  const mapped = FASTIFY_CODES[err.code];
  if (mapped) return new LogaggError(mapped, { cause: err });
  // The JSON parser throws a plain SyntaxError (also for __proto__ keys) with statusCode 400.
  if (err.name === 'SyntaxError' && err.statusCode === 400) {
    return new LogaggError('INVALID_JSON', { message: `The body is not valid JSON: ${err.message}`, cause: err });
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new LogaggError('BAD_REQUEST', { message: err.message, cause: err });
  }
  return new LogaggError('INTERNAL', { cause: err });
}

function errorBody(err: LogaggError): ErrorBody {
  const body: ErrorBody = { error: err.code, message: err.message };
  if (err.details) body.details = err.details;
  return body;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route is an inlet: its refusals are counted under this transport (logagg_requests_rejected_total), and
     * its protocol may fix the error body (OTLP/HTTP asks for a google.rpc.Status). A route declares it; no
     * plugin keeps a map of URLs (docs/architecture.md).
     */
    inlet?: InletConfig;
    /** Sentences for its query parameters' validation errors, where Ajv's own ("must match pattern …") would not help. */
    queryRules?: QueryRules;
  }
}

export interface InletConfig {
  transport: Transport;
  /** The protocol's error body; ErrorBody when absent. */
  renderError?: (err: LogaggError) => unknown;
  /** The route undoes Content-Encoding itself (the Loki push takes deflate and snappy): the body plugin leaves it. */
  ownsContentEncoding?: boolean;
  /**
   * The 415 message when no parser in the route's scope reads the request's content type: what the route takes
   * instead. Absent: the UNSUPPORTED_MEDIA_TYPE message of src/errors.ts (JSON or NDJSON, POST /publish's types).
   */
  unsupportedMediaType?: string;
}

/** The only place errors become responses: one body shape per route, Retry-After on 503 and 429, no 5xx internals shown. */
export function errorHandlerPlugin(app: FastifyInstance, metrics: Pick<Metrics, 'recordRejected'>): void {
  app.setErrorHandler((raw: FastifyError, request, reply) => {
    // Only the inlets: a refused publish is what an operator alerts on, a bad query is not.
    const inlet = request.routeOptions.config.inlet;
    // Fastify's own 413 (a chunked body past the limit) does not say the limit; ours does.
    const err =
      raw.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? bodyTooLarge(bodyLimitOf(request))
        : toLogaggError(raw, request.routeOptions.config.queryRules, inlet);
    if (inlet !== undefined) metrics.recordRejected(inlet.transport, err.code);
    // 503s come in floods while overloaded or while the store is away; the store and pipeline report those
    // states, so each refused request is only a debug line. Other 5xx are bugs or store failures: error.
    if (err.status === 503) {
      request.log.debug({ code: err.code }, 'request refused');
    } else if (err.status >= 500) {
      request.log.error({ err: raw, code: err.code }, 'request failed');
    }
    if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
    else if (err.status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    const render = inlet?.renderError ?? errorBody;
    return reply.code(err.status).send(render(err));
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: 'NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}` };
    return reply.code(404).send(body);
  });
}

// Node's HTTP parser errors, raised before a request reaches a route (so the error handler above never sees them).
const CLIENT_ERROR_CODES: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
};

/**
 * Fastify's `clientErrorHandler`: a malformed request line or header, headers over the size limit, or a request
 * not received within the request timeout (a slowloris) get the same body shape and codes as every other error.
 * There is no reply object yet, so the answer is written to the socket, which is then closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one to answer (Fastify's default handler does the same).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code = CLIENT_ERROR_CODES[err.code ?? ''] ?? 'BAD_REQUEST';
  const { status, message } = ERROR_CODES[code];
  const body = JSON.stringify({ error: code, message } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
