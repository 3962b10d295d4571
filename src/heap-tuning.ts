import { setFlagsFromString } from 'node:v8';

/**
 * The embedded store's heap steps: V8 grows a heap by a dynamic 1.5–4× after a full collection, and under the
 * embedded store's load that overshoot alone took the process past 250 MiB. 1.2× steps kept it at ~242 MiB with
 * the same ingest; with PostgreSQL the same steps cost up to a tenth of the ingest (more collections at its
 * higher rate), so only the embedded store gets them (docs/performance.md, "Heap steps set at run time").
 */
export const EMBEDDED_HEAP_GROWING_PERCENT = 20;
const FLAG = '--heap-growing-percent';

export interface HeapTuning {
  /** The percent set, or why none was. */
  heapGrowingPercent: number | 'postgres' | 'operator';
}

/**
 * Sets the heap steps for the store this process serves. An operator's own `--heap-growing-percent` on node's
 * command line (node refuses it in NODE_OPTIONS; `=0` restores V8's dynamic steps) wins. V8 reads this flag each
 * time it sizes a heap, so setting it while running takes effect from the next collection, unlike the flags that
 * size the heap.
 */
export function tuneHeap(
  store: { databaseUrl: string | undefined },
  nodeArgs: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): HeapTuning {
  if (store.databaseUrl !== undefined) return { heapGrowingPercent: 'postgres' };
  // Node takes - and _ alike in option names, mixed too.
  if (nodeArgs.some((arg) => (arg.split('=')[0] as string).replaceAll('_', '-') === FLAG)) return { heapGrowingPercent: 'operator' };
  setFlags(`${FLAG}=${EMBEDDED_HEAP_GROWING_PERCENT}`);
  return { heapGrowingPercent: EMBEDDED_HEAP_GROWING_PERCENT };
}
