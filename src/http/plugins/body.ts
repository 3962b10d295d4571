import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';
import { bodyTooLarge } from './body-limit.js';

// Fatal: a byte sequence that is not UTF-8 is an error, not U+FFFD. Replacement characters would merge distinct
// event_ids into one key, and the second event would be dropped as a duplicate of the first.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The media types read as NDJSON: one JSON event per line (docs/integrations.md says why these three). */
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'] as const;
const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf'];
// RFC 9110 §8.4.1.3: x-gzip is to be read as gzip.
const GZIP_CODINGS = new Set(['gzip', 'x-gzip']);
// JSON whitespace only: a line of other Unicode spaces is not blank, and not JSON either.
const BLANK_LINE = /^[ \t\r]*$/;

/** An NDJSON body: its events in order, and the 1-based line of each, so errors can name the line. */
export class NdjsonBody {
  constructor(
    readonly events: unknown[],
    readonly lines: number[],
  ) {}
}

export interface BodyOptions {
  /** NDJSON stops parsing past this many events (the answer is then 413 whatever the rest holds). */
  maxBatchEvents: number;
}

type ParseJson = ReturnType<FastifyInstance['getDefaultJsonParser']>;

/** Refuses a charset other than UTF-8 (docs/spec.md §3 says JSON; RFC 8259 says UTF-8), then decodes strictly. */
function decodeUtf8(request: FastifyRequest, body: Buffer, what: string): string {
  const charset = /charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new LogaggError('UNSUPPORTED_MEDIA_TYPE', { message: `The body must be UTF-8 ${what}, not ${charset}` });
  }
  try {
    return utf8.decode(body);
  } catch (err) {
    throw new LogaggError('INVALID_JSON', { message: 'The body is not valid UTF-8', cause: err });
  }
}

/** Fastify's own JSON parser on one line; it answers synchronously. */
function parseLine(request: FastifyRequest, raw: string, parseJson: ParseJson): { value: unknown } | { error: Error } {
  let outcome: { value: unknown } | { error: Error } | undefined;
  parseJson(request, raw, (err, value: unknown) => {
    outcome = err ? { error: err } : { value };
  });
  // An Error made up front would cost a stack trace per line (measured: 4x the cost of parsing); only a parser
  // that broke its synchronous contract gets here.
  return outcome ?? { error: new Error('the JSON parser did not answer synchronously') };
}

/** Why secure-json-parse refuses JSON that JSON.parse reads: a key that could pollute prototypes. */
const PROTOTYPE_KEY =
  'a "__proto__" key, or a "constructor" object with a "prototype" key, is refused: such keys can change the prototype of objects built from the data (prototype pollution); rename the key';

function syntaxError(raw: string): string {
  try {
    JSON.parse(raw);
    return PROTOTYPE_KEY;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * One event per line; blank lines (JSON whitespace only) are skipped but counted, so line numbers match an
 * editor's. Parsing stops at the first line that is not JSON: the request is refused whole anyway.
 */
function parseNdjson(request: FastifyRequest, text: string, parseJson: ParseJson, maxEvents: number): NdjsonBody {
  const events: unknown[] = [];
  const lines: number[] = [];
  let line = 0;
  for (let start = 0; start <= text.length;) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const raw = text.slice(start, end);
    start = end + 1;
    line++;
    if (raw.length === 0 || BLANK_LINE.test(raw)) continue;
    if (events.length === maxEvents) {
      throw new LogaggError('BATCH_TOO_LARGE', {
        message: `More than ${maxEvents} events (line ${line} is event ${maxEvents + 1}); at most ${maxEvents} per request`,
      });
    }
    const parsed = parseLine(request, raw, parseJson);
    if ('error' in parsed) {
      // The secure parser's SyntaxError names a forbidden key; for bad syntax Fastify's error says only "invalid
      // JSON", so JSON.parse is asked where (on this failure path only).
      const reason = parsed.error.name === 'SyntaxError' ? parsed.error.message : syntaxError(raw);
      throw new LogaggError('INVALID_JSON', {
        message: `Line ${line} is not valid JSON (lines count from 1); nothing was stored`,
        details: [{ line, message: reason }],
        cause: parsed.error,
      });
    }
    events.push(parsed.value);
    lines.push(line);
  }
  return new NdjsonBody(events, lines);
}

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
 * The body parsers: strict UTF-8 JSON (Fastify's secure parser, refusing __proto__ and constructor.prototype keys
 * with 400), NDJSON, and `Content-Encoding: gzip` on any of them, with BODY_LIMIT held against the inflated size.
 */
export function bodyPlugin(app: FastifyInstance, options: BodyOptions): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8(request, body as Buffer, 'JSON');
    } catch (err) {
      done(err as Error);
      return;
    }
    // Fastify's parser drops the reason ("Body is not valid JSON"): say where the JSON breaks, or which key is refused.
    parseJson(request, text, (err, value: unknown) => {
      if (err && (err as FastifyError).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        const reason = syntaxError(text);
        const message = reason === PROTOTYPE_KEY ? `The body is refused: ${reason}` : `The body is not valid JSON: ${reason}`;
        done(new LogaggError('INVALID_JSON', { message, cause: err }));
      } else {
        done(err, value);
      }
    });
  });
  app.addContentTypeParser([...NDJSON_TYPES], { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseNdjson(request, decodeUtf8(request, body as Buffer, 'NDJSON'), parseJson, options.maxBatchEvents));
    } catch (err) {
      done(err as Error);
    }
  });
  // Refused before a byte is read, with a message that says what to send instead (docs/integrations.md).
  app.addContentTypeParser(PROTOBUF_TYPES, (request, _payload, done) => {
    const message =
      request.routeOptions.config.inlet?.transport === 'otlp'
        ? 'OTLP/HTTP protobuf is not supported: send OTLP/HTTP JSON (Content-Type: application/json)'
        : undefined;
    done(new LogaggError('UNSUPPORTED_MEDIA_TYPE', { message }));
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
