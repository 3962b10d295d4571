/**
 * Deletion jobs and the audit record (docs/operations.md "Deletion", docs/architecture.md "Deletion hides rows when
 * accepted"). A job's rows are marked in deletion_rows by the statement that accepts it, and every read path leaves
 * marked rows out (src/store/visible-sql.ts, VISIBLE), so the data is unreadable from the 202 on; the job then
 * deletes them in small batches and counts them per topic in `deleted`, so unique_count = stored + expired + deleted.
 * The marks are the job's remaining work: a job survives a crash and resumes at the next start, and two replicas
 * take different batches (FOR UPDATE SKIP LOCKED). The counters' CHECKs move from `expired` to `expired + deleted`.
 */
export const sql = `
ALTER TABLE topic_stats ADD COLUMN deleted bigint NOT NULL DEFAULT 0;
ALTER TABLE topic_stats DROP CONSTRAINT topic_stats_expired_check;
ALTER TABLE topic_stats ADD CONSTRAINT topic_stats_removed_check
  CHECK (expired >= 0 AND deleted >= 0 AND expired + deleted <= unique_count);
ALTER TABLE stats_totals ADD COLUMN deleted bigint NOT NULL DEFAULT 0;
ALTER TABLE stats_totals ADD CONSTRAINT stats_totals_removed_check
  CHECK (deleted >= 0 AND expired + deleted <= unique_count);

CREATE TABLE deletion_jobs (
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  state       text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
  params      json        NOT NULL,
  requested_by text       NOT NULL,
  matched     bigint      NOT NULL DEFAULT 0,
  deleted     bigint      NOT NULL DEFAULT 0,
  accepted_at timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz,
  error       text
);
-- The runner's question "which jobs have work left" reads only the unfinished ones.
CREATE INDEX deletion_jobs_open_idx ON deletion_jobs (id) WHERE state IN ('queued', 'running');

-- One mark per row to delete; a row belongs to the first job that matched it. The seq key serves the reads'
-- anti-join, the (job_id, seq) index the job's batches.
CREATE TABLE deletion_rows (
  seq    bigint PRIMARY KEY,
  job_id bigint NOT NULL REFERENCES deletion_jobs (id)
);
CREATE INDEX deletion_rows_job_idx ON deletion_rows (job_id, seq);

CREATE TABLE audit_log (
  id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at     timestamptz NOT NULL DEFAULT now(),
  actor  text        NOT NULL,
  action text        NOT NULL,
  params json        NOT NULL
);
`;
