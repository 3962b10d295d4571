#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_NATS_SUBJECT_PREFIX } from '../schema/nats.js';
import { DEFAULT_URL } from './defaults.js';
import { createProgressReporter } from './progress.js';
import { runNatsPublisher } from './publish-nats.js';
import { type PublisherOptions, type PublisherReport, runPublisher } from './publish-run.js';

const USAGE = `usage: logagg publish [options]   (also: logagg-publisher, npm run publisher --)
  --url URL             aggregator base URL (default ${DEFAULT_URL})
  --events N            copies to send in all, re-sends included (default 20000)
  --dup-rate R          share of copies that re-send an event already sent, 0..1 (default 0.3)
  --topics N            topics to spread events over (default 5)
  --batch N             events per request; 1 sends single-event POSTs (default 100)
  --concurrency N       requests in flight (default 16)
  --seed N              PRNG seed: the same seed replays the same stream (default 42)
  --payload-bytes N     size of each event's payload.content (default 100)
  --topic-prefix NAME   prefix of this run's topics and event ids (default publisher.<random>)
  --timeout-ms N        longest wait for one answer before retrying (default 30000)
  --max-attempts N      attempts per request before giving up (default 8)
  --api-key KEY         sent as Authorization: Bearer KEY
  --tenant NAME         publish to (and verify in) this tenant, sent as X-Scope-OrgID (HTTP only)
  --transport T         http (default) or nats: publish to JetStream, one event per message, Nats-Msg-Id = event_id
  --nats-url URL        with --transport nats (default nats://127.0.0.1:4222)
  --subject-prefix P    with --transport nats: subjects P.<topic> (default ${DEFAULT_NATS_SUBJECT_PREFIX})
  --json                print the report as JSON on stdout
Exit status: 0 when every request succeeded and the /stats verification holds, 1 otherwise, 2 on bad usage.`;

class UsageError extends Error {}

function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < min || value > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** Parses the command line into publisher options (and whether to print JSON). */
export function parsePublisherArgs(
  argv: string[],
): { options: PublisherOptions; json: boolean; nats?: { url: string; subjectPrefix: string } } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', default: DEFAULT_URL },
      events: { type: 'string', default: '20000' },
      'dup-rate': { type: 'string', default: '0.3' },
      topics: { type: 'string', default: '5' },
      batch: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      seed: { type: 'string', default: '42' },
      'payload-bytes': { type: 'string', default: '100' },
      'topic-prefix': { type: 'string' },
      'timeout-ms': { type: 'string', default: '30000' },
      'max-attempts': { type: 'string', default: '8' },
      'api-key': { type: 'string' },
      tenant: { type: 'string' },
      transport: { type: 'string', default: 'http' },
      'nats-url': { type: 'string', default: 'nats://127.0.0.1:4222' },
      'subject-prefix': { type: 'string', default: DEFAULT_NATS_SUBJECT_PREFIX },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const dupRate = Number(values['dup-rate']);
  if (!/^\d*\.?\d+$/.test(values['dup-rate']) || dupRate >= 1)
    throw new UsageError(`--dup-rate must be a number from 0 to below 1, got "${values['dup-rate']}"`);
  try {
    new URL(values.url);
  } catch (err) {
    throw new UsageError(`--url is not a URL: "${values.url}"`, { cause: err });
  }

  const options: PublisherOptions = {
    url: values.url,
    events: integer(values.events, 'events', 0, 100_000_000),
    dupRate,
    topics: integer(values.topics, 'topics', 1, 10_000),
    batch: integer(values.batch, 'batch', 1, 10_000),
    concurrency: integer(values.concurrency, 'concurrency', 1, 10_000),
    seed: integer(values.seed, 'seed', 0, 2 ** 32 - 1),
    payloadBytes: integer(values['payload-bytes'], 'payload-bytes', 0, 1_000_000),
    topicPrefix: values['topic-prefix'] ?? `publisher.${randomBytes(4).toString('hex')}`,
    timeoutMs: integer(values['timeout-ms'], 'timeout-ms', 1, 3_600_000),
    retry: { maxAttempts: integer(values['max-attempts'], 'max-attempts', 1, 1000) },
    apiKey: values['api-key'],
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
  };
  if (values.transport !== 'http' && values.transport !== 'nats')
    throw new UsageError(`--transport must be http or nats, got "${values.transport}"`);
  const nats = values.transport === 'nats' ? { url: values['nats-url'], subjectPrefix: values['subject-prefix'] } : undefined;
  // A NATS message's tenant is the server's NATS_TENANT (or its header with *), which this publisher does not set.
  if (nats && values.tenant !== undefined) throw new UsageError('--tenant is for --transport http');
  return { options, json: values.json, ...(nats ? { nats } : {}) };
}

const ms = (value: number): string => (Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(1));

/** The human summary printed at the end of a run. */
export function formatReport(report: PublisherReport): string {
  const lines = [
    `sent       ${report.sent} events (${report.distinctSent} distinct, ${report.duplicatesSent} re-sends) in ${report.requests} requests to ${report.url}`,
    `retried    ${report.retried} attempts; failed ${report.failedRequests} requests (${report.failedEvents} events)`,
    ...(report.droppedByStream === undefined ? [] : [`jetstream  dropped ${report.droppedByStream} re-sends inside its duplicate window`]),
    `throughput ${Math.round(report.eventsPerSecond)} events/s over ${(report.elapsedMs / 1000).toFixed(2)} s`,
    `latency    p50 ${ms(report.latencyMs.p50)} ms, p95 ${ms(report.latencyMs.p95)} ms, p99 ${ms(report.latencyMs.p99)} ms, max ${ms(report.latencyMs.max)} ms`,
    `/stats     gained received ${report.gained.received}, unique ${report.gained.unique_processed}, duplicates ${report.gained.duplicate_dropped} (topics ${report.topics[0] ?? ''}…)`,
    ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: expected ${c.expected}, got ${c.actual}`),
    ...report.errors.map((e) => `  error: ${e}`),
    report.ok ? 'verification passed' : 'verification FAILED',
  ];
  return lines.join('\n');
}

/** `logagg publish`: runs the publisher with these arguments; returns the exit status. */
export async function runPublishCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parsePublisherArgs>;
  try {
    parsed = parsePublisherArgs(argv);
  } catch (err) {
    console.error(`logagg-publisher: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const progress = createProgressReporter();
  const report = parsed.nats
    ? await runNatsPublisher({ ...parsed.options, natsUrl: parsed.nats.url, subjectPrefix: parsed.nats.subjectPrefix }, (p) =>
        progress.update(p),
      )
    : await runPublisher(parsed.options, (p) => progress.update(p));
  progress.finish();
  console.log(parsed.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ok ? 0 : 1;
}

// Run only as a program, not when the bench or a test imports this module; the bin is a symlink, hence realpath.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  runPublishCommand(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`logagg-publisher: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
