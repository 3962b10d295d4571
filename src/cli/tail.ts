#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { subscribe } from '../client/index.js';
import type { StoredEvent } from '../schema/event.js';
import { DEFAULT_URL } from './defaults.js';

const USAGE = `usage: logagg tail [options]
  --url URL        aggregator base URL (default ${DEFAULT_URL})
  --topic NAME     only this topic (default: every topic)
  --after SEQ      start after this seq (default: from now on)
  --api-key KEY    sent as Authorization: Bearer KEY
  --tenant NAME    follow this tenant's events (X-Scope-OrgID; default: the key's own, or default)
  --json           one JSON event per line (default: a readable line per event)
Follows the live stream; reconnects by itself and resumes where it left off. Ctrl-C stops.`;

function formatEvent(event: StoredEvent): string {
  return `${event.seq}\t${event.timestamp}\t${event.topic}\t${event.source}\t${event.event_id}\t${JSON.stringify(event.payload)}`;
}

/** Runs the tail until the signal aborts; returns the exit status. */
export async function runTail(argv: string[], signal: AbortSignal, print: (line: string) => void = console.log): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: 'string', default: DEFAULT_URL },
        topic: { type: 'string' },
        after: { type: 'string' },
        'api-key': { type: 'string' },
        tenant: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
    if (values.after !== undefined && !/^\d{1,15}$/.test(values.after)) throw new Error(`--after must be a seq, got "${values.after}"`);
  } catch (err) {
    console.error(`logagg tail: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  await subscribe({
    url: values.url,
    topic: values.topic,
    after: values.after === undefined ? undefined : Number(values.after),
    apiKey: values['api-key'],
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
    signal,
    onEvent: (event) => print(values.json ? JSON.stringify(event) : formatEvent(event)),
    onReconnect: ({ delayMs, lastSeq, error }) =>
      console.error(
        `logagg tail: ${error instanceof Error ? error.message : String(error)}; reconnecting in ${delayMs} ms after seq ${lastSeq ?? '-'}`,
      ),
  });
  return 0;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  runTail(process.argv.slice(2), stop.signal).then((code) => (process.exitCode = code));
}
