import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import type { StoredEvent } from '../../src/schema/event.js';
import { get } from '../helpers/events.js';

/** The push.proto kept in the repo, loaded as written (string fields), independent of the server's descriptor. */
export const PUSH_PROTO_PATH = fileURLToPath(new URL('../../src/inlets/loki/push.proto', import.meta.url));
export const protoRoot = new protobuf.Root().loadSync(PUSH_PROTO_PATH);
const PushRequest = protoRoot.lookupType('logproto.PushRequest');

export interface ProtoEntry {
  timestamp?: { seconds: number | string; nanos: number };
  line: string;
  structuredMetadata?: Array<{ name: string; value: string }>;
}
export interface ProtoStream {
  labels: string;
  entries: ProtoEntry[];
}

/** A PushRequest as protobuf bytes, not compressed. */
export function encodePush(streams: ProtoStream[]): Buffer {
  return Buffer.from(PushRequest.encode(PushRequest.fromObject({ streams })).finish());
}

/** Snappy block format, as Promtail and winston-loki send (snappyjs's compressor; the server has its own decoder). */
export function snappy(bytes: Uint8Array): Buffer {
  return Buffer.from(snappyjs.compress(Buffer.from(bytes)));
}

export interface PushReply {
  status: number;
  headers: Headers;
  text: string;
}

export async function push(
  url: string,
  body: Uint8Array | string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<PushReply> {
  const response = await fetch(`${url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export const pushJson = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<PushReply> =>
  push(url, JSON.stringify(body), 'application/json', headers);

export const pushProto = (url: string, streams: ProtoStream[], headers: Record<string, string> = {}): Promise<PushReply> =>
  push(url, snappy(encodePush(streams)), 'application/x-protobuf', headers);

/** A stored Loki entry (src/inlets/loki/map.ts). */
export type LokiEvent = Omit<StoredEvent, 'payload'> & {
  payload: { line: string; labels: Record<string, string>; ts_ns: string; structured_metadata?: Record<string, string> };
};

export async function storedIn(url: string, topic: string): Promise<LokiEvent[]> {
  return (await get<LokiEvent[]>(`${url}/events?topic=${encodeURIComponent(topic)}&limit=10000`)).body;
}
