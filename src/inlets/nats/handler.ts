// The NATS inlet's message loop parts: decode → pipeline.submit → ack after commit, nak to retry, term when refused.
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ErrorCode, isLogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { decodeMessage } from './decode.js';
import type { RejectedMessage, TransportLogger } from './types.js';

/**
 * STORE_FAILED for a message submitted alone means the database refused that one event (the flusher isolates
 * requests); it is terminated only once it failed this many deliveries, so a passing fault cannot drop it.
 */
const TERM_AFTER_STORE_FAILURES = 3;

/** Logs connection and consumer trouble once per change of state, never per message. */
export function watchStatus(nc: NatsConnection, messages: ConsumerMessages, logger: TransportLogger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') logger.warn({ server: status.server }, 'NATS disconnected; reconnecting');
      else if (status.type === 'reconnect') logger.info({ server: status.server }, 'NATS reconnected');
    }
  })();
  void (async () => {
    let last = '';
    for await (const status of messages.status()) {
      const trouble = ['heartbeats_missed', 'consumer_not_found', 'stream_not_found', 'consumer_deleted', 'no_responders'];
      if (trouble.includes(status.type) && status.type !== last) logger.warn({ status }, 'JetStream consumer trouble');
      last = status.type;
    }
  })();
}

/** Counts submits in flight; waitForSlot resolves on the next settle, so callers re-check in a loop. */
export function createSlots(): { inFlight(): number; take(): void; free(): void; waitForSlot(): Promise<void> } {
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  return {
    inFlight: () => inFlight,
    take: () => void inFlight++,
    free() {
      inFlight--;
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
    waitForSlot: () => new Promise((resolve) => waiters.push(resolve)),
  };
}

export interface HandlerOptions {
  prefix: string;
  /** NATS_TENANT: one tenant, or `*` for each message's X-Scope-OrgID header. */
  tenant: string;
  backoff: { initialMs: number; maxMs: number };
  logger: TransportLogger;
  onRejected: ((rejected: RejectedMessage) => void) | undefined;
}

/** Decodes, submits and settles one message: ack after commit, nak on a retryable failure, term when refused. */
export function createMessageHandler(
  pipeline: Pick<Pipeline, 'submit'>,
  slots: ReturnType<typeof createSlots>,
  options: HandlerOptions,
): (msg: JsMsg) => void {
  const { logger, backoff } = options;
  let retrying = false;

  const reject = (msg: JsMsg, code: RejectedMessage['code'], message: string): void => {
    // No reason argument: servers before 2.11 do not parse "+TERM <reason>" and would leave the message pending.
    msg.term();
    options.onRejected?.({ code, subject: msg.subject, seq: msg.seq, message });
  };

  const settleFailure = (msg: JsMsg, err: unknown): void => {
    const code: ErrorCode = isLogaggError(err) ? err.code : 'INTERNAL';
    // A tenant's max_topics frees no place by waiting: redelivered, the message would sit in the consumer's
    // ack-pending count, which every tenant's messages share, until the limit is raised. Refused like bad input.
    if (code === 'QUOTA_EXCEEDED') {
      reject(msg, code, err instanceof Error ? err.message : String(err));
      return;
    }
    if (code === 'STORE_FAILED' && msg.info.deliveryCount >= TERM_AFTER_STORE_FAILURES) {
      logger.error({ err, subject: msg.subject, seq: msg.seq }, 'the store refused a NATS message; terminated');
      reject(msg, 'STORE_FAILED', err instanceof Error ? err.message : String(err));
      return;
    }
    if (!retrying) {
      retrying = true;
      logger.warn({ err, code }, 'NATS messages are nak-ed for redelivery until the pipeline accepts them');
    }
    // SHUTTING_DOWN: another replica can take it at once; otherwise back off, doubling per delivery.
    const exponent = Math.min(msg.info.deliveryCount - 1, 16);
    const delay = code === 'SHUTTING_DOWN' ? 0 : Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
    msg.nak(Math.round(delay * (0.5 + Math.random() / 2)));
  };

  return (msg) => {
    const decoded = decodeMessage(msg, options.prefix, options.tenant);
    if (!decoded.ok) {
      reject(msg, decoded.code, decoded.message);
      return;
    }
    slots.take();
    pipeline.submit([decoded.event], 'nats', { tenant: decoded.tenant }).then(
      () => {
        // Ack after commit (docs/spec.md §1, §6): a crash before this line means a redelivery, which becomes a duplicate.
        msg.ack();
        if (retrying) {
          retrying = false;
          logger.info({}, 'NATS messages are committing again');
        }
        slots.free();
      },
      (err: unknown) => {
        settleFailure(msg, err);
        slots.free();
      },
    );
  };
}
