import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredEvent } from '../../src/schema/event.js';
import type { ExportLogsResponse } from '../../src/schema/otlp.js';
import type { Stats } from '../../src/schema/stats.js';
import { get, post, uniqueTopic } from '../helpers/events.js';
import { serverForSuite } from '../helpers/server.js';
import { assertStatus, type Json, kv, logs, str } from './otlp.js';

// The proto3 JSON mapping lets numbers arrive as strings and enums as names; OTLP/JSON senders other than the
// JS SDK (the Collector, protobuf-generated encoders) use those forms. Decoding does not depend on the store.
type OtlpEvent = Omit<StoredEvent, 'payload'> & { payload: Record<string, unknown> };

describe('POST /v1/logs reads every proto3 JSON form of numbers and enums', { timeout: 60_000 }, () => {
  const server = serverForSuite('pglite');
  const send = (body: Json) => post<ExportLogsResponse>(`${server.url}/v1/logs`, body);
  const storedIn = async (topic: string) => (await get<OtlpEvent[]>(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).body;
  const counts = async (topic: string) => {
    const c = (await get<Stats>(`${server.url}/stats?topic=${encodeURIComponent(topic)}`)).body.per_topic[topic];
    return c && [c.received, c.unique_processed, c.duplicate_dropped];
  };

  test('doubles as numeric strings or NaN/Infinity, 32-bit ints as strings, severityNumber as a name', async () => {
    const topic = uniqueTopic('proto3');
    const doubles = [kv('half', { doubleValue: '1.5' }), kv('exp', { doubleValue: '2.5e3' }), kv('neg', { doubleValue: -0.25 })];
    const nonFinite = [
      kv('nan', { doubleValue: 'NaN' }),
      kv('inf', { doubleValue: 'Infinity' }),
      kv('ninf', { doubleValue: '-Infinity' }),
      kv('huge', { doubleValue: '1e999' }),
    ];
    const reply = await send(
      logs(
        [kv('service.name', str(topic))],
        [
          { eventName: 'a', body: { doubleValue: '1.5' }, severityNumber: '9', flags: '1' },
          { eventName: 'b', body: { kvlistValue: { values: [...doubles, ...nonFinite] } }, severityNumber: 'SEVERITY_NUMBER_WARN3' },
          { eventName: 'c', severityNumber: 'SEVERITY_NUMBER_INFO', flags: '4294967295' },
          { eventName: 'd', severityNumber: 'SEVERITY_NUMBER_UNSPECIFIED', flags: '1e0' },
        ],
      ),
    );
    assert.deepEqual([reply.status, reply.body], [200, {}]);
    const byName = new Map((await storedIn(topic)).map((e) => [e.payload.event_name, e.payload]));
    assert.deepEqual([byName.get('a')?.body, byName.get('a')?.severity_number, byName.get('a')?.flags], [1.5, 9, 1]);
    // JSON has no number for NaN and the infinities: the payload keeps proto3 JSON's strings for them.
    assert.deepEqual(byName.get('b')?.body, {
      half: 1.5,
      exp: 2500,
      neg: -0.25,
      nan: 'NaN',
      inf: 'Infinity',
      ninf: '-Infinity',
      huge: 'Infinity',
    });
    assert.equal(byName.get('b')?.severity_number, 15);
    assert.deepEqual([byName.get('c')?.severity_number, byName.get('c')?.flags], [9, 4294967295]);
    assert.deepEqual([byName.get('d')?.severity_number, byName.get('d')?.flags], [0, 1]);
  });

  test('the event_id hash reads the value, not its spelling: 9, "9" and SEVERITY_NUMBER_INFO, 1.5 and "1.5" are the same record', async () => {
    const topic = uniqueTopic('proto3-hash');
    const record = (severityNumber: unknown, ratio: unknown) => ({
      timeUnixNano: '1700000000000000000',
      severityNumber,
      body: str('same'),
      attributes: [kv('ratio', { doubleValue: ratio })],
    });
    await send(logs([kv('service.name', str(topic))], [record(9, 1.5), record('9', '1.5'), record('SEVERITY_NUMBER_INFO', 1.5)]));
    assert.deepEqual(await counts(topic), [3, 1, 2]);
    await send(logs([kv('service.name', str(topic))], [record('SEVERITY_NUMBER_INFO2', 1.5), record(9, 'NaN')]));
    assert.deepEqual(await counts(topic), [5, 3, 2]);
  });

  test('what proto3 JSON does not allow still gets 400 INVALID_OTLP, naming the field, and nothing is stored', async () => {
    const topic = uniqueTopic('proto3-bad');
    const bad: Array<[Json, string]> = [
      [{ severityNumber: 'SEVERITY_NUMBER_LOUD' }, 'severityNumber'],
      [{ severityNumber: '9.5' }, 'severityNumber'],
      [{ severityNumber: 2 ** 31 }, 'severityNumber'],
      [{ flags: '-1' }, 'flags'],
      [{ flags: 2 ** 32 }, 'flags'],
      [{ flags: '0x1' }, 'flags'],
      [{ flags: '' }, 'flags'],
      [{ body: { doubleValue: '1.5abc' } }, 'body/doubleValue'],
      [{ body: { doubleValue: ' 1.5' } }, 'body/doubleValue'],
      [{ body: { doubleValue: 'nan' } }, 'body/doubleValue'],
      [{ body: { doubleValue: true } }, 'body/doubleValue'],
    ];
    for (const [fields, field] of bad) {
      const reply = await send(logs([kv('service.name', str(topic))], [{ body: str('fine') }, { body: str('x'), ...fields }]));
      const status = assertStatus(reply, 400, 3, 'INVALID_OTLP');
      assert.ok(status.message.includes(`/logRecords/1/${field}: `), `${JSON.stringify(fields)}: ${status.message}`);
    }
    assert.equal(await counts(topic), undefined);
  });
});
