/**
 * Snappy block format (github.com/google/snappy, format_description.txt), the compression Loki's protobuf push
 * bodies use. Our own decoder rather than a package's: snappyjs 0.7.0 loops forever on a 6-byte body whose
 * literal length is negative (test/loki/fuzz.test.ts keeps that body), which would stall the event loop of the
 * whole server. Every length and offset is checked before use, the declared length is held against `limit`
 * before anything is allocated (a bomb is refused unread), and the output must fill exactly that length.
 */

export class SnappyError extends Error {}

/** Decodes one snappy block no longer than `limit` bytes once uncompressed; throws SnappyError on anything malformed. */
export function snappyUncompress(input: Uint8Array, limit: number): Buffer {
  let pos = 0;
  // The preamble: the uncompressed length as a little-endian varint of at most 32 bits (5 bytes).
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length) throw new SnappyError('the snappy length header is cut off');
    if (shift > 28) throw new SnappyError('the snappy length header is longer than 5 bytes');
    const byte = input[pos++] as number;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  if (length > 0xffffffff) throw new SnappyError('the snappy length header is over 32 bits');
  if (length > limit) throw new SnappyError(`the body would uncompress to ${length} bytes, over the limit of ${limit}`);
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  while (pos < input.length) {
    const tag = input[pos++] as number;
    const kind = tag & 3;
    if (kind === 0) {
      // A literal: its length - 1 in the tag, or in the 1 to 4 bytes after it.
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (pos + bytes > input.length) throw new SnappyError('a snappy literal length is cut off');
        len = 0;
        for (let i = 0; i < bytes; i++) len += (input[pos + i] as number) * 2 ** (8 * i);
        pos += bytes;
      }
      len += 1;
      if (pos + len > input.length) throw new SnappyError('a snappy literal runs past the end of the body');
      if (at + len > length) throw new SnappyError('the snappy data is longer than its header says');
      out.set(input.subarray(pos, pos + len), at);
      pos += len;
      at += len;
      continue;
    }
    // A copy of `len` bytes from `offset` bytes back in the output.
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > input.length) throw new SnappyError('a snappy copy is cut off');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | (input[pos] as number);
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > input.length) throw new SnappyError('a snappy copy is cut off');
      len = (tag >>> 2) + 1;
      offset = (input[pos] as number) | ((input[pos + 1] as number) << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw new SnappyError('a snappy copy is cut off');
      len = (tag >>> 2) + 1;
      offset =
        ((input[pos] as number) | ((input[pos + 1] as number) << 8) | ((input[pos + 2] as number) << 16)) +
        (input[pos + 3] as number) * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > at) throw new SnappyError('a snappy copy points before the start of the data');
    if (at + len > length) throw new SnappyError('the snappy data is longer than its header says');
    if (offset >= len) {
      out.copyWithin(at, at - offset, at - offset + len);
    } else {
      // Overlapping: the copy repeats the last `offset` bytes, so it goes byte by byte.
      for (let i = 0; i < len; i++) out[at + i] = out[at + i - offset] as number;
    }
    at += len;
  }
  if (at !== length) throw new SnappyError(`the snappy data holds ${at} bytes, its header says ${length}`);
  return out;
}
