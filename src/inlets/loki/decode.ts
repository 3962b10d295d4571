import { checkLabels, LabelError } from './labels.js';

/** One stream of a push, either encoding: labels checked and sorted by name, entries in request order. */
export interface PushStream {
  labels: Array<[string, string]>;
  entries: PushEntry[];
}

export interface PushEntry {
  /** Nanoseconds since the epoch, decimal, no leading zeros: exactly what was sent. */
  tsNs: string;
  line: string;
  /** Structured metadata in the order sent; undefined when there is none. */
  metadata: Array<[string, string]> | undefined;
}

/** A body that is not a Loki push request: `path` says where (e.g. /streams/0/values/3/0). */
export class PushDecodeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '/'}: ${reason}`);
  }
}

/** More entries than MAX_BATCH_EVENTS. */
export class TooManyEntriesError extends Error {}

/** Loki's timestamps are int64 nanoseconds; logagg refuses those before 1970 (they would be negative). */
const INT64_MAX = 9223372036854775807n;
const NANOS = /^[0-9]{1,19}$/;

/** The canonical decimal form of a nanosecond time, or undefined when it is not one Loki could have sent. */
export function canonicalNanos(text: string): string | undefined {
  if (!NANOS.test(text)) return undefined;
  const value = BigInt(text);
  return value > INT64_MAX ? undefined : value.toString();
}

export function labelsAt(pairs: Array<[string, string]>, path: string): Array<[string, string]> {
  try {
    return checkLabels(pairs);
  } catch (err) {
    if (err instanceof LabelError) throw new PushDecodeError(path, err.message);
    throw err;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringPairs(value: unknown, path: string, what: string): Array<[string, string]> {
  if (!isObject(value)) throw new PushDecodeError(path, `${what} must be an object of strings`);
  const pairs = Object.entries(value);
  for (const [name, text] of pairs) {
    if (typeof text !== 'string') throw new PushDecodeError(`${path}/${name}`, `${what} values must be strings`);
  }
  return pairs as Array<[string, string]>;
}

/**
 * The JSON push body: {"streams":[{"stream":{"a":"b"},"values":[["<ns>","<line>",{metadata}?], ...]}]}.
 * Unknown fields are ignored, as Loki ignores them; a wrong type anywhere refuses the whole body.
 */
export function decodeJsonPush(body: unknown, maxEntries: number): PushStream[] {
  if (!isObject(body) || !Array.isArray(body.streams)) throw new PushDecodeError('', 'the body must be {"streams": [...]}');
  const streams: PushStream[] = [];
  let count = 0;
  body.streams.forEach((stream: unknown, s: number) => {
    const at = `/streams/${s}`;
    if (!isObject(stream)) throw new PushDecodeError(at, 'a stream must be an object');
    const labels = labelsAt(stringPairs(stream.stream, `${at}/stream`, 'stream labels'), `${at}/stream`);
    if (!Array.isArray(stream.values)) throw new PushDecodeError(`${at}/values`, 'values must be an array');
    count += stream.values.length;
    if (count > maxEntries) throw new TooManyEntriesError(`More than ${maxEntries} entries; at most ${maxEntries} per request`);
    const entries = stream.values.map((value: unknown, v: number): PushEntry => {
      const where = `${at}/values/${v}`;
      if (!Array.isArray(value) || value.length < 2 || value.length > 3) {
        throw new PushDecodeError(where, 'a value must be ["<unix nanoseconds>", "<line>"] or with structured metadata third');
      }
      const [ts, line, metadata] = value as [unknown, unknown, unknown];
      const tsNs = typeof ts === 'string' ? canonicalNanos(ts) : undefined;
      if (tsNs === undefined) throw new PushDecodeError(`${where}/0`, 'the timestamp must be a string of unix nanoseconds (0 to 2^63-1)');
      if (typeof line !== 'string') throw new PushDecodeError(`${where}/1`, 'the line must be a string');
      let pairs: Array<[string, string]> | undefined;
      if (metadata !== undefined) {
        pairs = stringPairs(metadata, `${where}/2`, 'structured metadata');
        if (pairs.length === 0) pairs = undefined;
      }
      return { tsNs, line, metadata: pairs };
    });
    streams.push({ labels, entries });
  });
  return streams;
}
