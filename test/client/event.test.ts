import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEvent, newEventId } from '../../src/client/index.js';

describe('client events', () => {
  test('event ids are unique and sort by creation within a process', () => {
    const ids = Array.from({ length: 10_000 }, () => newEventId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });

  test('an event gets its id and an RFC 3339 UTC timestamp at creation, so resends are the same event', () => {
    const event = createEvent({ topic: 'orders', source: 'shop', payload: { total: 3 } });
    assert.match(event.event_id, /^[0-9a-f]{12}-[0-9a-f]{4}-[0-9a-f]{16}$/);
    assert.match(event.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(JSON.parse(JSON.stringify(event)), event);
    assert.equal(createEvent({ topic: 't', source: 's', event_id: 'fixed' }).event_id, 'fixed');
  });
});
