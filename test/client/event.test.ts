import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEvent, newEventId } from '../../src/client/index.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('client events', () => {
  test('event ids are UUIDv7: version 7, RFC 9562 variant, creation milliseconds in the first 48 bits', () => {
    const now = Date.now();
    const id = newEventId(now + 10);
    assert.match(id, UUID_V7);
    assert.equal(millisOf(id), now + 10);
  });

  test('event ids are unique and strictly increasing, as strings, within a process', () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok((ids[i - 1] as string) < (ids[i] as string), `${ids[i - 1]} !< ${ids[i]}`);
    assert.ok(ids.every((id) => UUID_V7.test(id)));
  });

  test('thousands of ids in one millisecond stay in order, moving to the next millisecond when the counter is full', () => {
    const at = Date.now() + 60_000;
    const ids = Array.from({ length: 5000 }, () => newEventId(at));
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(millisOf(ids[0] as string), at);
    assert.ok(millisOf(ids.at(-1) as string) > at, 'the 12-bit counter cannot hold 5000 ids in one millisecond');
  });

  test('a clock that steps back does not break the order', () => {
    const before = newEventId(Date.now() + 120_000);
    const after = newEventId(Date.now());
    assert.ok(before < after);
    assert.match(after, UUID_V7);
  });

  test('an event gets its id and an RFC 3339 UTC timestamp at creation, so resends are the same event', () => {
    const event = createEvent({ topic: 'orders', source: 'shop', payload: { total: 3 } });
    assert.match(event.event_id, UUID_V7);
    assert.match(event.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(JSON.parse(JSON.stringify(event)), event);
    assert.equal(createEvent({ topic: 't', source: 's', event_id: 'fixed' }).event_id, 'fixed');
  });
});
