import assert from 'node:assert/strict';
import type { OtlpStatus } from '../../src/schema/otlp.js';
import type { Reply } from '../helpers/events.js';

// Builders of OTLP/JSON requests, and the check of an error answer, shared by the test/otlp suites.

export type Json = Record<string, unknown>;
export const str = (value: string) => ({ stringValue: value });
export const kv = (key: string, value: Json) => ({ key, value });

/** One ExportLogsServiceRequest with one resource and one scope. */
export const logs = (resource: Json[], records: Json[], scope: Json = { name: 'test-scope', version: '1.2.3' }): Json => ({
  resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ scope, logRecords: records }] }],
});

/**
 * An error answer of POST /v1/logs is a google.rpc.Status and nothing else (OTLP/HTTP): exactly code, message,
 * details; the gRPC code that goes with the HTTP status; logagg's error code leading the message.
 */
export function assertStatus(reply: Reply<unknown>, httpStatus: number, grpcCode: number, logaggCode: string): OtlpStatus {
  const body = reply.body as OtlpStatus;
  assert.equal(reply.status, httpStatus, JSON.stringify(body));
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message']);
  assert.equal(body.code, grpcCode);
  assert.ok(body.message.startsWith(`${logaggCode}: `), `message "${body.message}" does not start with ${logaggCode}`);
  assert.deepEqual(body.details, []);
  return body;
}
