import { setTimeout as delay } from 'node:timers/promises';

/** How a request is retried: full-jitter exponential backoff, bounded in attempts and per-wait delay. */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 means never retry. */
  maxAttempts: number;
  /** Upper bound of the first wait; each retry doubles it. */
  baseDelayMs: number;
  /** No backoff wait exceeds this (Retry-After may ask for longer, up to maxRetryAfterMs). */
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this bound, so a bad header cannot park a publisher for hours. */
  maxRetryAfterMs: number;
}

// 8 attempts at 50 ms doubling to 5 s: about 10 s of backoff before giving up, enough to ride out a flusher
// stall or a 1 s Retry-After storm, short enough that a dead server is reported within a run.
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 60_000,
});

/** A non-2xx answer; `code`, and `details` (e.g. each bad event of a 422), are the server's when its body carried them. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly retryAfterMs: number | undefined,
    readonly details: readonly unknown[] = [],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The client gave up waiting for an answer; the request may still commit on the server. */
export class RequestTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Every attempt failed, or one failed in a way retrying cannot fix; `cause` is the last attempt's error. */
export class GaveUpError extends Error {
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`gave up after ${attempts} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'GaveUpError';
  }
}

const systemCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

/** True for what at-least-once retries: network errors, timeouts (also the server's 408), 429 and 5xx; never another 4xx. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HttpError) return err.status === 408 || err.status === 429 || err.status >= 500;
  // Socket and DNS failures carry a system code (ECONNRESET, ECONNREFUSED, EPIPE, ENOTFOUND, ...); an error
  // without one is a bug in the caller and retrying would only repeat it.
  return systemCode(err) !== undefined;
}

/**
 * True when a failed attempt may still have been committed: the answer was lost, not refused. Overload and
 * shutdown refusals and refused connections never reached a flusher.
 */
export function mayHaveCommitted(err: unknown): boolean {
  if (err instanceof HttpError) {
    if (err.status < 500) return false;
    return !(err.status === 503 && (err.code === 'OVERLOADED' || err.code === 'SHUTTING_DOWN'));
  }
  return systemCode(err) !== 'ECONNREFUSED';
}

/** Full-jitter backoff for the nth retry (0-based): uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What a retry loop reports before it waits. */
export interface RetryNotice {
  /** The attempt that failed, 1-based. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  policy?: Partial<RetryPolicy>;
  onRetry?: (notice: RetryNotice) => void;
  random?: () => number;
}

/** Runs attempt(n) until it succeeds; retries only retryable errors, after Retry-After (if any) plus jittered backoff. */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<{ value: T; attempts: number }> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n };
    } catch (err) {
      if (!isRetryable(err) || n >= policy.maxAttempts) throw new GaveUpError(n, err);
      const asked = err instanceof HttpError ? err.retryAfterMs : undefined;
      // Retry-After is a floor; the jittered backoff on top keeps a crowd of refused publishers from returning in step.
      const floor = asked === undefined ? 0 : Math.min(asked, policy.maxRetryAfterMs);
      const delayMs = floor + backoffDelay(n - 1, policy, options.random);
      options.onRetry?.({ attempt: n, delayMs, error: err });
      await delay(delayMs);
    }
  }
}
