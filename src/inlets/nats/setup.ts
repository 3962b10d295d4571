// The NATS inlet's stream and durable consumer: created when missing, used as configured when they exist.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { TransportLogger } from './types.js';

const ACK_WAIT_MS = 30_000;
/** How long the stream keeps messages after they were acknowledged: a replay window, not a queue bound. */
const STREAM_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

function isMissing(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

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

/** Creates the stream if it is missing; an existing stream is used as the operator configured it. */
export async function ensureStream(jsm: JetStreamManager, name: string, subjects: string, logger: TransportLogger): Promise<void> {
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
export async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, maxAckPending: number): Promise<void> {
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
