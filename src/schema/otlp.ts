import { Type, type Static } from 'typebox';

// OTLP/JSON shapes for the OpenAPI document. The route decodes the body itself (src/otlp/decode.ts): AnyValue
// nests, 64-bit integers come as strings or numbers, and unknown fields must be ignored, not refused.

const AnyValueSchema = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'OTLP AnyValue: one of stringValue, boolValue, intValue, doubleValue, bytesValue, arrayValue, kvlistValue',
  },
);

const KeyValueSchema = Type.Object({ key: Type.String(), value: Type.Optional(AnyValueSchema) }, { additionalProperties: true });

const Nanos = (description: string) => Type.String({ pattern: '^[0-9]+$', description: `${description} (uint64 nanoseconds since the epoch, as a decimal string; a number is read too)` });

const LogRecordSchema = Type.Object(
  {
    timeUnixNano: Type.Optional(Nanos('When the event happened; the event timestamp')),
    observedTimeUnixNano: Type.Optional(Nanos('When it was observed; the timestamp when timeUnixNano is 0 or absent')),
    severityNumber: Type.Optional(Type.Integer({ minimum: 0 })),
    severityText: Type.Optional(Type.String()),
    body: Type.Optional(AnyValueSchema),
    attributes: Type.Optional(Type.Array(KeyValueSchema, { description: 'logagg.topic sets the topic; log.record.uid the event_id' })),
    eventName: Type.Optional(Type.String()),
    flags: Type.Optional(Type.Integer({ minimum: 0 })),
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
                        { name: Type.Optional(Type.String()), version: Type.Optional(Type.String()), attributes: Type.Optional(Type.Array(KeyValueSchema)) },
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
