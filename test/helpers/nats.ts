import { randomBytes } from 'node:crypto';
import {
  AckPolicy,
  type ConsumerInfo,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';

/** The local NATS server with JetStream (`.ci/run` starts it). */
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A stream, subject prefix and durable name no other test run uses, so tests never see each other's messages. */
export interface ScratchStream {
  stream: string;
  /** `<prefix>.>`, as the transport's `subjects` option. */
  subjects: string;
  durable: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Publishes one message on `<prefix>.<topic>`; msgID becomes the Nats-Msg-Id header. */
  publish(topic: string, body: unknown, msgID?: string): Promise<PubAck>;
  /** Publishes a raw body (not JSON-encoded). */
  publishRaw(topic: string, body: string, msgID?: string): Promise<PubAck>;
  /** Creates the durable consumer first, as an operator would (e.g. with a short ack_wait). */
  createConsumer(config: { ackWaitMs: number; maxAckPending?: number }): Promise<void>;
  consumerInfo(): Promise<ConsumerInfo>;
  /** Deletes the stream (and so its consumer) and closes the connection. */
  destroy(): Promise<void>;
}

export async function scratchStream(): Promise<ScratchStream> {
  const id = randomBytes(5).toString('hex');
  const stream = `LOGS_TEST_${id}`;
  const prefix = `logstest${id}`;
  const durable = `logagg_test_${id}`;
  const nc = await connect({ servers: NATS_URL });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const encoder = new TextEncoder();
  const publishRaw = (topic: string, body: string, msgID?: string): Promise<PubAck> =>
    js.publish(`${prefix}.${topic}`, encoder.encode(body), msgID === undefined ? undefined : { msgID });
  return {
    stream,
    subjects: `${prefix}.>`,
    durable,
    nc,
    js,
    jsm,
    publishRaw,
    publish: (topic, body, msgID) => publishRaw(topic, JSON.stringify(body), msgID),
    async createConsumer(config) {
      // The stream must exist before its consumer: create it as the transport would.
      await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(config.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: config.maxAckPending ?? 4000,
      });
    },
    consumerInfo: () => jsm.consumers.info(stream, durable),
    async destroy() {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    },
  };
}
