import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeLogsRequest } from '../../src/inlets/otlp/decode.js';
import { decodeExportLogsMessage, encodeExportLogsRequest, longText, messageToJson } from '../../src/inlets/otlp/proto.js';
import { recordsOfMessage } from '../../src/inlets/otlp/proto-records.js';
import { type Json, kv, logs, str } from './otlp.js';

// The protobuf fast path (straight from the protobufjs message to DecodedRecords) must give exactly what the
// OTLP/JSON-shaped path gives for the same bytes: same records, same plain and canon values, same paths.

function bothWays(request: Json): void {
  const message = decodeExportLogsMessage(encodeExportLogsRequest(request), 10_000);
  const fast = recordsOfMessage(message, longText);
  assert.ok(fast, 'the fast path takes the request');
  assert.deepStrictEqual(fast, decodeLogsRequest(messageToJson(message), 10_000));
}

test('edge values decode the same straight from protobuf as through the OTLP/JSON shape', () => {
  const values: Json[] = [
    str(''),
    str('x'),
    { boolValue: false },
    { intValue: '0' },
    { intValue: '-5' },
    { intValue: '1000000000000000' }, // 16 digits, still a safe integer
    { intValue: '9007199254740993' }, // past 2^53
    { intValue: '-9223372036854775808' },
    { doubleValue: 0 },
    { doubleValue: -1.5 },
    { doubleValue: 'NaN' },
    { doubleValue: '-Infinity' },
    { bytesValue: '' },
    { bytesValue: 'AAEC' },
    { arrayValue: {} },
    { arrayValue: { values: [str('a'), {}, { intValue: '7' }] } },
    { kvlistValue: { values: [kv('__proto__', str('p')), kv('b', {}), { key: 'no-value' }, kv('a', { kvlistValue: {} })] } },
    {},
  ];
  const attributes = values.map((value, i) => kv(`k${i % 5}`, value));
  bothWays(
    logs(
      [kv('service.name', str('svc')), kv('__proto__', str('x'))],
      [
        {},
        { timeUnixNano: '0', observedTimeUnixNano: '18446744073709551615', severityNumber: 0, severityText: '', eventName: '' },
        {
          timeUnixNano: '1700000000123456789',
          severityNumber: 9,
          flags: 1,
          traceId: '5b8efff798038103d269b633813fc60c',
          spanId: 'eee19b7ec3c1b174',
        },
        ...values.map((body) => ({ body, attributes })),
      ],
      {},
    ),
  );
  bothWays({ resourceLogs: [{}, { scopeLogs: [{}, { logRecords: [{}] }] }] });
});

test('a value nested too deep is left to the OTLP/JSON-shaped path', () => {
  let value: Json = str('x');
  for (let i = 0; i < 65; i++) value = { arrayValue: { values: [value] } };
  const message = decodeExportLogsMessage(encodeExportLogsRequest(logs([], [{ body: value }])), 10);
  assert.equal(recordsOfMessage(message, longText), undefined);
  assert.equal(decodeLogsRequest(messageToJson(message), 10).length, 1);
});

const anyValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string().map(str),
    fc.boolean().map((boolValue) => ({ boolValue })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({ intValue: n.toString() })),
    fc.double().map((d) => ({ doubleValue: Number.isFinite(d) ? d : String(d) })),
    fc.uint8Array({ maxLength: 8 }).map((b) => ({ bytesValue: Buffer.from(b).toString('base64') })),
    fc.constant({}),
    fc.array(tie('value'), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
    fc.array(fc.tuple(fc.string({ maxLength: 3 }), tie('value')), { maxLength: 3 }).map((pairs) => ({
      kvlistValue: { values: pairs.map(([k, v]) => kv(k, v)) },
    })),
  ),
})).value;

test('random requests decode the same both ways', () => {
  const attributes = fc.array(fc.tuple(fc.string({ maxLength: 3 }), anyValue), { maxLength: 4 }).map((p) => p.map(([k, v]) => kv(k, v)));
  const record = fc.record(
    {
      timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
      severityNumber: fc.integer({ min: 0, max: 24 }),
      severityText: fc.string({ maxLength: 4 }),
      body: anyValue,
      attributes,
      eventName: fc.string({ maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(attributes, fc.array(record, { maxLength: 5 }), (resource, records) => bothWays(logs(resource, records))),
    { numRuns: 300 },
  );
});
