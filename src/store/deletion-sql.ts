/**
 * Deletion jobs and the audit record (migration 7): the statements, shared by both engines. docs/architecture.md
 * ("Deletion hides rows when accepted") says why rows are marked when a job is accepted rather than filtered by
 * the job's conditions at read time.
 */
import { deleteAndCount } from './sql.js';

export { VISIBLE } from './visible-sql.js';

export const INSERT_DELETION_JOB = `
INSERT INTO deletion_jobs (params, requested_by, tenant) VALUES ($1::json, $2, $3) RETURNING id::text AS id`;

/**
 * Marks the job's rows ($1): events of tenant $5 of the topics matching the LIKE pattern $2, with ts in [$3, $4)
 * (either open when NULL), matching `search` (a condition compiled from q, its parameters from $6 on), committed when this
 * statement's snapshot was taken. A row another unfinished job marked stays that job's. Sets the job's `matched`.
 */
export function markRowsSql(search = 'TRUE'): string {
  return `
WITH marked AS (
  INSERT INTO deletion_rows (seq, job_id)
  SELECT seq, $1::bigint FROM events
  WHERE tenant = $5 AND topic LIKE $2 AND ($3::timestamptz IS NULL OR ts >= $3) AND ($4::timestamptz IS NULL OR ts < $4) AND ${search}
  ON CONFLICT (seq) DO NOTHING
  RETURNING 1
)
UPDATE deletion_jobs SET matched = (SELECT count(*) FROM marked) WHERE id = $1::bigint RETURNING matched::text AS matched`;
}

export const INSERT_AUDIT = `INSERT INTO audit_log (actor, action, params, tenant) VALUES ($1, $2, $3::json, $4)`;

const JOB_COLUMNS = `id::text AS id, state, params::text AS params, requested_by, matched::text AS matched, deleted::text AS deleted,
  ${['accepted_at', 'started_at', 'finished_at'].map((c) => `(to_json(${c} AT TIME ZONE 'UTC') #>> '{}') || 'Z' AS ${c}`).join(', ')}, error`;

/** Job $1 if it is tenant $2's. */
export const SELECT_DELETION_JOB = `SELECT ${JOB_COLUMNS} FROM deletion_jobs WHERE id = $1::bigint AND tenant = $2`;

/** Tenant $3's jobs newest first, ids below $1 (NULL: from the newest), $2 + 1 rows (the extra one says whether more remain). */
export const SELECT_DELETION_JOBS = `
SELECT ${JOB_COLUMNS} FROM deletion_jobs WHERE tenant = $3 AND ($1::bigint IS NULL OR id < $1::bigint)
ORDER BY id DESC LIMIT $2::int + 1`;

export interface DeletionJobRow {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  params: string;
  requested_by: string;
  matched: string;
  deleted: string;
  accepted_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

export const SELECT_AUDIT = `
SELECT id::text AS id, (to_json(at AT TIME ZONE 'UTC') #>> '{}') || 'Z' AS at, actor, action, params::text AS params
FROM audit_log WHERE tenant = $3 AND ($1::bigint IS NULL OR id < $1::bigint) ORDER BY id DESC LIMIT $2::int + 1`;

export interface AuditRow {
  id: string;
  at: string;
  actor: string;
  action: string;
  params: string;
}

/** Jobs with work left, oldest first: what a runner takes on. */
export const SELECT_OPEN_JOBS = `
SELECT id::text AS id FROM deletion_jobs WHERE state IN ('queued', 'running') ORDER BY id LIMIT $1::int`;

/**
 * A batch, first step: tombstones for the keys of the job's ($1) first $2 marked rows that no other runner is
 * taking (SKIP LOCKED: replicas running one job take different batches), in the key table, each with its row's
 * received_at, so the key lives exactly as long as it would have had the event not been deleted (the key window);
 * a re-send is then a duplicate (sql.ts, INSERT_BATCH). Committed before the rows go (TOMBSTONE_WAIT says why).
 * Returns the batch's seqs (a JSON array) and its transaction id (32 bits, as pg_stat_activity shows xids).
 */
export const TOMBSTONE_BATCH = `
WITH batch AS MATERIALIZED (
  SELECT seq FROM deletion_rows WHERE job_id = $1::bigint ORDER BY seq LIMIT $2::int FOR UPDATE SKIP LOCKED
),
stones AS (
  INSERT INTO event_keys (tenant, topic, event_id, received_at)
  SELECT e.tenant, e.topic, e.event_id, e.received_at FROM events e JOIN batch b ON e.seq = b.seq
  ORDER BY e.tenant, e.topic, e.event_id
  ON CONFLICT (tenant, topic, event_id) DO NOTHING
  RETURNING 1
)
SELECT (SELECT coalesce(json_agg(seq), '[]') FROM batch)::text AS seqs, (txid_current() % 4294967296)::text AS xid,
  (SELECT count(*) FROM stones)::int AS stones`;

export interface TombstoneRow {
  seqs: string;
  xid: string;
  stones: number;
}

/**
 * PostgreSQL: how many other sessions still run a statement whose snapshot predates the tombstones' commit (its
 * xmin is at or before their transaction $1). A batch insert that read the key table before the tombstones existed
 * would store a re-send once the row is gone; the rows are deleted only when no such statement is left. PGlite has
 * one connection: no statement runs beside the job's.
 */
export const TOMBSTONE_WAIT = `
SELECT count(*)::int AS waiting FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'active'
  AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age($1::text::xid)`;

/**
 * A batch, second step: deletes the rows of the job ($1) whose seqs the first step tombstoned ($2, a JSON array)
 * and their marks, each mark locked or skipped (another runner that took the same batch deletes it), and counts
 * them in `deleted` per topic and in the job. Only the seqs this batch tombstoned: its wait covered the statements
 * older than its own tombstones. A row retention removed meanwhile is counted there, not here: each row once.
 */
export const DELETE_BATCH = `
WITH doomed AS (
  DELETE FROM deletion_rows r WHERE r.seq IN (
    SELECT seq FROM deletion_rows
    WHERE job_id = $1::bigint AND seq IN (SELECT json_array_elements_text($2::json)::bigint) FOR UPDATE SKIP LOCKED
  )
  RETURNING r.seq
),
${deleteAndCount('deleted')},
job AS (
  UPDATE deletion_jobs SET deleted = deleted + (SELECT count(*) FROM deleted), state = 'running',
    started_at = coalesce(started_at, now())
  WHERE id = $1::bigint AND state IN ('queued', 'running')
)
SELECT (SELECT count(*) FROM doomed)::int AS unmarked, (SELECT count(*) FROM deleted)::int AS deleted`;

export interface DeleteBatchRow {
  unmarked: number;
  deleted: number;
}

/** Done once no mark of the job is left (committed): another replica's last batch may still hold some. */
export const FINISH_JOB = `
UPDATE deletion_jobs SET state = 'done', finished_at = now(), started_at = coalesce(started_at, now())
WHERE id = $1::bigint AND state IN ('queued', 'running') AND NOT EXISTS (SELECT 1 FROM deletion_rows WHERE job_id = $1::bigint)
RETURNING id`;
