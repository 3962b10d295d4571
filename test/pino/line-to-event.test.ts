import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { lineTimestamp, lineToEvent } from '../../src/pino/line-to-event.js';

describe('logagg/pino line mapping', () => {
  test('a line becomes one event: options topic, a fresh UUIDv7, the line time, its hostname, the whole line as payload', () => {
    const line = { level: 30, time: Date.parse('2025-10-21T10:00:00.123Z'), pid: 7, hostname: 'web-1', msg: 'paid', topic: 'kafka.orders' };
    const event = lineToEvent(line, { topic: 'checkout' });
    assert.deepEqual(
      { ...event, event_id: '' },
      { topic: 'checkout', event_id: '', timestamp: '2025-10-21T10:00:00.123Z', source: 'web-1', payload: line },
    );
    assert.match(event.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    assert.notEqual(lineToEvent(line, { topic: 'checkout' }).event_id, event.event_id, 'each line received is a new event');
  });

  test('topicKey takes the topic from the line when it holds a non-empty string, else the options topic', () => {
    assert.equal(lineToEvent({ topic: 'audit' }, { topic: 'app', topicKey: 'topic' }).topic, 'audit');
    assert.equal(lineToEvent({ topic: '' }, { topic: 'app', topicKey: 'topic' }).topic, 'app');
    assert.equal(lineToEvent({ topic: 42 }, { topic: 'app', topicKey: 'topic' }).topic, 'app');
  });

  test('the source option wins; without it and without a hostname in the line, this machine name', () => {
    assert.equal(lineToEvent({ hostname: 'web-1' }, { topic: 't', source: 'billing' }).source, 'billing');
    assert.equal(lineToEvent({}, { topic: 't' }).source, hostname());
  });

  test('time is read as epoch milliseconds, epoch seconds or a date string; anything else falls back to now', () => {
    assert.equal(lineTimestamp(1_761_040_800_000), '2025-10-21T10:00:00.000Z');
    assert.equal(lineTimestamp(1_761_040_800.5), '2025-10-21T10:00:00.500Z');
    assert.equal(lineTimestamp('2025-10-21T12:00:00+02:00'), '2025-10-21T10:00:00.000Z');
    assert.equal(lineTimestamp('soon'), undefined);
    assert.equal(lineTimestamp(undefined), undefined);
    assert.equal(lineTimestamp(Number.MAX_VALUE), undefined);
    const before = Date.now();
    const stamped = Date.parse(lineToEvent({ time: 'soon' }, { topic: 't' }).timestamp);
    assert.ok(stamped >= before && stamped <= Date.now());
  });
});
