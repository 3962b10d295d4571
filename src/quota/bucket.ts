/**
 * A token bucket: `rate` tokens a second flow into a bucket that holds at most `burst`. Refilled lazily from the
 * clock on each look, so an idle tenant costs nothing between requests. Time is passed in (seconds, monotonic),
 * so a test can move it without waiting.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    // A clock that steps back (it should not: performance.now) adds nothing rather than taking tokens away.
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.rate);
      this.#at = now;
    }
  }

  /**
   * Seconds until a request costing `cost` may pass; 0 when it may pass now. A request larger than the whole
   * bucket passes once the bucket is full and leaves it in debt (so its size is still paid for at `rate`): else a
   * request over the burst could never pass, whatever the wait.
   */
  wait(cost: number, now: number): number {
    this.#refill(now);
    const need = Math.min(cost, this.burst);
    return this.#tokens >= need ? 0 : (need - this.#tokens) / this.rate;
  }

  /** Takes `cost` tokens (after `wait` said 0, or for bytes already read); the bucket may go into debt. */
  take(cost: number, now: number): void {
    this.#refill(now);
    this.#tokens -= cost;
  }

  /** Whether the bucket has refilled to full by `now`: such a bucket is the same as a new one, and may be dropped. */
  fullAt(now: number): boolean {
    return this.#tokens + (now - this.#at) * this.rate >= this.burst;
  }
}
