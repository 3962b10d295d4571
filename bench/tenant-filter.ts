// The cost of the tenant condition on GET /events' page statement (PostgreSQL), same data, same run:
// `npx tsx bench/tenant-filter.ts [rows]` (docs/performance.md, "Tenant filtering"). Needs the local PostgreSQL.
import pg from 'pg';
import { createStore } from '../src/store/index.js';
import { eventsPageSql } from '../src/store/sql.js';
import { withoutMarks } from '../src/store/visible-sql.js';

const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS tenant_cost');
await admin.query('CREATE DATABASE tenant_cost');
const url = 'postgres://postgres@127.0.0.1:5432/tenant_cost';
const store = await createStore({ databaseUrl: url, dataDir: '/tmp/unused', workers: 2 });
await store.migrate();
const db = new pg.Client({ connectionString: url });
await db.connect();
const N = Number(process.argv[2] ?? 300000);
await db.query(`INSERT INTO events (tenant, topic, event_id, ts, source, payload)
  SELECT CASE WHEN i % 10 = 0 THEN 'acme' ELSE 'default' END, 'topic-' || (i % 5), 'e' || i, now() - (i || ' ms')::interval, 's',
    json_build_object('message', 'GET /api/orders/' || i || ' ok')
  FROM generate_series(1, ${N}) AS i`);
await db.query('VACUUM ANALYZE events');
const page = withoutMarks(eventsPageSql(false));
const noTenant = page.replaceAll('tenant = $8 AND ', '');
const time = async (text: string, params: unknown[]): Promise<number> => {
  const t = performance.now();
  await db.query(text, params);
  return performance.now() - t;
};
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const cases: Array<[string, string, unknown[]]> = [
  ['topic page, no tenant condition (before)', noTenant, [0, 'topic-1', null, null, null, 100, null]],
  ['topic page, tenant default', page, [0, 'topic-1', null, null, null, 100, null, 'default']],
  ['topic page, tenant acme (10%)', page, [0, 'topic-1', null, null, null, 100, null, 'acme']],
  ['all topics, no tenant condition (before)', noTenant, [0, null, null, null, null, 100, null]],
  ['all topics, tenant default', page, [0, null, null, null, null, 100, null, 'default']],
  ['all topics, tenant acme (10%)', page, [0, null, null, null, null, 100, null, 'acme']],
  ['newest page, tenant acme', eventsPageSql(true), [0, null, null, null, null, 100, 10 ** 12, 'acme']],
];
const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let round = 0; round < 7; round++) {
  for (const [name, text, params] of cases) {
    const xs = samples.get(name) as number[];
    const one: number[] = [];
    for (let i = 0; i < 20; i++) one.push(await time(withoutMarks(text), params));
    xs.push(median(one));
  }
}
for (const [name, xs] of samples)
  console.log(`${name}: median ${median([...xs]).toFixed(2)} ms [${xs.map((x) => x.toFixed(2)).join(', ')}]`);
await db.end();
await store.close();
await admin.query('DROP DATABASE tenant_cost');
await admin.end();
