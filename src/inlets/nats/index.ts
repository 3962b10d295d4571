import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { type ErrorCode, isLogaggError, LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import type { Event } from '../../schema/event.js';
import { DEFAULT_NATS_DURABLE, DEFAULT_NATS_STREAM, DEFAULT_NATS_SUBJECTS, natsSubjectsProblem } from '../../schema/nats.js';
import { validatePublishBody } from '../../schema/validate.js';

type LogFn = (obj: object, msg: string) => void;

/** The little of a pino (child) logger the transport uses. */
export interface TransportLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Why a message was terminated instead of stored; told once per message. */
export interface RejectedMessage {
  code: Extract<ErrorCode, 'INVALID_JSON' | 'VALIDATION_FAILED' | 'STORE_FAILED'>;
  subject: string;
  /** The message's sequence in the stream. */
  seq: number;
  message: string;
}

export interface NatsTransportOptions {
  url: string;
  /** Stream name (default LOGS); created if missing, used as it is if it exists. */
  stream?: string;
  /** Subjects of the stream, `<prefix>.>` (default logs.>); topic = what follows the prefix. */
  subjects?: string;
  /** The durable pull consumer every replica shares (default logagg). */
  durable?: string;
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
const ACK_WAIT_MS = 30_000;
/** How long the stream keeps messages after they were acknowledged: a replay window, not a queue bound. */
const STREAM_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/**
 * STORE_FAILED for a message submitted alone means the database refused that one event (the flusher isolates
 * requests); it is terminated only once it failed this many deliveries, so a passing fault cannot drop it.
 */
const TERM_AFTER_STORE_FAILURES = 3;
const NOOP_LOGGER: TransportLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

type Decoded = { ok: true; event: Event } | { ok: false; code: RejectedMessage['code']; message: string };

/**
 * One message is one event. Topic rule: the subject's remainder after the prefix is the topic; a body that names
 * a topic must name that one, and a body without one gets it from the subject.
 */
function decodeMessage(msg: JsMsg, prefix: string): Decoded {
  let body: unknown;
  try {
    body = JSON.parse(msg.string());
  } catch {
    return { ok: false, code: 'INVALID_JSON', message: 'The message body is not valid JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, code: 'VALIDATION_FAILED', message: 'A message carries one event: a JSON object' };
  }
  const topic = msg.subject.slice(prefix.length);
  if (!('topic' in body)) {
    body = { topic, ...body };
  } else if (body.topic !== topic) {
    return { ok: false, code: 'VALIDATION_FAILED', message: `topic must equal the subject's remainder "${topic}"` };
  }
  const result = validatePublishBody(body, 1);
  if (!result.ok) {
    const message = result.problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
    return { ok: false, code: 'VALIDATION_FAILED', message };
  }
  return { ok: true, event: result.events[0] as Event };
}

function isMissing(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates the stream if it is missing; an existing stream is used as the operator configured it. */
/** Whether some subject matches both patterns (tokens: `*` is one token, `>` the rest). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    // `>` stands for one token or more, so the other side needs a token here.
    if (x[i] === '>' || y[i] === '>') return x[i] !== undefined && y[i] !== undefined;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '*' && y[i] !== '*' && x[i] !== y[i]) return false;
  }
  return true;
}

async function ensureStream(jsm: JetStreamManager, name: string, subjects: string, logger: TransportLogger): Promise<void> {
  try {
    const info = await jsm.streams.info(name);
    // An existing stream keeps its subjects: if none meets NATS_SUBJECTS, every message would be refused.
    const existing = info.config.subjects ?? [];
    if (!existing.some((subject) => subjectsOverlap(subject, subjects))) {
      logger.warn(
        { stream: name, streamSubjects: existing, natsSubjects: subjects },
        `NATS stream "${name}" exists with subjects [${existing.join(', ')}], none of which NATS_SUBJECTS "${subjects}" matches: ` +
          "its messages would be refused (VALIDATION_FAILED). Set NATS_SUBJECTS to the stream's subjects, or NATS_STREAM to another stream",
      );
    }
    return;
  } catch (err) {
    if (!isMissing(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  try {
    // Limits retention, not work-queue: acknowledged messages stay replayable for max_age (e.g. after a
    // database restore). duplicate_window stays at the server default (2 min) for Nats-Msg-Id dedup.
    await jsm.streams.add({
      name,
      subjects: [subjects],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: nanos(STREAM_MAX_AGE_MS),
    });
  } catch (err) {
    // Another replica may have created it in the meantime; if it exists now, that is all we need.
    await jsm.streams.info(name).catch(() => Promise.reject(err));
  }
}

/** Creates the shared durable pull consumer if it is missing; an existing one keeps its configuration. */
async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, maxAckPending: number): Promise<void> {
  try {
    await jsm.consumers.info(stream, durable);
    return;
  } catch (err) {
    if (!isMissing(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  try {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      // Unlimited: a message is only given up by term (invalid, or refused by the database), never by count.
      max_deliver: -1,
      max_ack_pending: maxAckPending,
    });
  } catch (err) {
    await jsm.consumers.info(stream, durable).catch(() => Promise.reject(err));
  }
}

/** Logs connection and consumer trouble once per change of state, never per message. */
function watchStatus(nc: NatsConnection, messages: ConsumerMessages, logger: TransportLogger): void {
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
function createSlots(): { inFlight(): number; take(): void; free(): void; waitForSlot(): Promise<void> } {
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

interface HandlerOptions {
  prefix: string;
  backoff: { initialMs: number; maxMs: number };
  logger: TransportLogger;
  onRejected: NatsTransportOptions['onRejected'];
}

/** Decodes, submits and settles one message: ack after commit, nak on a retryable failure, term when refused. */
function createMessageHandler(
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
    const decoded = decodeMessage(msg, options.prefix);
    if (!decoded.ok) {
      reject(msg, decoded.code, decoded.message);
      return;
    }
    slots.take();
    pipeline.submit([decoded.event], 'nats').then(
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
