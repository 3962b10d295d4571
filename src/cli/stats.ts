import { parseArgs } from 'node:util';
import { createClient } from '../client/index.js';
import { MAX_STATS_TOP } from '../schema/stats.js';
import { DEFAULT_URL } from './defaults.js';

export const STATS_USAGE = `usage: logagg stats [--url URL] [--api-key KEY] [--tenant NAME] [--top N] [--topic NAME]... [--json]
Prints the aggregator's counters (GET /stats): totals, then one line per listed topic: the top N by copies
received (default 20, at most 100) and each --topic (repeatable, at most 100). GET /topics lists every topic.
--tenant reads that tenant's (X-Scope-OrgID; default: the key's own, or default).`;

/** `logagg stats`: one GET /stats, printed as a table or JSON. */
export async function runStatsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', default: DEFAULT_URL },
      'api-key': { type: 'string' },
      tenant: { type: 'string' },
      top: { type: 'string' },
      topic: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  });
  const top = values.top === undefined ? undefined : Number(values.top);
  if (top !== undefined && !(Number.isInteger(top) && top >= 0 && top <= MAX_STATS_TOP)) {
    console.error(`logagg stats: --top must be an integer from 0 to ${MAX_STATS_TOP}, not ${values.top}\n${STATS_USAGE}`);
    return 2;
  }
  const client = createClient({
    url: values.url,
    apiKey: values['api-key'],
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
    concurrency: 1,
    retry: { maxAttempts: 3 },
  });
  try {
    const stats = await client.stats({ top, topics: values.topic });
    if (values.json) {
      console.log(JSON.stringify(stats, null, 2));
      return 0;
    }
    console.log(`store ${stats.store}, up ${stats.uptime} s, queue ${stats.pipeline.queued_events}/${stats.pipeline.max_queue}`);
    console.log(
      `received ${stats.received}  unique ${stats.unique_processed}  duplicates ${stats.duplicate_dropped}  stored ${stats.stored}  expired ${stats.expired}  deleted ${stats.deleted}`,
    );
    console.log(`topics ${stats.topic_count}, listed ${stats.topics.length}`);
    for (const topic of stats.topics) {
      const counts = stats.per_topic[topic];
      if (!counts) continue;
      console.log(
        `  ${topic}\treceived ${counts.received}\tunique ${counts.unique_processed}\tduplicates ${counts.duplicate_dropped}` +
          `\tstored ${counts.stored}\texpired ${counts.expired}\tdeleted ${counts.deleted}\tlast ${counts.last_received_at ?? '-'}`,
      );
    }
    return 0;
  } finally {
    client.close();
  }
}
