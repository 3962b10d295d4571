// The public API of logagg/client: one HTTP client, the project's one retry policy, ids fixed at creation.
export { createClient, type ClientOptions, type LogaggClient, type PublishReceipt, type RawResponse, type StatsQuery } from './http.js';
export { createEvent, newEventId, type NewEvent } from './event.js';
export {
  createPublisher,
  DEFAULT_PUBLISHER_OPTIONS,
  type BatchReceipt,
  type PublishAck,
  type Publisher,
  type PublisherOptions,
  type PublishOutcome,
} from './publisher.js';
export { PublisherClosedError, PublishRejectedError, QueueFullError } from './publish-errors.js';
export { subscribe, type SubscribeOptions } from './stream.js';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  GaveUpError,
  HttpError,
  isRetryable,
  mayHaveCommitted,
  parseRetryAfter,
  RequestTimeoutError,
  type RetryNotice,
  type RetryOptions,
  type RetryPolicy,
  withRetry,
} from './retry.js';
