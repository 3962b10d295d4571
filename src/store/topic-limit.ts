import { LogaggError } from '../errors.js';
import { TOPIC_LIMIT_SQLSTATE } from './sql.js';

/**
 * A maximum of topics does not free itself as time passes (only an operator raising it does), so a shipper that
 * retries is told to wait a minute rather than the second a rate quota's refusal names.
 */
const TOPIC_LIMIT_RETRY_AFTER_S = 60;

/** logagg_topic_limit's message (migration 10): the tenant as a JSON string, then its maximum. */
const MESSAGE = /^tenant ("(?:[^"\\]|\\.)*") is at its maximum of (\d+) topics/;

/**
 * A batch refused by logagg_topic_limit as the 429 of the tenant's max_topics, naming the tenant (read from the
 * database's message, which both engines keep), so that the flusher can commit the other tenants' requests of the
 * batch at once and retry only that tenant's one by one (src/ingest/flusher.ts). Undefined for any other error.
 */
export function topicLimitRefusal(err: unknown): LogaggError | undefined {
  const cause = err instanceof LogaggError ? err.cause : err;
  if (!(cause instanceof Error) || !('code' in cause) || cause.code !== TOPIC_LIMIT_SQLSTATE) return undefined;
  const match = MESSAGE.exec(cause.message);
  const retryAfterSeconds = TOPIC_LIMIT_RETRY_AFTER_S;
  if (!match)
    return new LogaggError('QUOTA_EXCEEDED', {
      message: 'A tenant is at its maximum of topics (TENANT_LIMITS max_topics)',
      retryAfterSeconds,
      cause,
    });
  const tenant = JSON.parse(match[1] as string) as string;
  const max = Number(match[2]);
  return new LogaggError('QUOTA_EXCEEDED', {
    message: `Tenant "${tenant}" is at its maximum of ${max} topics (TENANT_LIMITS max_topics); events for the topics it has are accepted`,
    details: [{ tenant, limit: 'max_topics', value: max, retry_after_seconds: retryAfterSeconds }],
    retryAfterSeconds,
    cause,
  });
}
