import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planStream, type StreamOptions } from '../../src/cli/publish-stream.js';

const base: StreamOptions = {
  events: 10_000,
  dupRate: 0.3,
  topics: 5,
  seed: 1,
  payloadBytes: 50,
  batch: 100,
  concurrency: 8,
  topicPrefix: 'p',
};

describe('publisher stream', () => {
  test('the same seed plans the same stream, byte for byte', () => {
    const a = planStream(base);
    const b = planStream(base);
    assert.deepEqual(a.order, b.order);
    for (const i of [0, 17, a.distinct - 1])
      assert.equal(
        JSON.stringify(a.eventAt(i)).replace(/"timestamp":"[^"]+"/, ''),
        JSON.stringify(b.eventAt(i)).replace(/"timestamp":"[^"]+"/, ''),
      );
    assert.notDeepEqual(planStream({ ...base, seed: 2 }).order, a.order);
  });

  test('the dup rate sets how many copies are re-sends, and every re-send follows its original', () => {
    const stream = planStream(base);
    assert.equal(stream.order.length, 10_000);
    assert.equal(stream.distinct, 7000);
    const firstAt = new Map<number, number>();
    stream.order.forEach((index, position) => {
      if (!firstAt.has(index)) firstAt.set(index, position);
    });
    assert.equal(firstAt.size, 7000);
    // Originals go out in index order, so a copy of i can never come before i itself.
    for (let i = 1; i < 7000; i++) assert.ok((firstAt.get(i) as number) > (firstAt.get(i - 1) as number));
  });

  test('re-sends land in the same request, within the in-flight window, and much later', () => {
    const stream = planStream(base);
    const firstAt = new Map<number, number>();
    const gaps = { sameBatch: 0, inFlight: 0, later: 0 };
    stream.order.forEach((index, position) => {
      const first = firstAt.get(index);
      if (first === undefined) return void firstAt.set(index, position);
      if (Math.floor(first / base.batch) === Math.floor(position / base.batch)) gaps.sameBatch++;
      else if (position - first <= base.batch * base.concurrency) gaps.inFlight++;
      else gaps.later++;
    });
    assert.ok(gaps.sameBatch > 300 && gaps.inFlight > 300 && gaps.later > 300, JSON.stringify(gaps));
  });

  test('copies of an event are identical, and events carry the run prefix in topic and id', () => {
    const stream = planStream(base);
    const event = stream.eventAt(5);
    assert.deepEqual(stream.eventAt(5), event);
    assert.equal(event.event_id, 'p-5');
    assert.match(event.topic, /^p\.topic-[1-5]$/);
    assert.equal((event.payload as { content: string }).content.length, 50);
  });
});
