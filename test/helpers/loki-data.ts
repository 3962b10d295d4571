import type { Event } from '../../src/schema/event.js';

/**
 * A fixed data set for the Loki read API tests: two topics, two sources, lines from message fields and from
 * whole payloads, levels as strings, pino numbers and OTLP severities, two events at the same instant, unicode.
 */
export const T0 = Date.UTC(2025, 0, 1) / 1000;
export const ns = (seconds: number): string => (BigInt(T0 + seconds) * 1_000_000_000n).toString();
const at = (seconds: number): string => new Date((T0 + seconds) * 1000).toISOString();

const event = (id: string, seconds: number, topic: string, source: string, payload: Record<string, unknown>): Event => ({
  topic,
  event_id: id,
  timestamp: at(seconds),
  source,
  payload,
});

export const LOKI_EVENTS: Event[] = [
  event('e1', 0, 'shop', 'api', { message: 'order 42 created', level: 'info', user: { id: 42 } }),
  event('e2', 10, 'shop', 'api', { message: 'order 42 failed: timeout', level: 'error', status: 504 }),
  event('e3', 20, 'shop', 'worker', { msg: 'retry order 42', level: 40 }),
  event('e4', 30, 'auth', 'api', { level: 'ERR', user: 'é', path: '/login' }),
  event('e5', 60, 'shop', 'api', { message: 'status=200 duration=15ms café ☕', severity_number: 9 }),
  event('e6', 60, 'shop', 'api', { message: 'status=500 duration=1.5s', level: 'warning' }),
  event('e7', 90, 'shop', 'worker', { message: '{"nested":{"k":"v"},"n":1.50}', level: 'debug' }),
  event('e8', 120, 'auth', 'api', { message: 'login ok' }),
];

/** Each event's line (src/query/line.ts) and detected_level, by id. */
export const LINES: Record<string, string> = {
  e1: 'order 42 created',
  e2: 'order 42 failed: timeout',
  e3: 'retry order 42',
  e4: '{"level":"ERR","user":"é","path":"/login"}',
  e5: 'status=200 duration=15ms café ☕',
  e6: 'status=500 duration=1.5s',
  e7: '{"nested":{"k":"v"},"n":1.50}',
  e8: 'login ok',
};
export const LEVEL: Record<string, string> = {
  e1: 'info',
  e2: 'error',
  e3: 'warn',
  e4: 'error',
  e5: 'info',
  e6: 'warn',
  e7: 'debug',
  e8: 'unknown',
};
export const SECONDS: Record<string, number> = { e1: 0, e2: 10, e3: 20, e4: 30, e5: 60, e6: 60, e7: 90, e8: 120 };
