import protobuf from 'protobufjs';
import { canonicalNanos, labelsAt, type PushEntry, PushDecodeError, type PushStream, TooManyEntriesError } from './decode.js';
import { LabelError, parseLabelString } from './labels.js';

/**
 * push.proto beside this file, for protobufjs, with one deliberate change: the string fields are read as `bytes`
 * (the same wire type), so their UTF-8 is checked strictly here instead of bytes that are not UTF-8 becoming
 * U+FFFD (two different lines would then hash to one event_id). test/loki/proto.test.ts checks every message,
 * field number and wire type against push.proto.
 */
export const PUSH_PROTO_JSON = {
  nested: {
    logproto: {
      nested: {
        PushRequest: {
          fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 }, format: { type: 'bytes', id: 2 } },
        },
        PushResponse: { fields: {} },
        StreamAdapter: {
          fields: {
            labels: { type: 'bytes', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'bytes', id: 1 }, value: { type: 'bytes', id: 2 } } },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'google.protobuf.Timestamp', id: 1 },
            line: { type: 'bytes', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
            parsed: { rule: 'repeated', type: 'LabelPairAdapter', id: 4 },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: { Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } } },
        },
      },
    },
  },
};

interface Int64 {
  toString(): string;
}
interface RawPair {
  name: Uint8Array;
  value: Uint8Array;
}
interface RawEntry {
  timestamp?: { seconds: number | Int64; nanos: number } | null;
  line: Uint8Array;
  structuredMetadata: RawPair[];
}
interface RawPush {
  streams: Array<{ labels: Uint8Array; entries: RawEntry[] }>;
}

const PushRequest = protobuf.Root.fromJSON(PUSH_PROTO_JSON).lookupType('logproto.PushRequest');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new PushDecodeError(path, 'is not valid UTF-8');
  }
}

/** seconds + nanos as unix nanoseconds; undefined when before 1970, past int64, or nanos out of 0..999999999. */
function timestampNanos(timestamp: RawEntry['timestamp']): string | undefined {
  const seconds = BigInt(timestamp ? timestamp.seconds.toString() : '0');
  const nanos = timestamp?.nanos ?? 0;
  if (seconds < 0n || nanos < 0 || nanos > 999_999_999) return undefined;
  return canonicalNanos((seconds * 1_000_000_000n + BigInt(nanos)).toString());
}

/** A decompressed protobuf PushRequest as streams; throws PushDecodeError for anything that does not decode. */
export function decodeProtobufPush(body: Uint8Array, maxEntries: number): PushStream[] {
  let raw: RawPush;
  try {
    raw = PushRequest.decode(body) as unknown as RawPush;
  } catch (err) {
    throw new PushDecodeError('', `not a protobuf PushRequest: ${(err as Error).message}`);
  }
  const streams: PushStream[] = [];
  let count = 0;
  raw.streams.forEach((stream, s) => {
    const at = `/streams/${s}`;
    let pairs: Array<[string, string]>;
    try {
      pairs = parseLabelString(text(stream.labels, `${at}/labels`));
    } catch (err) {
      if (err instanceof LabelError) throw new PushDecodeError(`${at}/labels`, err.message);
      throw err;
    }
    const labels = labelsAt(pairs, `${at}/labels`);
    count += stream.entries.length;
    if (count > maxEntries) throw new TooManyEntriesError(`More than ${maxEntries} entries; at most ${maxEntries} per request`);
    const entries = stream.entries.map((entry, e): PushEntry => {
      const where = `${at}/entries/${e}`;
      const tsNs = timestampNanos(entry.timestamp);
      if (tsNs === undefined)
        throw new PushDecodeError(`${where}/timestamp`, 'the timestamp must lie from 1970 to 2262 with nanos 0 to 999999999');
      const metadata =
        entry.structuredMetadata.length === 0
          ? undefined
          : entry.structuredMetadata.map((pair, m): [string, string] => [
              text(pair.name, `${where}/structuredMetadata/${m}/name`),
              text(pair.value, `${where}/structuredMetadata/${m}/value`),
            ]);
      return { tsNs, line: text(entry.line, `${where}/line`), metadata };
    });
    streams.push({ labels, entries });
  });
  return streams;
}
