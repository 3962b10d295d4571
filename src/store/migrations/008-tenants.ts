/**
 * Tenants (docs/tenants.md): every row belongs to one, and the dedup key becomes (tenant, topic, event_id), so two
 * tenants may use the same ids. What was stored before belongs to the tenant `default`. Counters are per tenant:
 * topic_stats per (tenant, topic), stats_totals one row per tenant (created by the tenant's first batch).
 *
 * The defaults that fill the existing rows are dropped afterwards: every statement that writes a row names its
 * tenant, and one that forgot would fail rather than file the row under `default`.
 *
 * Reads of one tenant without a topic walk the seq index and skip other tenants' rows. For `default`, the tenant
 * a single-tenant aggregator holds everything in, that costs nothing, and a second (tenant, seq) index would cost
 * every insert; for any other tenant the partial index below serves the read, so a small tenant's page never
 * scans a large tenant's rows. The primary keys and the topic index are rebuilt: O(rows) once, at this migration.
 */
export const sql = `
ALTER TABLE events ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE events ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant, topic, event_id);
DROP INDEX events_topic_seq_idx;
CREATE INDEX events_topic_seq_idx ON events (tenant, topic, seq);
CREATE INDEX events_tenant_seq_idx ON events (tenant, seq) WHERE tenant <> 'default';

ALTER TABLE event_keys ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE event_keys ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE event_keys DROP CONSTRAINT event_keys_pkey;
ALTER TABLE event_keys ADD CONSTRAINT event_keys_pkey PRIMARY KEY (tenant, topic, event_id);

ALTER TABLE topic_stats ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE topic_stats ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE topic_stats DROP CONSTRAINT topic_stats_pkey;
ALTER TABLE topic_stats ADD CONSTRAINT topic_stats_pkey PRIMARY KEY (tenant, topic);
DROP INDEX topic_stats_received_idx;
CREATE INDEX topic_stats_received_idx ON topic_stats (tenant, received DESC, topic);

ALTER TABLE stats_totals DROP CONSTRAINT stats_totals_pkey;
ALTER TABLE stats_totals DROP COLUMN id;
ALTER TABLE stats_totals ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE stats_totals ALTER COLUMN tenant DROP DEFAULT;
ALTER TABLE stats_totals ADD CONSTRAINT stats_totals_pkey PRIMARY KEY (tenant);

ALTER TABLE deletion_jobs ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE deletion_jobs ALTER COLUMN tenant DROP DEFAULT;
CREATE INDEX deletion_jobs_tenant_idx ON deletion_jobs (tenant, id);
ALTER TABLE audit_log ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE audit_log ALTER COLUMN tenant DROP DEFAULT;
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant, id);
`;
