import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Pipeline } from '../../ingest/index.js';
import { exportLogsResponse, mapLogsRequest } from './index.js';
import { acceptOtlpProtobuf, mapProtobufLogs, PROTOBUF_TYPE, ProtobufBody } from './proto-http.js';
import { encodeExportLogsResponse } from './proto.js';
import { otlpStatusBody } from './status.js';
import { ExportLogsRequestSchema, ExportLogsResponseSchema, OtlpStatusSchema } from '../../schema/otlp.js';

export interface OtlpRouteOptions {
  pipeline: Pipeline;
  maxBatchEvents: number;
}

// The body as documented and as typed: unknown, because src/inlets/otlp/decode.ts checks it, not Fastify.
const OtlpBodySchema = Type.Unsafe<unknown>(ExportLogsRequestSchema);

/**
 * POST /v1/logs: OTLP/HTTP logs in the JSON encoding, mapped to events (docs/integrations.md) and sent through
 * the same validation and group commit as POST /publish; answered after commit.
 */
export function otlpLogsRoute(app: FastifyInstance, options: OtlpRouteOptions): void {
  // Its own scope: the protobuf parser and error re-encoding apply to this route only.
  void app.register(async (scope) => otlpLogsScope(scope, options));
}

function otlpLogsScope(app: FastifyInstance, options: OtlpRouteOptions): void {
  acceptOtlpProtobuf(app);
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/logs',
    {
      schema: {
        summary: 'OpenTelemetry logs (OTLP/HTTP, JSON or protobuf encoding); answered after they are committed',
        description:
          'An ExportLogsServiceRequest in OTLP/JSON or protobuf (application/x-protobuf, answered in protobuf). Each log record becomes ' +
          'an event: topic from the logagg.topic attribute (record, then resource), else service.name; ' +
          'event_id from log.record.uid, else a sha256 of the record. 200 with {} when all were stored, with ' +
          'partialSuccess when some were rejected (the rest are stored); 400 when the body does not decode; ' +
          '503 + Retry-After when overloaded or the store is down (OTLP exporters retry it). Error bodies are ' +
          'a google.rpc.Status ({code, message, details}), as OTLP/HTTP asks, not the error shape of the other routes.',
        tags: ['events'],
        consumes: ['application/json', 'application/x-protobuf'],
        body: OtlpBodySchema,
        response: { 200: ExportLogsResponseSchema, '4xx': OtlpStatusSchema, '5xx': OtlpStatusSchema },
      },
      // For the OpenAPI document only: OTLP/JSON asks receivers to ignore unknown fields and to read 64-bit
      // integers as strings or numbers, which src/inlets/otlp/decode.ts does.
      validatorCompiler: () => () => true,
      config: {
        access: 'write',
        inlet: {
          transport: 'otlp',
          renderError: otlpStatusBody,
          unsupportedMediaType: 'POST /v1/logs takes OTLP/JSON (application/json) or OTLP/protobuf (application/x-protobuf)',
        },
      },
    },
    async (request, reply) => {
      const mapOptions = { maxBatchEvents: options.maxBatchEvents, receivedAt: Date.now() };
      const protobuf = request.body instanceof ProtobufBody;
      const mapped =
        request.body instanceof ProtobufBody ? mapProtobufLogs(request.body.bytes, mapOptions) : mapLogsRequest(request.body, mapOptions);
      request.quota?.admit(mapped.events.length);
      await options.pipeline.submit(mapped.events, 'otlp', { tenant: request.tenant });
      const response = exportLogsResponse(mapped.rejected);
      if (!protobuf) return response;
      // Bytes, not the JSON the response schema types: the schema documents the JSON encoding only.
      return (reply as FastifyReply).type(PROTOBUF_TYPE).send(encodeExportLogsResponse(response));
    },
  );
}
