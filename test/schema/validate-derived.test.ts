import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Event } from '../../src/schema/event.js';
import { validateDerivedEvents, validatePublishBody } from '../../src/schema/validate.js';

/*
 * validateDerivedEvents (the Loki and OTLP inlets) skips the schema check for events the inlet built, and must
 * refuse exactly what validatePublishBody refuses, with the same problems: compared on random batches whose names
 * and payload strings hold what the checks are about (empty, U+0000, a byte order mark, lone surrogates, astral
 * characters around the 255 limit, nesting past the depth limit) and timestamps as the inlets write them.
 */

const piece = fc.constantFrom('a', 'é', '😀', '\u0000', '\uFEFF', '\uD800', '\uDC00', ' ', 'x'.repeat(120));
const text = fc.array(piece, { maxLength: 5 }).map((parts) => parts.join(''));
const name = fc.oneof(text, fc.constantFrom('', 'a'.repeat(255), 'a'.repeat(256), '😀'.repeat(255), '😀'.repeat(256), '\uFEFFx'));
const deep = (depth: number): Record<string, unknown> => (depth === 0 ? { v: 1 } : { n: deep(depth - 1) });
const payload = fc.oneof(
  fc.dictionary(text, fc.oneof(text, fc.integer(), fc.array(text, { maxLength: 3 })), { maxKeys: 3 }),
  fc.constantFrom(deep(62), deep(63), deep(64), deep(70)),
);
const nanos = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => n.toString());
const timestamp = nanos.map((ns) => {
  const seconds = ns.length > 9 ? ns.slice(0, -9) : '0';
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${ns.slice(-9).padStart(9, '0')}Z`;
});
const event = fc.record({ topic: name, event_id: name, timestamp, source: name, payload });

test('validateDerivedEvents refuses what validatePublishBody refuses, with the same problems', () => {
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 4 }), (events: Event[]) => {
      assert.deepEqual(validateDerivedEvents(events), validatePublishBody(events, Number.MAX_SAFE_INTEGER));
    }),
    { numRuns: 2000, seed: 15 },
  );
});

test('a batch the inlets built of plain values passes without problems', () => {
  const events: Event[] = [
    { topic: 'loki', event_id: 'a'.repeat(64), timestamp: '2026-12-01T14:00:00.123456Z', source: 'api', payload: { line: 'GET /' } },
  ];
  assert.deepEqual(validateDerivedEvents(events), { ok: true, events });
});
