import pg from 'pg';
import { planStream } from '../src/cli/publish-stream.js';
import type { Event } from '../src/schema/event.js';
import { WORDS_FUNCTION } from '../src/store/migrations/005-words.js';
import { LINE_FUNCTION } from '../src/store/migrations/006-line.js';
import { WORDS_SQL } from '../src/store/words-sql.js';
import { createScratchDatabase } from './aggregator.js';

// The events table's shape (src/store/migrations/): same columns, keys and indexes, the word and ts indexes included, so
// the ceiling pays the same index maintenance as the aggregator does.
const CREATE_TABLE = `${LINE_FUNCTION}${WORDS_FUNCTION}
CREATE TABLE raw_events (
  seq bigint GENERATED ALWAYS AS IDENTITY, tenant text NOT NULL DEFAULT 'default', topic text NOT NULL,
  event_id text NOT NULL, ts timestamptz NOT NULL,
  source text NOT NULL, payload json NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, topic, event_id));
CREATE UNIQUE INDEX raw_events_seq_key ON raw_events (seq);
CREATE INDEX raw_events_topic_seq_idx ON raw_events (tenant, topic, seq);
CREATE INDEX raw_events_tenant_seq_idx ON raw_events (tenant, seq) WHERE tenant <> 'default';
CREATE INDEX raw_events_words_idx ON raw_events USING gin (${WORDS_SQL});
CREATE INDEX raw_events_ts_idx ON raw_events (tenant, ts) INCLUDE (topic, source);`;

// Arrays through unnest: the cheapest set-based shape for a bare client (one parameter per column, not per field).
const INSERT = `
INSERT INTO raw_events (topic, event_id, ts, source, payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::json[])
ON CONFLICT (tenant, topic, event_id) DO NOTHING`;

export interface RawCeilingOptions {
  adminUrl: string;
  rows: number;
  dupRate: number;
  batchSize: number;
  connections: readonly number[];
  runs: number;
}

/** Rows per second for each connection count, one sample per run. */
export type RawCeilingSamples = Map<number, number[]>;

type Columns = [string[], string[], string[], string[], string[]];

function toColumns(events: Event[]): Columns {
  // Sorted by key, so two connections inserting overlapping keys lock them in the same order and cannot deadlock.
  events.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
  const columns: Columns = [[], [], [], [], []];
  for (const e of events) {
    columns[0].push(e.topic);
    columns[1].push(e.event_id);
    columns[2].push(e.timestamp);
    columns[3].push(e.source);
    columns[4].push(JSON.stringify(e.payload));
  }
  return columns;
}

async function onePass(url: string, batches: Columns[], connections: number, distinct: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  try {
    await (clients[0] as pg.Client).query('TRUNCATE raw_events RESTART IDENTITY');
    let next = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (let b = next++; b < batches.length; b = next++) await client.query(INSERT, batches[b]);
      }),
    );
    const elapsed = performance.now() - started;
    const { rows } = await (clients[0] as pg.Client).query<{ n: string }>('SELECT count(*) AS n FROM raw_events');
    if (Number(rows[0]?.n) !== distinct) throw new Error(`raw ceiling stored ${rows[0]?.n} rows, expected ${distinct}`);
    const copies = batches.reduce((n, columns) => n + columns[0].length, 0);
    return (copies / elapsed) * 1000;
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/**
 * The raw database ceiling: batched INSERT … ON CONFLICT DO NOTHING from a bare pg client, same row shape and
 * duplicate pattern as the publisher's stream, one transaction per batch, in a scratch database it drops.
 */
export async function measureRawCeiling(options: RawCeilingOptions): Promise<RawCeilingSamples> {
  const stream = planStream({
    events: options.rows,
    dupRate: options.dupRate,
    topics: 5,
    seed: 42,
    payloadBytes: 100,
    batch: options.batchSize,
    concurrency: Math.max(...options.connections),
    topicPrefix: 'raw',
  });
  const batches: Columns[] = [];
  for (let from = 0; from < stream.order.length; from += options.batchSize) {
    const events = Array.from(stream.order.subarray(from, from + options.batchSize), (index) => stream.eventAt(index));
    batches.push(toColumns(events));
  }
  const scratch = await createScratchDatabase(options.adminUrl, 'raw');
  const samples: RawCeilingSamples = new Map(options.connections.map((c) => [c, []]));
  try {
    const setup = new pg.Client({ connectionString: scratch.url });
    await setup.connect();
    await setup.query(CREATE_TABLE);
    await setup.end();
    for (let run = 0; run < options.runs; run++) {
      for (const connections of options.connections) {
        samples.get(connections)?.push(await onePass(scratch.url, batches, connections, stream.distinct));
      }
    }
    const teardown = new pg.Client({ connectionString: scratch.url });
    await teardown.connect();
    await teardown.query('DROP TABLE raw_events');
    await teardown.end();
  } finally {
    await scratch.drop();
  }
  return samples;
}
