import { parseArgs } from 'node:util';
import { createClient } from '../client/index.js';
import { DEFAULT_URL } from './defaults.js';

export const STATS_USAGE = `usage: logagg stats [--url URL] [--api-key KEY] [--json]
Prints the aggregator's counters (GET /stats): totals, then one line per topic.`;

/** `logagg stats`: one GET /stats, printed as a table or JSON. */
export async function runStatsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', default: DEFAULT_URL },
      'api-key': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const client = createClient({ url: values.url, apiKey: values['api-key'], concurrency: 1, retry: { maxAttempts: 3 } });
  try {
    const stats = await client.stats();
    if (values.json) {
      console.log(JSON.stringify(stats, null, 2));
      return 0;
    }
    console.log(`store ${stats.store}, up ${stats.uptime} s, queue ${stats.pipeline.queued_events}/${stats.pipeline.max_queue}`);
    console.log(
      `received ${stats.received}  unique ${stats.unique_processed}  duplicates ${stats.duplicate_dropped}  stored ${stats.stored}  expired ${stats.expired}`,
    );
    for (const [topic, counts] of Object.entries(stats.per_topic)) {
      console.log(
        `  ${topic}\treceived ${counts.received}\tunique ${counts.unique_processed}\tduplicates ${counts.duplicate_dropped}` +
          `\tstored ${counts.stored}\texpired ${counts.expired}\tlast ${counts.last_received_at ?? '-'}`,
      );
    }
    return 0;
  } finally {
    client.close();
  }
}
