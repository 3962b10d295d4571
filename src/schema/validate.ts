import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { type Event, EventSchema, MAX_NAME_LENGTH } from './event.js';

/** Deepest payload nesting accepted; deeper documents are refused before they reach the store. */
export const MAX_PAYLOAD_DEPTH = 64;

/** One reason an event was refused: which event (index in the request) and where in it. */
export interface EventProblem {
  index: number;
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; events: Event[] } | { ok: false; tooMany: boolean; problems: EventProblem[] };

// Our own Ajv, not Fastify's: Fastify's strips unknown fields (removeAdditional) and coerces types, and the
// event contract refuses both (docs/spec.md §2).
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats.default(ajv, ['date-time']);
const checkEvent = ajv.compile<Event>(EventSchema);

const compiledBodies = new WeakMap<object, ReturnType<typeof ajv.compile>>();

/**
 * A route's body validator on this Ajv: unknown fields are refused, never stripped, and nothing is coerced. For
 * admin bodies, where a misspelt field that Fastify dropped would widen a deletion. Compiled once per schema (an
 * $id may be registered once), however many apps a process builds.
 */
export function strictBodyValidator({ schema }: { schema: object }): ReturnType<typeof ajv.compile> {
  let check = compiledBodies.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiledBodies.set(schema, check);
  }
  return check;
}

// The store takes an instant in 1 BC or in year 10000 but renders it back as "0001-12-31T23:00:00 BCZ" or
// "10000-01-01T00:00:00Z", neither RFC 3339: such timestamps are refused. Only years 0001 and 9999 can get there.
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const END_INSTANT = Date.parse('+010000-01-01T00:00:00Z');
const EDGE_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d).(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d):(\d\d))$/;

/** Whether a timestamp that passed the schema lies in years 0001 to 9999 once moved to UTC. */
function timestampInRange(timestamp: string): boolean {
  if (!timestamp.startsWith('0001') && !timestamp.startsWith('9999')) return true;
  const parts = EDGE_TIMESTAMP.exec(timestamp);
  if (!parts) return false;
  const field = (i: number): number => Number(parts[i] ?? 0);
  const offsetMinutes = (parts[8] === '-' ? -1 : 1) * (field(9) * 60 + field(10));
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999.
  const instant = new Date(0);
  instant.setUTCFullYear(field(1), field(2) - 1, field(3));
  instant.setUTCHours(field(4), field(5) - offsetMinutes, field(6));
  // The store rounds the fraction to microseconds: .9999995 and up carries into the next second.
  const carry = Math.round(Number(`0.${parts[7] ?? ''}`) * 1e6) >= 1e6 ? 1000 : 0;
  const at = instant.getTime() + carry;
  return at >= FIRST_INSTANT && at < END_INSTANT;
}

const TIMESTAMP_RULES =
  'must be an RFC 3339 date-time: "T", "t" or a space before the time, at most 12 fraction digits, an offset of at most ±15:59';

function describe(error: ErrorObject): { path: string; message: string } {
  if (error.keyword === 'additionalProperties') {
    const field = String(error.params.additionalProperty);
    return { path: `${error.instancePath}/${field}`, message: `unknown field "${field}"` };
  }
  if (error.keyword === 'required') {
    const field = String(error.params.missingProperty);
    return { path: `${error.instancePath}/${field}`, message: `missing required field "${field}"` };
  }
  if (error.keyword === 'pattern' && error.instancePath === '/timestamp') {
    return { path: error.instancePath, message: TIMESTAMP_RULES };
  }
  return { path: error.instancePath, message: error.message ?? 'is invalid' };
}

/**
 * Finds what the store could not hold or that JSON.parse let through: U+0000 and unpaired surrogates (text and
 * jsonb refuse them, failing a whole batch) and nesting past MAX_PAYLOAD_DEPTH.
 */
function payloadProblem(value: unknown, path: string, depth: number): { path: string; message: string } | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000') || !value.isWellFormed()) {
      return { path, message: 'strings must not contain U+0000 or unpaired surrogates' };
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_PAYLOAD_DEPTH) return { path, message: `nesting deeper than ${MAX_PAYLOAD_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = payloadProblem(value[i], `${path}/${i}`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const keyProblem = payloadProblem(key, `${path}/${key}`, depth);
    if (keyProblem) return keyProblem;
    const problem = payloadProblem((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function eventProblems(candidate: unknown, index: number, problems: EventProblem[]): void {
  if (!checkEvent(candidate)) {
    for (const error of checkEvent.errors ?? []) problems.push({ index, ...describe(error) });
    return;
  }
  for (const field of ['topic', 'event_id', 'source'] as const) {
    if (!candidate[field].isWellFormed()) {
      problems.push({ index, path: `/${field}`, message: 'must not contain unpaired surrogates' });
    } else if (candidate[field].startsWith('\uFEFF')) {
      // PGlite's text decoder drops a leading byte order mark from every value it reads, so the embedded store
      // would hand back another key than the one stored (and a publish would be told its new event was a copy).
      problems.push({ index, path: `/${field}`, message: 'must not begin with U+FEFF (a byte order mark)' });
    }
  }
  if (!timestampInRange(candidate.timestamp)) {
    problems.push({ index, path: '/timestamp', message: 'must lie in years 0001 to 9999 in UTC' });
  }
  const problem = payloadProblem(candidate.payload, '/payload', 1);
  if (problem) problems.push({ index, ...problem });
}

/**
 * Accepts one event, an array of events, or {"events": [...]}; checks every event and names each bad one, so a
 * request is taken whole or refused whole.
 */
export function validatePublishBody(body: unknown, maxEvents: number): ValidationResult {
  let candidates: unknown[];
  if (Array.isArray(body)) {
    candidates = body;
  } else if (typeof body === 'object' && body !== null && 'events' in body) {
    const keys = Object.keys(body);
    if (keys.length !== 1 || !Array.isArray(body.events)) {
      return {
        ok: false,
        tooMany: false,
        problems: [{ index: -1, path: '', message: 'an envelope must be exactly {"events": [...]}' }],
      };
    }
    candidates = body.events as unknown[];
  } else {
    candidates = [body];
  }
  if (candidates.length > maxEvents) {
    return {
      ok: false,
      tooMany: true,
      problems: [{ index: -1, path: '', message: `${candidates.length} events; at most ${maxEvents} per request` }],
    };
  }
  const problems: EventProblem[] = [];
  for (let i = 0; i < candidates.length; i++) eventProblems(candidates[i], i, problems);
  return problems.length === 0 ? { ok: true, events: candidates as Event[] } : { ok: false, tooMany: false, problems };
}

/** Whether a name (topic, event_id, source) passes the schema and the checks of eventProblems. */
function nameOk(value: string): boolean {
  // maxLength counts code points, as Ajv does; a string of at most MAX_NAME_LENGTH code units is within it.
  const withinLength = value.length <= MAX_NAME_LENGTH || [...value].length <= MAX_NAME_LENGTH;
  return value.length > 0 && withinLength && !value.includes('\u0000') && value.isWellFormed() && !value.startsWith('\uFEFF');
}

/**
 * validatePublishBody for events an inlet built itself (Loki push, OTLP): the object's shape is the Event type's
 * and the timestamp is the inlet's own UTC text of an integer nanosecond time (years 1970 to 2554), so only what
 * came from the sender is checked here: the three names and the payload. Anything refused goes through
 * validatePublishBody, so the problems and their messages are the same; the schema check per event (Ajv and its
 * date-time format: 8% of the Loki inlet's CPU) is skipped only for requests that pass.
 */
export function validateDerivedEvents(events: Event[]): ValidationResult {
  for (const event of events) {
    if (!nameOk(event.topic) || !nameOk(event.event_id) || !nameOk(event.source) || payloadProblem(event.payload, '/payload', 1)) {
      return validatePublishBody(events, Number.MAX_SAFE_INTEGER);
    }
  }
  return { ok: true, events };
}
