import type { StoreKind } from '../schema/store-kind.js';

/** The little the shared SQL needs from a database driver; engines differ only below this line. */
export type QueryFn = <R>(text: string, params?: readonly unknown[]) => Promise<R[]>;

export interface Engine {
  readonly kind: StoreKind;
  /** How many batch transactions may usefully run at once. */
  readonly writers: number;
  query: QueryFn;
  /** Runs several ;-separated statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  transaction<T>(fn: (query: QueryFn, exec: (text: string) => Promise<void>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Rejects with STORE_FULL when a write should not be tried now (the embedded store's MIN_FREE_DISK_MB). */
  checkWritable?(): Promise<void>;
}
