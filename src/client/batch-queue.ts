/**
 * The events waiting for a batch, in publish order. A head index instead of `queue.slice(batchMax)` per batch: that
 * copied the whole backlog for every batch taken, quadratic under a deep queue (200,000 waiting events in batches
 * of 500 meant ~40 million element copies). Taking a batch copies only the batch; the consumed front is dropped
 * once it is most of the array, so each element is copied O(1) times overall.
 */
export class BatchQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The oldest waiting item, or undefined when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes and returns the oldest `max` items (fewer if fewer wait). */
  take(max: number): T[] {
    if (this.head === 0 && this.items.length <= max) {
      const all = this.items;
      this.items = [];
      return all;
    }
    const end = Math.min(this.items.length, this.head + max);
    const batch = this.items.slice(this.head, end);
    this.head = end;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Amortized: at least as many items were taken since the last compaction as are copied now.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return batch;
  }
}
