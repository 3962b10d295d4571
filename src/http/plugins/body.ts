import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { FastifyError, FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';
import { bodyTooLarge } from './body-limit.js';
import { jsonRefusalReason, PROTOTYPE_KEY } from '../../inlets/json.js';
import { decodeUtf8Body } from '../../inlets/utf8.js';

// RFC 9110 §8.4.1.3: x-gzip is to be read as gzip.
const GZIP_CODINGS = new Set(['gzip', 'x-gzip']);

/**
 * Inflates a gzip body no further than `limit` bytes: past it, inflating stops at once, the request stream is
 * unhooked (Node discards the rest unread) and the error is BODY_TOO_LARGE. Fastify's own check would only stop
 * collecting and let the inflater run on through a gzip bomb. Nothing starts until the body is read, so a
 * request that is refused before parsing (415, 401) never inflates anything.
 */
export class InflateWithin extends Readable {
  /** Compressed bytes read; Fastify holds it against the body limit and Content-Length. */
  receivedEncodedLength = 0;
  /** Inflated bytes handed on. */
  inflatedLength = 0;
  private gunzip: Gunzip | undefined;
  private readonly countEncoded = (chunk: Buffer): void => {
    this.receivedEncodedLength += chunk.length;
    // Fastify refuses a body whose encoded length passes the limit by dropping its listeners, without destroying
    // this stream, which would then error with no one listening. Refuse it here first. (On Node 22+, whose
    // streams buffer 64 KiB, a gzip stream that never ends reached Fastify's check first and crashed the server.)
    if (this.receivedEncodedLength > this.limit) {
      this.destroy(bodyTooLarge(this.limit));
    }
  };

  constructor(
    private readonly source: Readable,
    private readonly limit: number,
  ) {
    super();
    // Fastify stops listening once it has answered; an error after that is already answered, never a crash.
    this.on('error', () => {});
  }

  override _read(): void {
    if (this.gunzip) {
      this.gunzip.resume();
      return;
    }
    const gunzip = createGunzip();
    this.gunzip = gunzip;
    gunzip.on('data', (chunk: Buffer) => {
      this.inflatedLength += chunk.length;
      if (this.inflatedLength > this.limit) {
        this.destroy(bodyTooLarge(this.limit, true));
        return;
      }
      if (!this.push(chunk)) gunzip.pause();
    });
    gunzip.once('end', () => this.push(null));
    gunzip.on('error', (err) =>
      this.destroy(new LogaggError('BAD_REQUEST', { message: `The body is not valid gzip: ${err.message}`, cause: err })),
    );
    this.source.on('data', this.countEncoded);
    // pipe() passes no error on: a client that hangs up mid-body would leave the inflater waiting for an end.
    this.source.once('error', this.onSourceGone);
    this.source.once('close', this.onSourceGone);
    this.source.pipe(gunzip);
  }

  private readonly onSourceGone = (): void => {
    if (!this.source.readableEnded) this.destroy(new LogaggError('BAD_REQUEST', { message: 'The request body was cut off' }));
  };

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.gunzip) {
      this.source.off('error', this.onSourceGone);
      this.source.off('close', this.onSourceGone);
      this.source.off('data', this.countEncoded);
      this.source.unpipe(this.gunzip);
      this.gunzip.destroy();
    }
    callback(err);
  }
}

/** The codings of a Content-Encoding header, identity dropped; throws UNSUPPORTED_ENCODING unless gzip alone. */
function wantsGunzip(header: string): boolean {
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return false;
  if (codings.length === 1 && GZIP_CODINGS.has(codings[0] as string)) return true;
  throw new LogaggError('UNSUPPORTED_ENCODING', { message: `Content-Encoding "${header}" is not supported; send gzip or identity` });
}

/**
 * What every HTTP route shares: strict UTF-8 JSON (Fastify's secure parser, refusing __proto__ and
 * constructor.prototype keys with 400) and `Content-Encoding: gzip`, with BODY_LIMIT held against the inflated
 * size. Other body types are an inlet's own: its routes add their parsers in their own scope (NDJSON for
 * POST /publish), so no parser here knows a route (docs/architecture.md).
 */
export function bodyPlugin(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8Body(request.headers['content-type'], body as Buffer, 'JSON');
    } catch (err) {
      done(err as Error);
      return;
    }
    // Fastify's parser drops the reason ("Body is not valid JSON"): say where the JSON breaks, or which key is refused.
    parseJson(request, text, (err, value: unknown) => {
      if (err && (err as FastifyError).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        const reason = jsonRefusalReason(text);
        const message = reason === PROTOTYPE_KEY ? `The body is refused: ${reason}` : `The body is not valid JSON: ${reason}`;
        done(new LogaggError('INVALID_JSON', { message, cause: err }));
      } else {
        done(err, value);
      }
    });
  });
  // Only JSON is an event body (docs/spec.md §3): text/plain would otherwise parse as a string and earn a 422, not 415.
  app.removeContentTypeParser('text/plain');

  // A callback hook, not an async one: it runs on every request, and most carry no Content-Encoding at all.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const header = request.headers['content-encoding'];
    // GET and HEAD carry no body to decode.
    if (
      header === undefined ||
      request.method === 'GET' ||
      request.method === 'HEAD' ||
      request.routeOptions.config.inlet?.ownsContentEncoding
    ) {
      done(null, payload);
      return;
    }
    try {
      const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 0;
      done(null, wantsGunzip(header) ? new InflateWithin(payload, limit) : payload);
    } catch (err) {
      done(err as Error);
    }
  });
}
