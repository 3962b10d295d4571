import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';

/**
 * Hostile-input generators and the oracle they are checked against. The oracle is written from docs/spec.md §2–§3 and
 * docs/errors.md, not from src/: it says what POST /publish and GET /events must answer for a given input.
 */

export interface Limits {
  bodyLimit: number;
  maxBatchEvents: number;
}

/** 200 with the number of events received, or a refusal with its status and code. */
export type Expected = { status: 200; received: number } | { status: number; error: ErrorCode };

export const refusal = (error: ErrorCode): Expected => ({ status: ERROR_CODES[error].status, error });

/** A JSON token written as is: numbers JSON.stringify cannot produce (1e400, 2^53 + 1, -0). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of a value that may hold RawJson tokens and own `__proto__` keys. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, v]) => `${JSON.stringify(key)}:${toJsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** An object with these own entries, `__proto__` included (an object literal would set the prototype instead). */
export function ownEntries(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

export interface Reply {
  status: number;
  contentType: string;
  body: unknown;
}

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text, and assertRefusal says so.
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body };
}

/** Every refusal: a 4xx whose JSON body is {error, message} with a code of src/errors.ts that has this status. */
export function assertRefusal(reply: Reply): void {
  const shown = JSON.stringify(reply.body).slice(0, 300);
  assert.ok(reply.status >= 400 && reply.status < 500, `expected a 4xx, got ${reply.status}: ${shown}`);
  assert.match(reply.contentType, /^application\/json/, shown);
  const { error, message } = reply.body as { error?: string; message?: unknown };
  assert.ok(error !== undefined && error in ERROR_CODES, `unknown error code: ${shown}`);
  assert.equal(ERROR_CODES[error as ErrorCode].status, reply.status, shown);
  assert.equal(typeof message, 'string', shown);
}

// ---- oracle ----------------------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** topic, event_id, source: 1–255 code points, no U+0000, no unpaired surrogate. */
export function nameOk(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && [...value].length <= 255 && !value.includes('\0') && value.isWellFormed();
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * RFC 3339 with the limits docs/errors.md sets: "T", "t" or a space before the time, at most 12 fraction digits,
 * offsets ±HH:MM up to ±15:59, a leap second only at 23:59 UTC and without a fraction, no year 0000; an event's
 * timestamp must also lie in years 0001–9999 in UTC (a query's since/until need not).
 */
export function timestampOk(value: unknown, inEvent = true): boolean {
  if (typeof value !== 'string') return false;
  const parts = DATE_TIME.exec(value);
  if (!parts) return false;
  const field = (i: number) => Number(parts[i] ?? 0);
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 9, 10].map(field) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = parts[7] ?? '';
  const offset = (parts[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60 || fraction.length > 12 || offsetHours > 15 || offsetMinutes > 59) return false;
  if (second === 60 && (/[1-9]/.test(fraction) || (((hour * 60 + minute - offset) % 1440) + 1440) % 1440 !== 1439)) return false;
  if (!inEvent) return true;
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute - offset, second);
  // PostgreSQL keeps microseconds, rounding the double it reads: .9999995 becomes the next second.
  const roundsUp = Math.round(Number(`0.${fraction}`) * 1e6) === 1e6;
  const at = instant.getTime() + (roundsUp ? 1000 : 0);
  return at >= Date.parse('0001-01-01T00:00:00Z') && at < Date.parse('+010000-01-01T00:00:00Z');
}

/** A JSON object whose strings and keys hold no U+0000 or unpaired surrogate, nested at most 64 levels. */
export function payloadOk(value: unknown): boolean {
  if (!isObject(value)) return false;
  const stack: [unknown, number][] = [[value, 1]];
  const textOk = (text: string) => !text.includes('\0') && text.isWellFormed();
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node === 'string' && !textOk(node)) return false;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > 64) return false;
    for (const [key, child] of Object.entries(node)) {
      if (!textOk(key)) return false;
      stack.push([child, depth + 1]);
    }
  }
  return true;
}

const EVENT_FIELDS = ['topic', 'event_id', 'timestamp', 'source', 'payload'];

export function eventOk(value: unknown): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== EVENT_FIELDS.length || !EVENT_FIELDS.every((field) => keys.includes(field))) return false;
  return nameOk(value.topic) && nameOk(value.event_id) && nameOk(value.source) && timestampOk(value.timestamp) && payloadOk(value.payload);
}

/** A `__proto__` key, or a `constructor` object with a `prototype` key, anywhere: refused as prototype poisoning. */
export function poisoned(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Object.hasOwn(node, '__proto__')) return true;
    const ctor = (node as Record<string, unknown>).constructor;
    if (Object.hasOwn(node, 'constructor') && typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true;
    stack.push(...Object.values(node));
  }
  return false;
}

/** The events a publish body holds, or the reason it holds none (docs/spec.md §3: one event, an array, or {"events"}). */
export function eventsOf(body: string): unknown[] | ErrorCode {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'INVALID_JSON';
  }
  if (poisoned(parsed)) return 'INVALID_JSON';
  if (Array.isArray(parsed)) return parsed;
  if (isObject(parsed) && Object.hasOwn(parsed, 'events')) {
    return Object.keys(parsed).length === 1 && Array.isArray(parsed.events) ? parsed.events : 'VALIDATION_FAILED';
  }
  return [parsed];
}

/** What POST /publish must answer for a UTF-8 JSON body. */
export function expectedPublish(body: string, limits: Limits): Expected {
  if (Buffer.byteLength(body) > limits.bodyLimit) return refusal('BODY_TOO_LARGE');
  const events = eventsOf(body);
  if (typeof events === 'string') return refusal(events);
  if (events.length > limits.maxBatchEvents) return refusal('BATCH_TOO_LARGE');
  return events.every(eventOk) ? { status: 200, received: events.length } : refusal('VALIDATION_FAILED');
}

// ---- generators --------------------------------------------------------------------------------------------------

export const SQL_SNIPPETS = [
  "x'); DROP TABLE events;--",
  "' OR '1'='1",
  '"; DELETE FROM topic_stats; --',
  '1; SELECT pg_sleep(10)--',
  "'; COPY events TO PROGRAM 'id'; --",
  "' UNION SELECT usename, passwd FROM pg_shadow --",
  "'||(SELECT version())||'",
  '$1',
  '$$; DROP TABLE events; $$',
  "E'\\x00'",
  "U&'\\0000'",
  "%' AND 1=1 --",
  '/* */ DROP/**/TABLE/**/events',
  'NULL',
  ');TRUNCATE events CASCADE;--',
  "\\'; SET statement_timeout = 1; --",
  '{"$where": "1"}',
  "'::json; SELECT 1; --",
];

/** One code point or a known troublemaker: NUL, lone surrogates, BOM, line separators, quotes, RTL override. */
export const nastyChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '\0',
      '\ud800',
      '\udfff',
      '\ufeff',
      '\u2028',
      '\u202e',
      '\uffff',
      '\u00a0',
      '\t',
      '\n',
      '"',
      '\\',
      "'",
      ';',
      '%',
      '\u0301',
    ),
  },
);

export const sqlString = fc.tuple(fc.constantFrom(...SQL_SNIPPETS), fc.string({ maxLength: 6 })).map(([sql, tail]) => sql + tail);

export const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(new RawJson('1e400'), new RawJson('9007199254740993'), new RawJson('-0'), new RawJson('1E-400')),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);

/** topic, event_id or source: mostly valid, often SQL, sometimes long, nasty or the wrong type. */
export const nameValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 4, arbitrary: sqlString },
  { weight: 2, arbitrary: fc.string({ unit: nastyChar, minLength: 0, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 253, max: 258 }), fc.constantFrom('x', '𝒳', 'é')).map(([n, c]) => c.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'x'.repeat(5000)) },
  { weight: 1, arbitrary: wrongType },
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** RFC 3339-shaped timestamps around every edge: years 0000/0001/9999, leap days and seconds, offsets, fractions. */
export const timestampValue: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(fc.constantFrom(0, 1, 2, 1970, 2000, 2016, 2024, 2100, 9998, 9999), fc.integer({ min: 0, max: 9999 })),
    month: fc.oneof(fc.constantFrom(1, 2, 12), fc.integer({ min: 0, max: 13 })),
    day: fc.oneof(fc.constantFrom(1, 28, 29, 30, 31), fc.integer({ min: 0, max: 32 })),
    hour: fc.oneof(fc.constantFrom(0, 23), fc.integer({ min: 0, max: 24 })),
    minute: fc.oneof(fc.constantFrom(0, 59), fc.integer({ min: 0, max: 60 })),
    second: fc.oneof(fc.constantFrom(0, 59, 60), fc.integer({ min: 0, max: 61 })),
    fraction: fc.oneof(
      fc.constant(''),
      fc.constantFrom(
        '.0',
        '.000000000',
        '.999999',
        '.9999995',
        '.9999999',
        '.123456789',
        '.999999999999',
        '.9999999999999',
        '.' + '9'.repeat(15),
        '.' + '0'.repeat(12),
        '.' + '0'.repeat(13),
        '.' + '1'.repeat(200),
        '.',
      ),
      fc.stringMatching(/^\.[0-9]{1,14}$/),
    ),
    separator: fc.constantFrom('T', 'T', 't', ' ', '\t', '\n', '\u00a0', '\u2003', '_', ''),
    zone: fc.oneof(
      fc.constantFrom(
        'Z',
        'z',
        '',
        '+00:00',
        '-00:00',
        '+23:59',
        '-23:59',
        '+15:59',
        '-15:59',
        '+16:00',
        '+14:00',
        '-12:00',
        '+2359',
        '+23',
        '+05:30:00',
        'UTC',
        ' Z',
      ),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }))
        .map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`),
    ),
  })
  .map(
    (t) =>
      `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}${t.separator}${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${t.fraction}${t.zone}`,
  );

const payloadLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: sqlString },
  { weight: 1, arbitrary: fc.string({ unit: nastyChar, maxLength: 6 }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new RawJson('1e400'),
      new RawJson('-1e400'),
      new RawJson('9007199254740993'),
      new RawJson('123456789012345678901234567890'),
      new RawJson('-0'),
      new RawJson('0.' + '1'.repeat(400)),
    ),
  },
);

const payloadKey = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: sqlString },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '\0', '\ud800', '') },
);

/** Payload objects: nested values with SQL strings, huge numbers, nasty keys (including __proto__). */
const payloadObject: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ node: unknown; object: Record<string, unknown> }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, payloadLeaf, tie('object'), fc.array(tie('node'), { maxLength: 3 })),
  object: fc.array(fc.tuple(payloadKey, tie('node')), { maxLength: 4 }).map(ownEntries),
})).object;

/** A payload: usually an object, sometimes not. */
export const payloadValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 6, arbitrary: payloadObject }, { weight: 1, arbitrary: wrongType });

/** One event built field by field; each field is sometimes missing, and extra keys are sometimes added. */
export const eventValue: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    topic: nameValue,
    event_id: nameValue,
    timestamp: fc.oneof({ weight: 6, arbitrary: timestampValue }, { weight: 1, arbitrary: sqlString }, { weight: 1, arbitrary: wrongType }),
    source: nameValue,
    payload: payloadValue,
    missing: fc.option(fc.constantFrom(...EVENT_FIELDS), { freq: 8 }),
    extra: fc.option(
      fc.tuple(
        fc.constantFrom('severity', 'constructor', 'prototype', '__proto__', 'Topic', 'events', "'; DROP TABLE events;--"),
        wrongType,
      ),
      { freq: 8 },
    ),
  })
  .map(({ missing, extra, ...fields }) => {
    const entries: [string, unknown][] = Object.entries(fields).filter(([key]) => key !== missing);
    if (extra) entries.push(extra);
    return ownEntries(entries);
  });

/** A body of one event, an array of events, or an {"events": [...]} envelope. */
export const publishBody = (events: fc.Arbitrary<Record<string, unknown>>, maxEvents: number): fc.Arbitrary<string> =>
  fc.oneof(
    events.map(toJsonText),
    fc.array(events, { maxLength: maxEvents }).map(toJsonText),
    fc.array(events, { maxLength: maxEvents }).map((list) => toJsonText({ events: list })),
  );
