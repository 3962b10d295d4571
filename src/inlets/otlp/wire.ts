import { isUtf8 } from 'node:buffer';

// The protobuf wire format, read by hand (docs/architecture.md, "OTLP/protobuf: a hand-written wire reader"): the
// few primitives proto-records.ts needs to decode an ExportLogsServiceRequest in one pass, with no intermediate
// message objects. Every read is bounded by the end of the message it belongs to; what protobufjs 8 refuses
// (truncated fields, a length past its message, invalid UTF-8 in a string, wire types 6 and 7, field number 0,
// unbalanced groups, nesting past the limit) is refused here too, as a ProtobufDecodeError.

/** The body is not an ExportLogsServiceRequest in protobuf: the whole request is refused (INVALID_OTLP, 400). */
export class ProtobufDecodeError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ProtobufDecodeError';
  }
}

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;
const START_GROUP = 3;
const END_GROUP = 4;

// Node's own slicers, which Buffer#toString calls after a switch on the encoding name: straight to a string.
interface Slicing {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** How many distinct attribute keys a reader keeps for reuse: a bound on the comparisons per key. */
const KEYS_KEPT = 16;

const outOfRange = (): ProtobufDecodeError => new ProtobufDecodeError('index out of range (truncated or a length past its message)');

/** A cursor over one protobuf body. `end` arguments are the end of the message being read (a nested one's, not the body's). */
export class WireReader {
  pos = 0;
  /** The two 32-bit halves of the last 64-bit value read (int64 / fixed64), unsigned. */
  low = 0;
  high = 0;
  private readonly slicing: Slicing;
  /** Attribute keys read so far, ASCII only (see key()). */
  private readonly keys: string[] = [];

  constructor(
    readonly buf: Buffer,
    /** Message nesting allowed; the request itself is depth 0 (protobufjs's Reader.recursionLimit). */
    readonly maxDepth: number,
  ) {
    this.slicing = buf as unknown as Slicing;
  }

  /** Refuses a message nested deeper than maxDepth, as protobufjs does on entering one. */
  enter(depth: number): void {
    if (depth > this.maxDepth) throw new ProtobufDecodeError('max depth exceeded');
  }

  /**
   * A varint's low 32 bits, unsigned (uint32, int32, enums): up to ten bytes, the bits past 32 dropped,
   * as protobufjs reads them; more than ten bytes is not a varint.
   */
  uint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= end) throw outOfRange();
      const byte = buf[pos++] as number;
      if (shift < 32) value |= (byte & 127) << shift;
      if (byte < 128) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    throw new ProtobufDecodeError('invalid varint encoding');
  }

  /** A varint of up to 64 bits into `low` and `high` (int64: a negative value is its two's complement). */
  varint64(end: number): void {
    const buf = this.buf;
    let pos = this.pos;
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw outOfRange();
      const byte = buf[pos++] as number;
      const bits = byte & 127;
      if (i < 4) low |= bits << (7 * i);
      else if (i === 4) {
        low |= bits << 28;
        high |= bits >>> 4;
      } else high |= bits << (7 * i - 32);
      if (byte < 128) {
        this.pos = pos;
        this.low = low >>> 0;
        this.high = high >>> 0;
        return;
      }
    }
    throw new ProtobufDecodeError('invalid varint encoding');
  }

  /** A varint read only for its truth (bool): any bit set, over all its bytes. */
  bool(end: number): boolean {
    const buf = this.buf;
    let value = false;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw outOfRange();
      const byte = buf[this.pos++] as number;
      if (byte & 127) value = true;
      if (byte < 128) return value;
    }
    throw new ProtobufDecodeError('invalid varint encoding');
  }

  /** A little-endian fixed64 into `low` and `high`. */
  fixed64(end: number): void {
    const pos = this.pos;
    if (pos + 8 > end) throw outOfRange();
    this.low = this.buf.readUInt32LE(pos);
    this.high = this.buf.readUInt32LE(pos + 4);
    this.pos = pos + 8;
  }

  fixed32(end: number): number {
    const pos = this.pos;
    if (pos + 4 > end) throw outOfRange();
    this.pos = pos + 4;
    return this.buf.readUInt32LE(pos);
  }

  double(end: number): number {
    const pos = this.pos;
    if (pos + 8 > end) throw outOfRange();
    this.pos = pos + 8;
    return this.buf.readDoubleLE(pos);
  }

  /**
   * A varint of at most five bytes, the fifth at most `fifthMax`: how protobufjs reads tags (< 2^32, fifth byte
   * < 16) and lengths (< 2^31, fifth byte ≤ 7); anything longer is refused, not truncated.
   */
  private short(end: number, fifthMax: number, what: string): number {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw outOfRange();
      const byte = buf[pos++] as number;
      value |= (byte & 127) << shift;
      if (byte < 128) {
        this.pos = pos;
        return value;
      }
    }
    if (pos >= end) throw outOfRange();
    const fifth = buf[pos++] as number;
    if (fifth > fifthMax) throw new ProtobufDecodeError(`invalid ${what} encoding`);
    this.pos = pos;
    return (value | (fifth << 28)) >>> 0;
  }

  /** The length prefix of a length-delimited field: the position its content ends at, checked against `end`. */
  delimited(end: number): number {
    const first = this.buf[this.pos] as number;
    const length = first < 128 && this.pos < end ? (this.pos++, first) : this.short(end, 7, 'length');
    const stop = this.pos + length;
    if (stop > end) throw outOfRange();
    return stop;
  }

  /** A string field, strictly UTF-8 (proto3 strings are; protobufjs 8 refuses one that is not), its BOM kept. */
  string(end: number): string {
    const stop = this.delimited(end);
    return this.text(this.pos, stop);
  }

  /** The bytes [start, stop) as strict UTF-8 text; the cursor moves to `stop`. */
  private text(start: number, stop: number): string {
    this.pos = stop;
    const buf = this.buf;
    for (let i = start; i < stop; i++) {
      if ((buf[i] as number) > 127) {
        if (!isUtf8(buf.subarray(start, stop))) throw new ProtobufDecodeError('invalid UTF-8 in a string field');
        return this.slicing.utf8Slice(start, stop);
      }
    }
    // ASCII: its Latin-1 reading is the same text, and the cheapest string V8 makes.
    return this.slicing.latin1Slice(start, stop);
  }

  /**
   * An attribute key: a string field, but most keys recur (every record of a batch has the same few), so the
   * ASCII ones already read in this body are reused, compared byte by byte: no new string, and one V8 has
   * already made a property key of.
   */
  key(end: number): string {
    const stop = this.delimited(end);
    const start = this.pos;
    const length = stop - start;
    const buf = this.buf;
    for (const known of this.keys) {
      if (known.length !== length) continue;
      let i = 0;
      while (i < length && known.charCodeAt(i) === buf[start + i]) i++;
      if (i === length) {
        this.pos = stop;
        return known;
      }
    }
    const text = this.text(start, stop);
    if (this.keys.length < KEYS_KEPT && text.length === length) this.keys.push(text);
    return text;
  }

  /** A bytes field as [start, stop) of the body, not copied; the caller encodes it (hex, base64) right away. */
  bytes(end: number): number {
    const stop = this.delimited(end);
    const start = this.pos;
    this.pos = stop;
    return start;
  }

  /** The tag of the next field; field number 0 is refused, as protobufjs does. */
  tag(end: number): number {
    const first = this.buf[this.pos] as number;
    const tag = first < 128 && this.pos < end ? (this.pos++, first) : this.short(end, 15, 'tag');
    if (tag >>> 3 === 0) throw new ProtobufDecodeError('illegal tag: field number 0');
    return tag;
  }

  /**
   * Skips a field this decoder does not read (unknown, or known with another wire type: protobufjs skips those
   * too), checking it as protobufjs's skipType does; a group nests one level deeper.
   */
  skip(wireType: number, field: number, end: number, depth: number): void {
    switch (wireType) {
      case VARINT:
        do if (this.pos >= end) throw outOfRange();
        while ((this.buf[this.pos++] as number) & 128);
        return;
      case I64:
        this.skipBytes(8, end);
        return;
      case LEN:
        this.pos = this.delimited(end);
        return;
      case I32:
        this.skipBytes(4, end);
        return;
      case START_GROUP:
        this.skipGroup(field, end, depth + 1);
        return;
      default:
        throw new ProtobufDecodeError(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  private skipBytes(count: number, end: number): void {
    if (this.pos + count > end) throw outOfRange();
    this.pos += count;
  }

  private skipGroup(field: number, end: number, depth: number): void {
    this.enter(depth);
    for (;;) {
      const tag = this.tag(end);
      if ((tag & 7) === END_GROUP) {
        if (tag >>> 3 !== field) throw new ProtobufDecodeError('invalid end group tag');
        return;
      }
      this.skip(tag & 7, tag >>> 3, end, depth);
    }
  }
}

const TWO_32 = 4294967296;

/**
 * An unsigned 64-bit value as decimal text. Past 2^53 it is written from its halves in base 10^6, every step an
 * exact double (high · 967296 + low < 2^52): 2^32 = 4294 · 10^6 + 967296.
 */
export function uint64Text(low: number, high: number): string {
  if (high < 0x200000) return String(high * TWO_32 + low);
  const below = high * 967296 + low;
  const above = high * 4294 + Math.floor(below / 1e6);
  return `${above}${String(below % 1e6).padStart(6, '0')}`;
}

/** A signed 64-bit value (two's complement halves) as decimal text. */
export function int64Text(low: number, high: number): string {
  if (high < 0x80000000) return uint64Text(low, high);
  return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low)).toString();
}
