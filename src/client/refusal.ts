import { PublishRejectedError } from './publish-errors.js';
import { GaveUpError, HttpError, isRetryable } from './retry.js';

/** How the publisher sends a part of a batch again, and fails events for good. */
export interface RefusalHandlers<T> {
  send: (entries: T[]) => Promise<void>;
  fail: (entries: readonly T[], error: Error) => void;
}

/** Details of a 422 grouped by the request index they name; empty when they name none of the request's events. */
function detailsByIndex(details: readonly unknown[], size: number): Map<number, unknown[]> {
  const byIndex = new Map<number, unknown[]>();
  for (const detail of details) {
    const index = typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>).index : undefined;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= size) continue;
    byIndex.set(index, [...(byIndex.get(index) ?? []), detail]);
  }
  return byIndex;
}

/**
 * Refusals of the whole body that one event can cause without the answer saying which: over the body or batch
 * limit (413), or content the server will not parse (400 INVALID_JSON: the client sends valid JSON, so that is
 * a `__proto__` or `constructor.prototype` key the server refuses as prototype poisoning).
 */
function refusedAsAWhole(cause: HttpError): boolean {
  return cause.status === 413 || (cause.status === 400 && cause.code === 'INVALID_JSON');
}

/**
 * Settles a batch whose request failed for good (retryable failures were already retried by the client, by the one
 * policy): the batch is the publisher's choice, not the caller's, so one bad event must not fail the others that
 * happened to share its request. A 413 or 400 INVALID_JSON halves the batch until each part is accepted or a
 * single event is refused alone; a 422 refuses the events its details name and sends the rest again (each round
 * drops at least one); anything else fails the whole batch.
 */
export async function settleRefused<T>(entries: T[], err: unknown, { send, fail }: RefusalHandlers<T>): Promise<void> {
  const cause = err instanceof GaveUpError ? err.cause : err;
  if (!(cause instanceof HttpError) || isRetryable(cause)) {
    fail(entries, err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (refusedAsAWhole(cause) && entries.length > 1) {
    const half = Math.ceil(entries.length / 2);
    await send(entries.slice(0, half));
    await send(entries.slice(half));
    return;
  }
  const byIndex = cause.status === 422 ? detailsByIndex(cause.details, entries.length) : new Map<number, unknown[]>();
  if (byIndex.size === 0) {
    fail(entries, new PublishRejectedError(cause, cause.details));
    return;
  }
  const good: T[] = [];
  entries.forEach((entry, index) => {
    const own = byIndex.get(index);
    if (own) fail([entry], new PublishRejectedError(cause, own));
    else good.push(entry);
  });
  if (good.length > 0) await send(good);
}
