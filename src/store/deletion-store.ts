/*
 * The store's deletion jobs and audit record (statements in deletion-sql.ts; docs/operations.md "Deletion").
 */
import { LogaggError } from '../errors.js';
import type { Predicate } from '../query/predicate.js';
import type { AuditPage, AuditRecord, DeletionJob, DeletionJobsPage, DeletionRequest } from '../schema/deletion.js';
import { likePattern } from '../schema/retention-rules.js';
import {
  type AuditRow,
  DELETE_BATCH,
  type DeleteBatchRow,
  type DeletionJobRow,
  FINISH_JOB,
  INSERT_AUDIT,
  INSERT_DELETION_JOB,
  markRowsSql,
  SELECT_AUDIT,
  SELECT_DELETION_JOB,
  SELECT_DELETION_JOBS,
  SELECT_OPEN_JOBS,
  TOMBSTONE_BATCH,
  TOMBSTONE_WAIT,
  type TombstoneRow,
} from './deletion-sql.js';
import type { Engine } from './engine.js';
import { compilePredicate, translateQueryError } from './predicate-sql.js';

/** What the store offers deletion jobs and the admin routes (part of Store, src/store/index.ts). */
export interface DeletionStore {
  /** Records a tenant's job and its audit record, and hides its rows from every read, in one transaction. */
  acceptDeletion(tenant: string, request: DeletionRequest, search: Predicate | undefined, actor: string): Promise<DeletionJob>;
  /** The job if it is the tenant's. */
  deletionJob(tenant: string, id: string): Promise<DeletionJob | undefined>;
  /** A tenant's jobs newest first, ids below `before`. */
  deletionJobs(tenant: string, before: string | undefined, limit: number): Promise<DeletionJobsPage>;
  /** Ids of jobs with work left, oldest first. */
  openDeletionJobs(limit: number): Promise<string[]>;
  /** Deletes up to `limit` of the job's rows (tombstoning their keys first); `unmarked` 0: none was free to take. */
  deleteBatch(jobId: string, limit: number): Promise<{ unmarked: number; deleted: number }>;
  /** Marks the job done when no row of it is left; whether it did. */
  finishDeletion(jobId: string): Promise<boolean>;
  /** Records an admin action on a tenant's data. */
  audit(tenant: string, record: AuditRecord): Promise<void>;
  /** A tenant's audit record, newest first. */
  auditPage(tenant: string, before: string | undefined, limit: number): Promise<AuditPage>;
}

function toJob(row: DeletionJobRow): DeletionJob {
  return {
    id: row.id,
    state: row.state,
    request: JSON.parse(row.params) as DeletionRequest,
    requested_by: row.requested_by,
    matched: Number(row.matched),
    deleted: Number(row.deleted),
    accepted_at: row.accepted_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    error: row.error,
  };
}

/** How long a batch waits for older statements to end before its rows go (then it is retried next pass). */
const TOMBSTONE_WAIT_MS = 60_000;

export function createDeletionStore(engine: Engine): DeletionStore {
  const waitForOlderStatements = async (xid: string): Promise<void> => {
    if (engine.kind !== 'postgres') return;
    const deadline = performance.now() + TOMBSTONE_WAIT_MS;
    for (;;) {
      const [row] = await engine.query<{ waiting: number }>(TOMBSTONE_WAIT, [xid]);
      if ((row?.waiting ?? 0) === 0) return;
      if (performance.now() > deadline) {
        throw new LogaggError('STORE_FAILED', { message: 'A statement older than the tombstones is still running' });
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return {
    async acceptDeletion(tenant, request, search, actor) {
      const job = await engine
        .transaction(async (query) => {
          const [created] = await query<{ id: string }>(INSERT_DELETION_JOB, [JSON.stringify(request), actor, tenant]);
          const id = created?.id as string;
          const params: unknown[] = [id, likePattern(request.topic), request.from ?? null, request.to ?? null, tenant];
          await query(search ? markRowsSql(compilePredicate(search, params)) : markRowsSql(), params);
          await query(INSERT_AUDIT, [actor, 'deletion.accepted', JSON.stringify({ job: id, ...request }), tenant]);
          const [row] = await query<DeletionJobRow>(SELECT_DELETION_JOB, [id, tenant]);
          return row;
        })
        // A q PostgreSQL refuses (a regex it cannot compile) is INVALID_QUERY, as on GET /events.
        .catch((err: unknown) => {
          throw translateQueryError(err);
        });
      if (!job) throw new LogaggError('STORE_FAILED', { message: 'The accepted job could not be read back' });
      return toJob(job);
    },
    async deletionJob(tenant, id) {
      const [row] = await engine.query<DeletionJobRow>(SELECT_DELETION_JOB, [id, tenant]);
      return row ? toJob(row) : undefined;
    },
    async deletionJobs(tenant, before, limit) {
      const rows = await engine.query<DeletionJobRow>(SELECT_DELETION_JOBS, [before ?? null, limit, tenant]);
      const jobs = rows.slice(0, limit).map(toJob);
      return { jobs, next: rows.length > limit ? (jobs[jobs.length - 1]?.id ?? null) : null };
    },
    async openDeletionJobs(limit) {
      const rows = await engine.query<{ id: string }>(SELECT_OPEN_JOBS, [limit]);
      return rows.map((row) => row.id);
    },
    async deleteBatch(jobId, limit) {
      // Two steps: the tombstones commit first, and the rows go only once no statement that read the key table
      // before them can still insert a re-send (TOMBSTONE_WAIT).
      const [stones] = await engine.query<TombstoneRow>(TOMBSTONE_BATCH, [jobId, limit]);
      if (!stones || stones.seqs === '[]') return { unmarked: 0, deleted: 0 };
      await waitForOlderStatements(stones.xid);
      const [row] = await engine.query<DeleteBatchRow>(DELETE_BATCH, [jobId, stones.seqs]);
      return { unmarked: row?.unmarked ?? 0, deleted: row?.deleted ?? 0 };
    },
    async finishDeletion(jobId) {
      const rows = await engine.query(FINISH_JOB, [jobId]);
      return rows.length > 0;
    },
    async audit(tenant, record) {
      await engine.query(INSERT_AUDIT, [record.actor, record.action, JSON.stringify(record.params), tenant]);
    },
    async auditPage(tenant, before, limit) {
      const rows = await engine.query<AuditRow>(SELECT_AUDIT, [before ?? null, limit, tenant]);
      const entries = rows.slice(0, limit).map((row) => ({
        id: row.id,
        at: row.at,
        actor: row.actor,
        action: row.action,
        params: JSON.parse(row.params) as Record<string, unknown>,
      }));
      return { entries, next: rows.length > limit ? (entries[entries.length - 1]?.id ?? null) : null };
    },
  };
}
