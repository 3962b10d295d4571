import { Type, type Static } from 'typebox';

// OTLP/JSON shapes for the OpenAPI document. The route decodes the body itself (src/inlets/otlp/decode.ts): AnyValue
// nests, 64-bit integers come as strings or numbers, and unknown fields must be ignored, not refused.

const AnyValueSchema = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'OTLP AnyValue: one of stringValue, boolValue, intValue, doubleValue, bytesValue, arrayValue, kvlistValue',
  },
);

const KeyValueSchema = Type.Object({ key: Type.String(), value: Type.Optional(AnyValueSchema) }, { additionalProperties: true });

const Nanos = (description: string) =>
  Type.String({
    pattern: '^[0-9]+$',
    description: `${description} (uint64 nanoseconds since the epoch, as a decimal string; a number is read too)`,
  });

const LogRecordSchema = Type.Object(
  {
    timeUnixNano: Type.Optional(Nanos('When the event happened; the event timestamp')),
    observedTimeUnixNano: Type.Optional(Nanos('When it was observed; the timestamp when timeUnixNano is 0 or absent')),
    severityNumber: Type.Optional(
      Type.Union([Type.Integer(), Type.String()], {
        description: 'SeverityNumber: a number, a string holding one, or the enum name (SEVERITY_NUMBER_INFO)',
      }),
    ),
    severityText: Type.Optional(Type.String()),
    body: Type.Optional(AnyValueSchema),
    attributes: Type.Optional(Type.Array(KeyValueSchema, { description: 'logagg.topic sets the topic; log.record.uid the event_id' })),
    eventName: Type.Optional(Type.String()),
    flags: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String()], { description: 'uint32: a number or a string holding one' }),
    ),
    traceId: Type.Optional(Type.String({ description: 'hex' })),
    spanId: Type.Optional(Type.String({ description: 'hex' })),
  },
  { additionalProperties: true },
);

/** POST /v1/logs body: an OTLP/JSON ExportLogsServiceRequest. */
export const ExportLogsRequestSchema = Type.Object(
  {
    resourceLogs: Type.Optional(
      Type.Array(
        Type.Object(
          {
            resource: Type.Optional(Type.Object({ attributes: Type.Optional(Type.Array(KeyValueSchema)) }, { additionalProperties: true })),
            scopeLogs: Type.Optional(
              Type.Array(
                Type.Object(
                  {
                    scope: Type.Optional(
                      Type.Object(
                        {
                          name: Type.Optional(Type.String()),
                          version: Type.Optional(Type.String()),
                          attributes: Type.Optional(Type.Array(KeyValueSchema)),
                        },
                        { additionalProperties: true },
                      ),
                    ),
                    logRecords: Type.Optional(Type.Array(LogRecordSchema)),
                  },
                  { additionalProperties: true },
                ),
              ),
            ),
          },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  { additionalProperties: true, $id: 'OtlpExportLogsRequest' },
);

/** The OTLP ExportLogsServiceResponse: `{}` when every record was stored, partialSuccess when some were rejected. */
export const ExportLogsResponseSchema = Type.Object(
  {
    partialSuccess: Type.Optional(
      Type.Object({
        rejectedLogRecords: Type.Integer({ description: 'Records not stored (the others were committed)' }),
        errorMessage: Type.String({ description: 'Why: the first few rejected records, by JSON path' }),
      }),
    ),
  },
  { $id: 'OtlpExportLogsResponse' },
);
export type ExportLogsResponse = Static<typeof ExportLogsResponseSchema>;

/**
 * Every 4xx/5xx answer of POST /v1/logs: a google.rpc.Status in its JSON encoding, as the OTLP/HTTP spec asks
 * (docs/integrations.md). The HTTP status and Retry-After are those of logagg's other routes.
 */
export const OtlpStatusSchema = Type.Object(
  {
    code: Type.Integer({
      description:
        'gRPC status code: 3 INVALID_ARGUMENT (400, 413, 415), 16 UNAUTHENTICATED (401), 14 UNAVAILABLE (503), 13 INTERNAL (500)',
    }),
    message: Type.String({ description: 'logagg error code (docs/errors.md), a colon, then the message, e.g. "INVALID_OTLP: ..."' }),
    details: Type.Array(Type.Unknown(), { description: 'Always empty' }),
  },
  { $id: 'OtlpStatus' },
);
export type OtlpStatus = Static<typeof OtlpStatusSchema>;
