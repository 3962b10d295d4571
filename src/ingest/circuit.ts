/** What the circuit lets a batch do: go to the store, go as the one probe, or be refused without trying. */
export type Admission = 'pass' | 'probe' | 'refuse';

/**
 * A circuit breaker in front of the store. While the store is away (it refused connections or did not answer
 * within STORE_TIMEOUT_MS), sending it every batch only makes each request wait out the deadline and piles
 * stuck statements onto a database that cannot take them. So after one such failure the circuit opens: batches
 * are refused at once (503 + Retry-After, nothing was sent, so a retry is safe), and one probe batch per
 * interval goes through to find out whether the store is back. The first answer closes it — the probe's or a
 * late answer of a batch that was given up on, since either proves the store answers again.
 */
export class Circuit {
  private openedAt: number | undefined;
  private lastProbeAt = 0;
  private probing = false;

  constructor(
    private readonly probeIntervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get isOpen(): boolean {
    return this.openedAt !== undefined;
  }

  /** Asks to send a batch; a 'probe' must be reported back through failed(true) or answered(true). */
  admit(): Admission {
    if (this.openedAt === undefined) return 'pass';
    const now = this.now();
    // One probe at a time: a second one would only wait on the same silent store.
    if (this.probing || now - this.lastProbeAt < this.probeIntervalMs) return 'refuse';
    this.probing = true;
    this.lastProbeAt = now;
    return 'probe';
  }

  /** The store was away for a batch (unreachable, or no answer before the deadline). True when this opened it. */
  failed(probe: boolean): boolean {
    if (probe) this.probing = false;
    if (this.openedAt !== undefined) return false;
    this.openedAt = this.now();
    this.lastProbeAt = this.openedAt;
    return true;
  }

  /** The store answered (a commit, or a refusal of one statement: it is there). True when this closed it. */
  answered(probe: boolean): boolean {
    if (probe) this.probing = false;
    if (this.openedAt === undefined) return false;
    this.openedAt = undefined;
    this.probing = false;
    return true;
  }
}
