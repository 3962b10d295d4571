import { type Json, kv, str } from './otlp.js';

// Representative OTLP requests whose mapping (event_id, timestamp, payload) is pinned by event-id-pin.test.ts:
// every AnyValue type, key order and repeated keys, __proto__ as a key, all the timestamp fallbacks, upper-case
// ids, several resources and scopes, and records that are rejected.
const int = (value: string | number) => ({ intValue: value });
const dbl = (value: string | number) => ({ doubleValue: value });
const arr = (...values: Json[]) => ({ arrayValue: { values } });
const kvl = (...values: Json[]) => ({ kvlistValue: { values } });

export const PIN_REQUEST: Json = {
  resourceLogs: [
    {
      resource: {
        attributes: [kv('service.name', str('checkout')), kv('host.name', str('h1')), kv('k8s.pod.uid', str('abc')), kv('n', int('42'))],
      },
      scopeLogs: [
        {
          scope: { name: 'lib.a', version: '1.0', attributes: [kv('s2', str('x')), kv('s1', { boolValue: true })] },
          logRecords: [
            {
              timeUnixNano: '1700000000123456789',
              observedTimeUnixNano: '1700000000223456789',
              severityNumber: 9,
              severityText: 'INFO',
              body: str('hello wörld ✓'),
              attributes: [
                kv('zeta', int('9223372036854775807')),
                kv('alpha', int(-5)),
                kv('pi', dbl(3.14159)),
                kv('nan', dbl('NaN')),
                kv('inf', dbl('-Infinity')),
                kv('b', { bytesValue: 'AAEC' }),
                kv('empty', {}),
                kv('__proto__', str('data')),
                kv('dup', str('first')),
                kv('dup', str('second')),
              ],
              traceId: '5B8EFFF798038103D269B633813FC60C',
              spanId: 'EEE19B7EC3C1B174',
              flags: 1,
              eventName: 'order.placed',
            },
            {
              observedTimeUnixNano: 1700000001000000000,
              severityNumber: 'SEVERITY_NUMBER_WARN2',
              body: kvl(kv('nested', arr(str('a'), int(1), kvl(kv('deep', { boolValue: false })))), kv('a', { stringValue: '' })),
            },
            { body: arr(dbl('1e2'), int('1'), str('1')) },
            { timeUnixNano: '1', attributes: [kv('log.record.uid', str('my-own-id')), kv('logagg.topic', str('chosen'))] },
            { timeUnixNano: '1700000002000000000', attributes: [kv('logagg.topic', int(5))] },
            { timeUnixNano: '1700000002000000000', attributes: [kv('log.record.uid', { boolValue: true })] },
          ],
        },
        { logRecords: [{ timeUnixNano: '1700000003000000000', body: str('no scope') }, { timeUnixNano: '999999999999999999' }] },
      ],
    },
    {
      resource: { attributes: [kv('host.name', str('only-host'))] },
      scopeLogs: [{ scope: { name: 'lib.b' }, logRecords: [{ timeUnixNano: '1700000004000000001', body: int(7), severityText: 'x' }] }],
    },
    { scopeLogs: [{ logRecords: [{ timeUnixNano: '1700000005000000000', body: { boolValue: true } }] }] },
  ],
};

/** The receive time (ms) of the records that carry neither time. */
export const PIN_RECEIVED_AT = 1_700_000_009_000;
