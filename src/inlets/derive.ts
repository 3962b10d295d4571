import * as crypto from 'node:crypto';

/*
 * What the inlets that derive events from another format share: the digest of an entry's identity (its event_id
 * when the format carries none) and nanosecond times as RFC 3339 text.
 */

/** sha256 in hex: one-shot crypto.hash where Node has it (20.12+), a third of createHash's cost at these sizes. */
export const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

let lastSeconds = '';
let lastSecondsText = '';

/**
 * RFC 3339 in UTC with `fractionDigits` (at most 9) of the fraction, truncated, never rounded into the next second.
 * `nanos` is a decimal string without leading zeros, so the split is done on the text: the whole seconds (at most
 * 2^64 / 10^9, well within a double's exact integers) and the last nine digits. The entries of a batch mostly
 * fall in the same second, whose text is kept from the entry before (a Date and toISOString per entry were 5% of
 * the Loki inlet's CPU).
 */
export function nanosToTimestamp(nanos: string, fractionDigits: number): string {
  const seconds = nanos.length > 9 ? nanos.slice(0, -9) : '0';
  if (seconds !== lastSeconds) {
    lastSecondsText = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
    lastSeconds = seconds;
  }
  return `${lastSecondsText}.${nanos.slice(-9).padStart(9, '0').slice(0, fractionDigits)}Z`;
}
