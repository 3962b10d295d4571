// Time to drain a deep publisher backlog through the queue structure alone (no network): the former
// `queue = queue.slice(batchMax)` per batch against BatchQueue's head index. Run: npx tsx bench/publisher-queue.ts
import { BatchQueue } from '../src/client/batch-queue.js';

const EVENTS = 200_000;
const RUNS = 5;

function drainBySlice(items: readonly object[], batchMax: number): number {
  let queue = [...items];
  let batches = 0;
  while (queue.length > 0) {
    const entries = queue.length <= batchMax ? queue : queue.slice(0, batchMax);
    queue = queue.length <= batchMax ? [] : queue.slice(batchMax);
    batches += entries.length > 0 ? 1 : 0;
  }
  return batches;
}

function drainByHead(items: readonly object[], batchMax: number): number {
  const queue = new BatchQueue<object>();
  for (const item of items) queue.push(item);
  let batches = 0;
  while (queue.length > 0) batches += queue.take(batchMax).length > 0 ? 1 : 0;
  return batches;
}

function medianMs(drain: (items: readonly object[], batchMax: number) => number, items: readonly object[], batchMax: number): number {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    drain(items, batchMax);
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

const items = Array.from({ length: EVENTS }, (_, seq) => ({ seq }));
console.log(`| batchMax | slice per batch (ms) | head index (ms) | ${EVENTS.toLocaleString('en')} queued events, median of ${RUNS} |`);
console.log('|---:|---:|---:|---|');
for (const batchMax of [500, 100, 10]) {
  const before = medianMs(drainBySlice, items, batchMax);
  const after = medianMs(drainByHead, items, batchMax);
  console.log(`| ${batchMax} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(before / after).toFixed(0)}× |`);
}
