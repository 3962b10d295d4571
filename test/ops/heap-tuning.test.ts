import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EMBEDDED_HEAP_GROWING_PERCENT, tuneHeap } from '../../src/heap-tuning.js';
import { spawnServer } from '../helpers/process.js';
import { freshStore, storeKinds } from '../helpers/stores.js';

describe('V8 heap steps follow the store', { timeout: 180_000 }, () => {
  test('the embedded store gets 20% steps; PostgreSQL and an operator-set flag are left alone', () => {
    const set: string[] = [];
    const setFlags = (flags: string): void => void set.push(flags);
    assert.deepEqual(tuneHeap({ databaseUrl: 'postgres://postgres@127.0.0.1/test' }, [], setFlags), { heapGrowingPercent: 'postgres' });
    const spellings = [
      ['--heap-growing-percent=0'],
      ['--heap-growing-percent', '35'],
      ['--heap_growing_percent=35'],
      ['--heap_growing-percent=35'],
    ];
    for (const operator of spellings) {
      assert.deepEqual(tuneHeap({ databaseUrl: undefined }, ['--enable-source-maps', ...operator], setFlags), {
        heapGrowingPercent: 'operator',
      });
    }
    assert.deepEqual(set, []);
    assert.deepEqual(tuneHeap({ databaseUrl: undefined }, ['--heap_growing_percent_x=1'], setFlags), { heapGrowingPercent: 20 });
    assert.deepEqual(set, [`--heap-growing-percent=${EMBEDDED_HEAP_GROWING_PERCENT}`]);
    assert.equal(EMBEDDED_HEAP_GROWING_PERCENT, 20);
  });

  for (const kind of storeKinds()) {
    test(`the server process says what it set at start (${kind})`, async (t) => {
      const location = await freshStore(kind);
      t.after(() => location.destroy());
      const server = await spawnServer(location, { LOG_LEVEL: 'info' });
      server.child.kill('SIGTERM');
      await server.exited;
      const line = server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; heapGrowingPercent?: unknown })
        .find((entry) => entry.msg === 'V8 heap steps');
      assert.deepEqual(line?.heapGrowingPercent, kind === 'pglite' ? 20 : 'postgres', server.output());
    });
  }
});
