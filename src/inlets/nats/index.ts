import { type ConsumerMessages, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import {
  DEFAULT_NATS_DURABLE,
  DEFAULT_NATS_STREAM,
  DEFAULT_NATS_SUBJECTS,
  DEFAULT_NATS_TENANT,
  natsSubjectsProblem,
} from '../../schema/nats.js';
import { createMessageHandler, createSlots, watchStatus } from './handler.js';
import { ensureConsumer, ensureStream } from './setup.js';
import type { RejectedMessage, TransportLogger } from './types.js';

export { subjectsOverlap } from './setup.js';
export type { RejectedMessage, TransportLogger } from './types.js';

export interface NatsTransportOptions {
  url: string;
  /** Stream name (default LOGS); created if missing, used as it is if it exists. */
  stream?: string;
  /** Subjects of the stream, `<prefix>.>` (default logs.>); topic = what follows the prefix. */
  subjects?: string;
  /** The durable pull consumer every replica shares (default logagg). */
  durable?: string;
  /** NATS_TENANT: whose the events are, or `*` for each message's X-Scope-OrgID header (default: default). */
  tenant?: string;
  /** Unacknowledged messages: the consumer's max_ack_pending when created, and this replica's cap on submits in flight. */
  maxAckPending?: number;
  /** Messages per pull request. */
  batch?: number;
  /** Redelivery delay after a retryable failure: initialMs doubled per delivery, up to maxMs. */
  nakBackoff?: { initialMs: number; maxMs: number };
  logger?: TransportLogger;
  onRejected?(rejected: RejectedMessage): void;
}

export interface NatsTransport {
  /** Stops pulling, settles (acks or naks) every message in flight, drains and closes the connection. */
  close(): Promise<void>;
}

const DEFAULT_MAX_ACK_PENDING = 4000;
const DEFAULT_BATCH = 500;
const NOOP_LOGGER: TransportLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * NATS JetStream transport (docs/spec.md §6): pulls from one durable consumer shared by all replicas, submits each
 * message's event to the same pipeline as HTTP, and acks a message only after its batch commits.
 */
export async function startNatsTransport(pipeline: Pick<Pipeline, 'submit'>, options: NatsTransportOptions): Promise<NatsTransport> {
  const stream = options.stream ?? DEFAULT_NATS_STREAM;
  const subjects = options.subjects ?? DEFAULT_NATS_SUBJECTS;
  const durable = options.durable ?? DEFAULT_NATS_DURABLE;
  const maxInFlight = options.maxAckPending ?? DEFAULT_MAX_ACK_PENDING;
  const logger = options.logger ?? NOOP_LOGGER;
  const subjectsProblem = natsSubjectsProblem(subjects);
  if (subjectsProblem !== undefined) throw new LogaggError('CONFIG_INVALID', { message: `NATS subjects ${subjectsProblem}` });

  const nc = await connect({ servers: options.url, name: 'logagg', maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
  let messages: ConsumerMessages;
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, stream, subjects, logger);
    await ensureConsumer(jsm, stream, durable, maxInFlight);
    const consumer = await jetstream(nc).consumers.get(stream, durable);
    messages = await consumer.consume({ max_messages: options.batch ?? DEFAULT_BATCH });
  } catch (err) {
    await nc.close();
    throw err;
  }
  watchStatus(nc, messages, logger);
  logger.info({ stream, subjects, durable }, 'NATS transport consuming');

  const slots = createSlots();
  const handle = createMessageHandler(pipeline, slots, {
    prefix: subjects.slice(0, -1),
    tenant: options.tenant ?? DEFAULT_NATS_TENANT,
    backoff: options.nakBackoff ?? { initialMs: 500, maxMs: 10_000 },
    logger,
    onRejected: options.onRejected,
  });
  const loop = (async () => {
    // Messages already buffered when close() is called are still yielded, submitted and acked.
    for await (const msg of messages) {
      handle(msg);
      while (slots.inFlight() >= maxInFlight) await slots.waitForSlot();
    }
  })().catch((err: unknown) => logger.error({ err }, 'NATS consume loop failed'));

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        await messages.close();
        await loop;
        while (slots.inFlight() > 0) await slots.waitForSlot();
        // drain flushes the acks and naks still in the outgoing buffer before the connection closes.
        await nc.drain();
        logger.info({ stream, durable }, 'NATS transport closed');
      })();
      return closing;
    },
  };
}
