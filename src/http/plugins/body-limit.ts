import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';

/** Longest the rest of a refused body is read and discarded after the answer (nginx's lingering_time is 30 s). */
export const LINGER_MAX_MS = 30_000;
/** Longest wait for the next piece of a refused body (nginx's lingering_timeout is 5 s). */
export const LINGER_IDLE_MS = 5_000;
/** Most bytes of a refused body read and discarded; past it the socket is cut (a client may then see a reset). */
export const LINGER_MIN_BYTES = 64 * 1024 * 1024;

/** The 413 for a body over the limit, naming the limit and the setting that raises it. */
export function bodyTooLarge(limit: number, inflated = false): LogaggError {
  const what = inflated ? 'The body inflates to more than' : 'The body exceeds';
  return new LogaggError('BODY_TOO_LARGE', { message: `${what} the limit of ${limit} bytes (BODY_LIMIT)` });
}

/** The body limit of the request's route (Fastify's server-wide bodyLimit unless the route sets its own). */
export function bodyLimitOf(request: FastifyRequest): number {
  return request.routeOptions.bodyLimit ?? request.server.initialConfig.bodyLimit ?? 0;
}

const declaredLength = (req: IncomingMessage): number => Number(req.headers['content-length']);

/**
 * Reads and discards the rest of a request body after an early answer, then closes. Closing a socket whose
 * receive buffer still holds data makes the kernel send a reset, which can reach the client before it has read
 * the answer: it then sees "connection reset" for what was a clean 413, and a retrying client sends the same
 * too-large body again. So the write side is shut (FIN after the answer) and the body is drained until it ends,
 * stops arriving for LINGER_IDLE_MS, passes `maxBytes`, or LINGER_MAX_MS passes: then the socket is destroyed.
 */
function linger(socket: Socket, req: IncomingMessage, maxBytes: number): void {
  let bytes = 0;
  let idle: NodeJS.Timeout | undefined;
  const close = (): void => {
    clearTimeout(total);
    clearTimeout(idle);
    req.off('data', onData);
    // Once the answer is flushed: destroy() discards unwritten data.
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  };
  const total = setTimeout(close, LINGER_MAX_MS);
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(close, LINGER_IDLE_MS);
  };
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > maxBytes) close();
    else arm();
  };
  socket.end();
  // The body may have ended between the answer and now: nothing is left to read.
  if (req.readableEnded) {
    close();
    return;
  }
  arm();
  socket.once('close', () => {
    clearTimeout(total);
    clearTimeout(idle);
  });
  req.once('end', close);
  req.on('data', onData);
  // A body that was being piped (the gzip inflater unhooks itself on a 413) is paused: read on.
  req.resume();
}

/**
 * Makes an early refusal of a request body (413, or 401/415 before the body is read) readable by every client:
 *
 * - A `Content-Length` over the limit is refused before the body is parsed, with a message that states the limit.
 * - `Expect: 100-continue` is honoured: a body declared over the limit gets its 413 instead of `100 Continue`, so
 *   the client never sends it (curl asks for this on bodies over 1 MiB).
 * - An error answered while the body is still arriving carries `Connection: close`, and the connection lingers:
 *   Node would otherwise destroy the socket right after the answer (its `destroySoon`), with the body unread.
 */
export function bodyLimitPlugin(app: FastifyInstance): void {
  const serverLimit = app.initialConfig.bodyLimit ?? 0;
  // With a listener, Node leaves `100 Continue` to us. No route sets its own limit, so the server's one decides.
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(declaredLength(req) > serverLimit)) res.writeContinue();
    app.server.emit('request', req, res);
  });

  // The smallest limit of any route: a body declared within it is within its route's limit, and the route's own
  // limit is not looked up (request.routeOptions builds a new object on every read: measurable per request).
  let smallestLimit = serverLimit;
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit !== undefined) smallestLimit = Math.min(smallestLimit, route.bodyLimit);
  });
  // After authentication (onRequest): an unauthenticated client learns nothing about the limit it would hit.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const length = declaredLength(request.raw);
    if (length > smallestLimit) {
      const limit = bodyLimitOf(request);
      if (length > limit) {
        done(bodyTooLarge(limit));
        return;
      }
    }
    done(null, payload);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const req = request.raw;
    const socket = req.socket as Socket | null;
    if (reply.statusCode >= 400 && !req.complete && socket && !socket.destroyed) {
      reply.header('connection', 'close');
      const maxBytes = Math.max(LINGER_MIN_BYTES, 2 * bodyLimitOf(request));
      // Node ends a `Connection: close` answer with socket.destroySoon(): shut writing and destroy once the answer
      // is flushed. Linger in its place, on this socket only (it carries no further request).
      socket.destroySoon = () => linger(socket, req, maxBytes);
    }
    done(null, payload);
  });
}
