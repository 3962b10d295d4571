import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchQueue } from '../../src/client/batch-queue.js';

describe('BatchQueue', () => {
  test('takes batches in publish order across compactions, with pushes in between', () => {
    const queue = new BatchQueue<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 37; i++) queue.push(next++);
      const batch = queue.take(round % 7 === 0 ? 1000 : 29);
      for (const value of batch) assert.equal(value, expected++);
      assert.equal(queue.length, next - expected);
      assert.equal(queue.peek(), queue.length > 0 ? expected : undefined);
    }
    while (queue.length > 0) for (const value of queue.take(500)) assert.equal(value, expected++);
    assert.equal(expected, next);
    assert.deepEqual(queue.take(10), []);
    assert.equal(queue.peek(), undefined);
  });

  test('a deep backlog drains in batches without copying the rest per batch', () => {
    const queue = new BatchQueue<number>();
    for (let i = 0; i < 200_000; i++) queue.push(i);
    let taken = 0;
    // Linear, so this is quick; a slice of the rest per batch of 10 took seconds (bench/publisher-queue.ts).
    while (queue.length > 0) taken += queue.take(10).length;
    assert.equal(taken, 200_000);
  });
});
