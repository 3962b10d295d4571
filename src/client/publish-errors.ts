import type { HttpError } from './retry.js';

/** publish() found maxQueue events already pending: this event was not enqueued. Retry later, or waitForRoom(). */
export class QueueFullError extends Error {
  readonly code = 'QUEUE_FULL';
  constructor(readonly maxQueue: number) {
    super(`the publisher already holds ${maxQueue} pending events (maxQueue); this event was not enqueued`);
    this.name = 'QueueFullError';
  }
}

/** publish() after close(): the event was not enqueued. */
export class PublisherClosedError extends Error {
  readonly code = 'PUBLISHER_CLOSED';
  constructor() {
    super('the publisher is closed; this event was not enqueued');
    this.name = 'PublisherClosedError';
  }
}

/**
 * The server refused the event with an error that retrying cannot fix (422, 401, 413, ...). `code` is the server's
 * error code; `details` are the server's entries about this event (for a 422: its paths and messages, `index`
 * being its position in the request that was refused). Nothing of it was stored.
 */
export class PublishRejectedError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(
    cause: HttpError,
    readonly details: readonly unknown[],
  ) {
    // The event's own details say more than the server's message, which is about the whole request.
    const own = describeDetails(details);
    super(
      `the server refused the event: ${own === '' ? cause.message : `HTTP ${cause.status}${cause.code ? ` ${cause.code}` : ''}: ${own}`}`,
      { cause },
    );
    this.name = 'PublishRejectedError';
    this.status = cause.status;
    this.code = cause.code;
  }
}

function describeDetails(details: readonly unknown[]): string {
  const parts = details.flatMap((detail) => {
    if (typeof detail !== 'object' || detail === null) return [];
    const { path, message } = detail as Record<string, unknown>;
    return typeof message === 'string' ? [`${typeof path === 'string' && path !== '' ? `${path} ` : ''}${message}`] : [];
  });
  return parts.join('; ');
}
