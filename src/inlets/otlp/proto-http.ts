import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';
import { mapDecodedLogs, type MappedLogs } from './index.js';
import { TooManyRecordsError } from './decode.js';
import type { OtlpStatus } from '../../schema/otlp.js';
import { encodeStatus } from './proto.js';
import { decodeProtobufLogs } from './proto-records.js';
import { ProtobufDecodeError } from './wire.js';

/** The media types of OTLP/HTTP protobuf (the spec names the first; the second is the registered one). */
export const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf'];
export const PROTOBUF_TYPE = 'application/x-protobuf';

/** A POST /v1/logs body in protobuf, still undecoded: the handler decodes it, so errors carry OTLP's shape. */
export class ProtobufBody {
  constructor(readonly bytes: Buffer) {}
}

/** The request was sent in protobuf, so its answer, error or not, is protobuf too (OTLP/HTTP). */
export function isProtobufRequest(request: FastifyRequest): boolean {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return type !== undefined && PROTOBUF_TYPES.includes(type);
}

/**
 * Makes the routes of `scope` (an encapsulated Fastify context: other routes keep refusing protobuf with 415)
 * take OTLP/HTTP protobuf bodies. Gzip is inflated, within BODY_LIMIT, by the shared preParsing hook
 * (src/http/plugins/body.ts). An error answered to a protobuf request is re-encoded from the google.rpc.Status
 * the error handler rendered as JSON into its protobuf form, with the protobuf content type.
 */
export function acceptOtlpProtobuf(scope: FastifyInstance): void {
  scope.removeContentTypeParser(PROTOBUF_TYPES);
  scope.addContentTypeParser(PROTOBUF_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, new ProtobufBody(body as Buffer));
  });
  scope.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string' || !isProtobufRequest(request)) return payload;
    const status = JSON.parse(payload) as OtlpStatus;
    reply.type(PROTOBUF_TYPE);
    return Buffer.from(encodeStatus(status));
  });
}

/**
 * An OTLP/protobuf logs request as events: decoded straight into the records decode.ts makes of OTLP/JSON
 * (proto-records.ts), then mapped exactly as JSON is (src/inlets/otlp/index.ts). Bytes that do not decode are
 * refused whole (INVALID_OTLP, 400); more records than maxBatchEvents, 413.
 */
export function mapProtobufLogs(bytes: Uint8Array, options: { maxBatchEvents: number; receivedAt: number }): MappedLogs {
  let records;
  try {
    records = decodeProtobufLogs(bytes, options.maxBatchEvents);
  } catch (err) {
    if (err instanceof ProtobufDecodeError) {
      throw new LogaggError('INVALID_OTLP', { message: `Not an OTLP/protobuf logs request: ${err.message}`, cause: err });
    }
    if (err instanceof TooManyRecordsError) throw new LogaggError('BATCH_TOO_LARGE', { message: err.message, cause: err });
    throw err;
  }
  return mapDecodedLogs(records, options);
}
