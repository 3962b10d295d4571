import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { validateDerivedEvents } from '../../schema/validate.js';
import { undoContentEncoding } from './body.js';
import { decodeJsonPush, PushDecodeError, type PushStream, TooManyEntriesError } from './decode.js';
import { type LokiMapping, streamsToEvents } from './map.js';
import { decodeProtobufPush } from './proto.js';
import { SnappyError, snappyUncompress } from './snappy.js';

export interface LokiRouteOptions {
  pipeline: Pipeline;
  maxBatchEvents: number;
  mapping: LokiMapping;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf'];

/** Loki answers errors in plain text; so does this route (shippers log the text). The code leads, as in OTLP. */
export function lokiErrorText(err: LogaggError): string {
  const details = (err.details ?? []).map((d) => `\n${typeof d === 'string' ? d : JSON.stringify(d)}`).join('');
  return `${err.code}: ${err.message}${details}\n`;
}

/** Where JSON.parse says the text breaks; a text it reads was refused for a __proto__ or constructor.prototype key. */
function syntaxError(text: string): string {
  try {
    JSON.parse(text);
    return 'a "__proto__" key, or a "constructor" object with a "prototype" key, is refused (prototype pollution)';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Decoder errors as the route's 400/413; anything else is a bug and stays a 500. */
function decoded(decode: () => PushStream[]): PushStream[] {
  try {
    return decode();
  } catch (err) {
    if (err instanceof PushDecodeError) {
      throw new LogaggError('INVALID_LOKI', {
        message: `Not a Loki push request: ${err.message}`,
        details: [{ path: err.path, message: err.reason }],
        cause: err,
      });
    }
    if (err instanceof TooManyEntriesError) throw new LogaggError('BATCH_TOO_LARGE', { message: err.message, cause: err });
    throw err;
  }
}

/**
 * POST /loki/api/v1/push: Loki's push API (JSON, or snappy-compressed protobuf), what Promtail, Alloy, Vector,
 * Fluent Bit and the logging libraries' Loki transports send. Entries become events (docs/integrations.md), go
 * through the same checks and group commit as POST /publish, and the answer (204) comes after commit.
 */
export function lokiRoutes(app: FastifyInstance, options: LokiRouteOptions): void {
  // Its own scope: the body parsers below (protobuf, JSON after Content-Encoding) apply to this route only.
  void app.register(async (scope) => {
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    const limitOf = (request: FastifyRequest): number => request.routeOptions.bodyLimit ?? scope.initialConfig.bodyLimit ?? 0;
    const inflated = (request: FastifyRequest, body: Buffer): Promise<Buffer> =>
      undoContentEncoding(request.headers['content-encoding'], body, limitOf(request));

    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, async (request: FastifyRequest, body: Buffer) => {
      let text: string;
      try {
        text = utf8.decode(await inflated(request, body));
      } catch (err) {
        if (err instanceof LogaggError) throw err;
        throw new LogaggError('INVALID_LOKI', { message: 'The body is not valid UTF-8', cause: err });
      }
      // Fastify's secure parser (it refuses __proto__ keys, as POST /publish does) answers synchronously.
      let failure: Error | undefined = new Error('the JSON parser did not answer');
      let json: unknown;
      parseJson(request, text, (err, value: unknown) => {
        failure = err ?? undefined;
        json = value;
      });
      if (failure !== undefined) {
        const reason = failure.name === 'SyntaxError' ? failure.message : syntaxError(text);
        throw new LogaggError('INVALID_JSON', { message: `The body is not valid JSON: ${reason}`, cause: failure });
      }
      return decoded(() => decodeJsonPush(json, options.maxBatchEvents));
    });
    scope.removeContentTypeParser(PROTOBUF_TYPES);
    scope.addContentTypeParser(PROTOBUF_TYPES, { parseAs: 'buffer' }, async (request: FastifyRequest, body: Buffer) => {
      const raw = await inflated(request, body);
      let message: Buffer;
      try {
        message = snappyUncompress(raw, limitOf(request));
      } catch (err) {
        if (!(err instanceof SnappyError)) throw err;
        const tooLarge = err.message.includes('over the limit');
        throw new LogaggError(tooLarge ? 'BODY_TOO_LARGE' : 'INVALID_LOKI', {
          message: `The body is not a snappy-compressed (block format) protobuf: ${err.message}`,
          cause: err,
        });
      }
      return decoded(() => decodeProtobufPush(message, options.maxBatchEvents));
    });

    scope.post(
      '/loki/api/v1/push',
      {
        schema: {
          summary: 'Loki push API (JSON or snappy protobuf); answered 204 after the entries are committed',
          description:
            'What Promtail, Grafana Alloy, Vector, Fluent Bit and the Loki transports of logging libraries send. ' +
            'application/json ({"streams":[{"stream":{...},"values":[["<ns>","<line>",{metadata}?]]}]}) or ' +
            'application/x-protobuf (a logproto.PushRequest, snappy block compressed); Content-Encoding gzip or ' +
            'deflate. Each entry becomes an event: topic and source from stream labels (LOKI_TOPIC_LABELS, ' +
            'LOKI_SOURCE_LABELS), event_id a sha256 of (labels, nanosecond time, line), so a retry is a duplicate. ' +
            '204 when committed; 400 (plain text) when any entry is bad, and nothing is stored; 503 + Retry-After ' +
            'when overloaded or the store is down.',
          tags: ['events'],
          consumes: ['application/json', ...PROTOBUF_TYPES],
        },
        config: { access: 'write', inlet: { transport: 'loki', renderError: lokiErrorText, ownsContentEncoding: true } },
      },
      async (request, reply) => {
        const events = streamsToEvents(request.body as PushStream[], options.mapping);
        // The same checks as POST /publish (timestamps, strings the store can hold, payload depth); Loki answers a
        // bad entry with 400, so does this route, and none of the request is stored.
        const checked = validateDerivedEvents(events);
        if (!checked.ok) {
          throw new LogaggError('INVALID_LOKI', {
            message: `${checked.problems.length} problem(s) in the entries; nothing was stored`,
            details: checked.problems.map((p) => ({ entry: p.index, path: p.path, message: p.message })),
          });
        }
        request.quota?.admit(checked.events.length);
        await options.pipeline.submit(checked.events, 'loki', { tenant: request.tenant });
        return reply.code(204).send();
      },
    );
  });
}
