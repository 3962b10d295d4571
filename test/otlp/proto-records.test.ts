import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { type DecodedRecord, decodeLogsRequest, type RejectedRecord } from '../../src/inlets/otlp/decode.js';
import { encodeExportLogsRequest, exportLogsRequestType } from '../../src/inlets/otlp/proto.js';
import { decodeProtobufLogs } from '../../src/inlets/otlp/proto-records.js';
import { RECURSION_LIMIT } from '../../src/inlets/otlp/proto-values.js';
import { type Json, kv, logs, str } from './otlp.js';

// The hand-written wire reader (src/inlets/otlp/proto-records.ts) against the reference it replaced: protobufjs 8
// decoding the same bytes, its message turned into OTLP/JSON by protobufjs's own toObject, read by decode.ts. Same
// records, same plain and canon values, same rejections and paths; and what one refuses, the other refuses.

protobuf.util.recursionLimit = RECURSION_LIMIT;
protobuf.Reader.recursionLimit = RECURSION_LIMIT;

const MAX = 10_000;
type Records = Array<DecodedRecord | RejectedRecord>;

/** protobufjs's reading of the bytes, or 'refused'. */
function reference(bytes: Uint8Array): Records | 'refused' {
  const type = exportLogsRequestType();
  let json: Json;
  try {
    json = type.toObject(type.decode(bytes), { longs: String, enums: Number, bytes: String, defaults: false });
  } catch {
    return 'refused';
  }
  // OTLP/JSON writes trace and span ids in hex, where proto3 JSON (toObject) writes base64.
  for (const resourceLogs of (json.resourceLogs as Json[] | undefined) ?? []) {
    for (const scopeLogs of (resourceLogs.scopeLogs as Json[] | undefined) ?? []) {
      for (const record of (scopeLogs.logRecords as Json[] | undefined) ?? []) {
        for (const key of ['traceId', 'spanId']) {
          if (typeof record[key] === 'string') record[key] = Buffer.from(record[key], 'base64').toString('hex');
        }
      }
    }
  }
  return decodeLogsRequest(json, MAX);
}

function ours(bytes: Uint8Array): Records | 'refused' {
  try {
    return decodeProtobufLogs(bytes, MAX);
  } catch (err) {
    if (err instanceof Error && err.name === 'ProtobufDecodeError') return 'refused';
    throw err;
  }
}

function same(bytes: Uint8Array): void {
  assert.deepStrictEqual(ours(bytes), reference(bytes));
}

const bothWays = (request: Json): void => same(encodeExportLogsRequest(request));

test('edge values decode as protobufjs decodes them', () => {
  const values: Json[] = [
    str(''),
    str('x'),
    str('\uFEFFbom é 😀'),
    { boolValue: false },
    { intValue: '0' },
    { intValue: '-5' },
    { intValue: '1000000000000000' }, // 16 digits, still a safe integer
    { intValue: '9007199254740993' }, // past 2^53
    { intValue: '-9223372036854775808' },
    { intValue: '9223372036854775807' },
    { doubleValue: 0 },
    { doubleValue: -1.5 },
    { doubleValue: 'NaN' },
    { doubleValue: '-Infinity' },
    { bytesValue: '' },
    { bytesValue: 'AAEC' },
    { arrayValue: {} },
    { arrayValue: { values: [str('a'), {}, { intValue: '7' }] } },
    { kvlistValue: { values: [kv('__proto__', str('p')), kv('b', {}), { key: 'no-value' }, kv('a', { kvlistValue: {} })] } },
    { stringValueStrindex: 3 },
    {},
  ];
  const attributes = values.map((value, i) => kv(`k${i % 5}`, value));
  bothWays(
    logs(
      [kv('service.name', str('svc')), kv('__proto__', str('x'))],
      [
        {},
        { timeUnixNano: '0', observedTimeUnixNano: '18446744073709551615', severityNumber: 0, severityText: '', eventName: '' },
        { timeUnixNano: '9007199254740993', observedTimeUnixNano: '9223372036854775808', severityNumber: -3 },
        {
          timeUnixNano: '1700000000123456789',
          severityNumber: 9,
          flags: 4294967295,
          traceId: '5b8efff798038103d269b633813fc60c',
          spanId: 'eee19b7ec3c1b174',
        },
        ...values.map((body) => ({ body, attributes })),
      ],
      { name: 'n', version: 'v', attributes: [kv('s', str('x'))], droppedAttributesCount: 2 },
    ),
  );
  bothWays({ resourceLogs: [{}, { schemaUrl: 'u', scopeLogs: [{}, { schemaUrl: 'u', logRecords: [{}] }] }] });
  bothWays({
    resourceLogs: [{ resource: { entityRefs: [{ schemaUrl: 's', type: 't', idKeys: ['a'], descriptionKeys: ['b'] }] }, scopeLogs: [{}] }],
  });
});

const nested = (depth: number, wrap: (value: Json) => Json): Json => {
  let value: Json = str('x');
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
};
const inArray = (value: Json): Json => ({ arrayValue: { values: [str('before'), value] } });
const inKvlist = (value: Json): Json => ({ kvlistValue: { values: [kv('k', value)] } });

test('a value nested too deep rejects its record with the same path; deeper still refuses the request', () => {
  // Around the limit (a body is at depth 1, an attribute's value at 2): an array nests one level, a kvlist two.
  for (const [depths, wrap] of [
    [[63, 64, 65], inArray],
    [[31, 32, 33], inKvlist],
  ] as const) {
    for (const depth of depths) {
      const deep = nested(depth, wrap);
      bothWays(
        logs(
          [],
          [{ body: deep }, { attributes: [kv('ok', str('1')), kv('deep', deep)] }, { body: deep, attributes: [kv('deep', deep)] }, {}],
        ),
      );
      bothWays(logs([kv('deep', deep)], [{}, {}]));
      bothWays(logs([], [{}, {}], { attributes: [kv('deep', deep)] }));
    }
  }
  // Past the nesting limit (written by hand: protobufjs's encoder has the limit too), the request is refused.
  // The body's AnyValue is message 4 (request 0, resource, scope, record), each array level two more.
  const deepest = (RECURSION_LIMIT - 4) / 2;
  for (const levels of [deepest, deepest + 1]) {
    let value: Buffer = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue { string_value: "x" }
    for (let i = 0; i < levels; i++) value = field(5, field(1, value)); // AnyValue { array_value { values } }
    const bytes = field(1, field(2, field(2, field(5, value))));
    assert.equal(ours(bytes) === 'refused', levels > deepest);
    same(bytes);
  }
});

const anyValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary' }).map(str),
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

const attributes = fc.array(fc.tuple(fc.string({ maxLength: 3 }), anyValue), { maxLength: 4 }).map((p) => p.map(([k, v]) => kv(k, v)));
const hexId = (bytes: number) => fc.uint8Array({ minLength: 0, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const record = fc.record(
  {
    timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
    observedTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
    severityNumber: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    severityText: fc.string({ maxLength: 4 }),
    body: anyValue,
    attributes,
    droppedAttributesCount: fc.nat(),
    flags: fc.nat({ max: 2 ** 32 - 1 }),
    traceId: hexId(16),
    spanId: hexId(8),
    eventName: fc.string({ maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const scope = fc.record({ name: fc.string({ maxLength: 3 }), version: fc.string({ maxLength: 3 }), attributes }, { requiredKeys: [] });
const request = fc
  .array(
    fc.record({
      resource: attributes,
      scopeLogs: fc.array(fc.record({ scope, logRecords: fc.array(record, { maxLength: 4 }) }), { maxLength: 2 }),
    }),
    { maxLength: 2 },
  )
  .map((list) => ({ resourceLogs: list.map(({ resource, scopeLogs }) => ({ resource: { attributes: resource }, scopeLogs })) }));

test('random requests decode as protobufjs decodes them', () => {
  fc.assert(fc.property(request, bothWays), { numRuns: 300 });
});

test('two messages concatenated are one, merged (proto3): repeated fields append, singular ones merge or the last wins', () => {
  // Two requests back to back: their resource_logs lists, appended.
  fc.assert(
    fc.property(request, request, (a, b) => same(Buffer.concat([encodeExportLogsRequest(a), encodeExportLogsRequest(b)]))),
    { numRuns: 100 },
  );
  // The bytes of one LogRecord followed by another's, inside one log_records field: one record, merged.
  const type = exportLogsRequestType();
  const recordType = type.root.lookupType('opentelemetry.proto.logs.v1.LogRecord');
  const recordBytes = (value: Json): Buffer => {
    const decoded = type.decode(encodeExportLogsRequest(logs([], [value]))) as unknown as {
      resourceLogs: Array<{ scopeLogs: Array<{ logRecords: protobuf.Message[] }> }>;
    };
    return Buffer.from(recordType.encode(decoded.resourceLogs[0]?.scopeLogs[0]?.logRecords[0] as protobuf.Message).finish());
  };
  fc.assert(
    fc.property(record, record, (a, b) => {
      const joined = Buffer.concat([recordBytes(a), recordBytes(b)]);
      same(field(1, field(2, field(2, joined))));
    }),
    { numRuns: 200 },
  );
});

/** A length-delimited field on the wire. */
const field = (number: number, content: Buffer): Buffer =>
  Buffer.concat([Buffer.from([(number << 3) | 2]), varint(content.length), content]);

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 127) {
    bytes.push((n & 127) | 128);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

test('hostile bytes: both refuse, or both read the same records', () => {
  const valid = fc.constantFrom(
    ...[0, 1, 2].map((seed) =>
      encodeExportLogsRequest(
        logs(
          [kv('service.name', str(`svc${seed}`))],
          [
            {
              timeUnixNano: '1700000000000000000',
              severityNumber: 9,
              body: {
                kvlistValue: {
                  values: [
                    kv('msg', str('héllo')),
                    kv('n', { intValue: '-5' }),
                    kv('a', { arrayValue: { values: [{ doubleValue: 1.5 }] } }),
                  ],
                },
              },
              attributes: [kv('b', { boolValue: true }), kv('y', { bytesValue: 'AAEC' })],
              traceId: '5b8efff798038103d269b633813fc60c',
              flags: 1,
            },
          ],
        ),
      ),
    ),
  );
  const mutated = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    valid.chain((bytes) => fc.nat({ max: bytes.length - 1 }).map((cut) => bytes.subarray(0, cut))),
    valid.chain((bytes) =>
      fc
        .array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
        .map((flips) => {
          const copy = Uint8Array.from(bytes);
          for (const [at, mask] of flips) copy[at] = (copy[at] as number) ^ mask;
          return copy;
        }),
    ),
    valid.chain((bytes) =>
      fc
        .tuple(fc.nat({ max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 6 }))
        .map(([at, extra]) => Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)])),
    ),
  );
  fc.assert(fc.property(mutated, same), { numRuns: 4000 });
});

test('more records than allowed: refused as they are met, before the rest is read', () => {
  const bytes = encodeExportLogsRequest(logs([], [{}, {}, {}]));
  assert.equal(decodeProtobufLogs(bytes, 3).length, 3);
  assert.throws(() => decodeProtobufLogs(bytes, 2), { name: 'TooManyRecordsError' });
});
