import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CODES, type ErrorCode, isLogaggError, LogaggError, RETRY_AFTER_SECONDS } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { otlpStatusBody } from '../../otlp/status.js';
import type { ErrorBody } from '../../schema/error.js';
import { bodyLimitOf, bodyTooLarge } from './body-limit.js';

// Fastify's own failures, mapped onto our table so every error body has the same shape and code list.
const FASTIFY_CODES: Record<string, LogaggError['code']> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

function toLogaggError(err: FastifyError): LogaggError {
  if (isLogaggError(err)) return err;
  if (err.validation) {
    const details = err.validation.map((v) => ({
      path: `${err.validationContext ?? ''}${v.instancePath}`,
      message: v.message ?? 'is invalid',
    }));
    return new LogaggError('VALIDATION_FAILED', { message: err.message, details, cause: err });
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

// Inlet routes and the transport label their refusals are counted under (logagg_requests_rejected_total).
const INLETS = new Map([
  ['/publish', 'http'],
  ['/v1/logs', 'otlp'],
]);

function errorBody(err: LogaggError): ErrorBody {
  const body: ErrorBody = { error: err.code, message: err.message };
  if (err.details) body.details = err.details;
  return body;
}

// Routes whose protocol fixes the error body: OTLP/HTTP requires a google.rpc.Status. Every other route: ErrorBody.
const BODY_RENDERERS = new Map<string, (err: LogaggError) => unknown>([['/v1/logs', otlpStatusBody]]);

/** The only place errors become responses: one body shape per route, Retry-After on 503, no 5xx internals shown. */
export function errorHandlerPlugin(app: FastifyInstance, metrics: Pick<Metrics, 'recordRejected'>): void {
  app.setErrorHandler((raw: FastifyError, request, reply) => {
    // Fastify's own 413 (a chunked body past the limit) does not say the limit; ours does.
    const err = raw.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? bodyTooLarge(bodyLimitOf(request)) : toLogaggError(raw);
    // Only the inlets: a refused publish is what an operator alerts on, a bad query is not.
    const transport = INLETS.get(request.routeOptions.url ?? '');
    if (transport !== undefined) metrics.recordRejected(transport, err.code);
    // 503s come in floods while overloaded or while the store is away; the store and pipeline report those
    // states, so each refused request is only a debug line. Other 5xx are bugs or store failures: error.
    if (err.status === 503) {
      request.log.debug({ code: err.code }, 'request refused');
    } else if (err.status >= 500) {
      request.log.error({ err: raw, code: err.code }, 'request failed');
    }
    if (err.status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    const render = BODY_RENDERERS.get(request.routeOptions.url ?? '') ?? errorBody;
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
