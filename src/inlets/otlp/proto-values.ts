import { MAX_PAYLOAD_DEPTH } from '../../schema/validate.js';
import type { Attributes, Decoded } from './decode.js';
import { I64, int64Text, LEN, VARINT, WireReader } from './wire.js';

// OTLP's AnyValue, KeyValue and their lists (common.proto in ./proto), read from the wire straight into decode.ts's
// Decoded and Attributes, for proto-records.ts. proto3 semantics as protobufjs 8 has them: the last member of the
// oneof set wins, a message member sent twice in a row merges, a field of an unexpected wire type is skipped.

// Message nesting allowed. A payload value nests two messages per level (AnyValue → ArrayValue → AnyValue, or
// AnyValue → KeyValueList → KeyValue → AnyValue, one value level more), under four above the body: room for every
// depth POST /publish accepts, so a too-deep value is rejected per record, as in JSON. Past this the whole request
// is refused (400), which also bounds the recursion.
export const RECURSION_LIMIT = 2 * (MAX_PAYLOAD_DEPTH + 2) + 8;
// An AnyValue deeper than this cannot be stored (schema/validate.ts); the body is at depth 1, as in decode.ts.
const MAX_VALUE_DEPTH = MAX_PAYLOAD_DEPTH + 1;

/** A value nested too deep; `suffix` is its JSON path below the value that holds it. */
export class Deep {
  constructor(readonly suffix: string) {}
  under(prefix: string): Deep {
    return new Deep(prefix + this.suffix);
  }
}

export type Value = Decoded | Deep;

const TOO_DEEP = new Deep('');

export function anyValue(r: WireReader, end: number, depth: number, level: number): Value {
  r.enter(depth);
  let member = 0;
  let scalar: Decoded | undefined;
  let items: Value[] | undefined;
  let pairs: AttributeList | undefined;
  while (r.pos < end) {
    const tag = r.tag(end);
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wire === LEN) {
      const text = r.string(end);
      scalar = { plain: text, canon: ['s', text] };
    } else if (field === 2 && wire === VARINT) {
      const value = r.bool(end);
      scalar = { plain: value, canon: ['b', value] };
    } else if (field === 3 && wire === VARINT) {
      r.varint64(end);
      const text = int64Text(r.low, r.high);
      // As decode.ts: a safe integer is a JSON number in the payload; past 2^53 it stays the exact decimal text.
      const asNumber = Number(text);
      scalar = { plain: Number.isSafeInteger(asNumber) ? asNumber : text, canon: ['i', text] };
    } else if (field === 4 && wire === I64) {
      const value = r.double(end);
      const plain = Number.isFinite(value) ? value : String(value);
      scalar = { plain, canon: ['d', plain] };
    } else if (field === 5 && wire === LEN) {
      // A repeated message member merges into the one before it, unless another member came in between.
      if (member !== 5 || items === undefined) items = [];
      valueList(r, r.delimited(end), depth + 1, level + 1, items);
    } else if (field === 6 && wire === LEN) {
      if (member !== 6 || pairs === undefined) pairs = new AttributeList();
      keyValues(r, r.delimited(end), depth + 1, level + 1, pairs);
    } else if (field === 7 && wire === LEN) {
      const start = r.bytes(end);
      const bytes = r.buf.toString('base64', start, r.pos);
      scalar = { plain: bytes, canon: ['y', bytes] };
    } else if (field === 8 && wire === VARINT) {
      // string_value_strindex (profiles' string table): a member logagg does not read, so the value is null.
      r.uint32(end);
    } else {
      r.skip(wire, field, end, depth);
      continue;
    }
    member = field;
  }
  if (level > MAX_VALUE_DEPTH) return TOO_DEEP;
  if (member === 5 && items !== undefined) {
    const at = items.findIndex((item) => item instanceof Deep);
    if (at >= 0) return (items[at] as Deep).under(`/arrayValue/values/${at}`);
    const values = items as Decoded[];
    return { plain: values.map((v) => v.plain), canon: ['a', values.map((v) => v.canon)] };
  }
  if (member === 6 && pairs !== undefined) {
    const attributes = pairs.finish();
    if (attributes instanceof Deep) return attributes.under('/kvlistValue/values');
    return { plain: attributes.plain, canon: ['k', attributes.canon] };
  }
  if (member === 0 || member === 8) return { plain: null, canon: ['n'] };
  return scalar as Decoded;
}

/** ArrayValue: its values, appended to `items`. */
function valueList(r: WireReader, end: number, depth: number, level: number, items: Value[]): void {
  r.enter(depth);
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | LEN)) items.push(anyValue(r, r.delimited(end), depth + 1, level));
    else r.skip(tag & 7, tag >>> 3, end, depth);
  }
}

/** KeyValueList: its pairs, added to `into`; their values are one level below `level`. */
function keyValues(r: WireReader, end: number, depth: number, level: number, into: AttributeList): void {
  r.enter(depth);
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | LEN)) keyValue(r, r.delimited(end), depth + 1, level, into);
    else r.skip(tag & 7, tag >>> 3, end, depth);
  }
}

/** A KeyValue whose value sits at value depth `level + 1`, added to `into`. */
export function keyValue(r: WireReader, end: number, depth: number, level: number, into: AttributeList): void {
  r.enter(depth);
  let key = '';
  let value: Value | null = null;
  let values: Array<[number, number]> | undefined;
  while (r.pos < end) {
    const tag = r.tag(end);
    if (tag === ((1 << 3) | LEN)) key = r.key(end);
    else if (tag === ((2 << 3) | LEN)) {
      const stop = r.delimited(end);
      const start = r.pos;
      if (values === undefined) value = anyValue(r, stop, depth + 1, level + 1);
      else r.pos = stop;
      (values ??= []).push([start, stop]);
    } else if (tag === ((3 << 3) | VARINT))
      r.uint32(end); // key_strindex, not read
    else r.skip(tag & 7, tag >>> 3, end, depth);
  }
  if (values !== undefined && values.length > 1) value = merged(r, values, (m, stop) => anyValue(m, stop, depth + 1, level + 1));
  into.add(key, value);
}

/**
 * A singular message field sent more than once is one message, their concatenation (protobuf's merge); decoded
 * again from the joined bytes, once, after its holder is read (no real sender does this).
 */
export function merged(r: WireReader, ranges: Array<[number, number]>, decode: (reader: WireReader, end: number) => Value): Value {
  const joined = Buffer.concat(ranges.map(([start, stop]) => r.buf.subarray(start, stop)));
  return decode(new WireReader(joined, r.maxDepth), joined.length);
}

/**
 * An attribute list as it is read: decode.ts's plain object (a repeated key: the last wins) and canon pairs, built
 * pair by pair, unless a value is nested too deep: then the first such value, by index, as decode.ts reports it.
 */
export class AttributeList {
  private readonly plain: Record<string, unknown> = {};
  private readonly canon: Array<[string, unknown]> = [];
  private deep: Deep | undefined;
  private count = 0;

  /** A KeyValue; its value is null when the field is absent (decode.ts reads that as null, without a depth check). */
  add(key: string, value: Value | null): void {
    const index = this.count++;
    if (this.deep !== undefined) return;
    if (value instanceof Deep) {
      this.deep = value.under(`/${index}/value`);
      return;
    }
    const decoded = value ?? { plain: null, canon: ['n'] };
    // defineProperty, not assignment, for "__proto__": that attribute is data, not the object's prototype.
    if (key === '__proto__')
      Object.defineProperty(this.plain, key, { value: decoded.plain, enumerable: true, writable: true, configurable: true });
    else this.plain[key] = decoded.plain;
    this.canon.push([key, decoded.canon]);
  }

  /** decode.ts's Attributes, canon sorted by key; or the first value nested too deep. */
  finish(): Attributes | Deep {
    if (this.deep !== undefined) return this.deep;
    sortByKey(this.canon);
    return { plain: this.plain, canon: this.canon };
  }
}

/**
 * Sorts [key, canon] pairs by key, stably, as decode.ts's Array#sort does. A short list (most are) by insertion,
 * which skips sort's comparator calls; a long one by Array#sort, as insertion is quadratic.
 */
function sortByKey(canon: Array<[string, unknown]>): void {
  if (canon.length > 16) {
    canon.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return;
  }
  for (let i = 1; i < canon.length; i++) {
    const item = canon[i] as [string, unknown];
    let j = i - 1;
    while (j >= 0 && (canon[j] as [string, unknown])[0] > item[0]) {
      canon[j + 1] = canon[j] as [string, unknown];
      j--;
    }
    canon[j + 1] = item;
  }
}
