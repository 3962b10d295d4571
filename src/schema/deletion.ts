/**
 * Deletion jobs (POST /admin/delete) and the audit record (GET /admin/audit): docs/operations.md, "Deletion".
 */
import { Type, type Static } from 'typebox';
import { MAX_NAME_LENGTH, NO_NUL_PATTERN, TIMESTAMP_PATTERN } from './event.js';
import { TENANT_PATTERN } from './keys.js';
import { SearchQuerySchema } from './query.js';

const time = (description: string) => Type.String({ format: 'date-time', pattern: TIMESTAMP_PATTERN, description });

export const DeletionRequestSchema = Type.Object(
  {
    topic: Type.String({
      minLength: 1,
      maxLength: MAX_NAME_LENGTH,
      pattern: NO_NUL_PATTERN,
      description: 'Topics to delete from: a name in which * stands for any run of characters, as in RETENTION_RULES',
    }),
    from: Type.Optional(time("Only events whose own timestamp is >= from (the event's `timestamp`, not received_at)")),
    to: Type.Optional(time('Only events whose own timestamp is < to')),
    q: Type.Optional(SearchQuerySchema),
    tenant: Type.Optional(
      Type.String({
        pattern: TENANT_PATTERN,
        description: "The tenant whose events to delete; when given it must be the one the request acts for (X-Scope-OrgID or the key's)",
      }),
    ),
  },
  { additionalProperties: false, $id: 'DeletionRequest' },
);
export type DeletionRequest = Static<typeof DeletionRequestSchema>;

export const DeletionJobSchema = Type.Object(
  {
    id: Type.String({ description: 'The job id (decimal digits)' }),
    state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')], {
      description: 'queued, running, done; failed is reserved (a failed batch is retried, never given up)',
    }),
    request: DeletionRequestSchema,
    requested_by: Type.String({
      description: 'The name of the key the request carried ("API_KEY" for the one API_KEY), or "anonymous" (no key configured)',
    }),
    matched: Type.Integer({ description: 'Events marked (hidden from every read) when the job was accepted' }),
    deleted: Type.Integer({ description: 'Of those, deleted by the job so far (retention may take some first)' }),
    accepted_at: Type.String({ format: 'date-time' }),
    started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'DeletionJob' },
);
export type DeletionJob = Static<typeof DeletionJobSchema>;

export const DEFAULT_ADMIN_PAGE = 20;
export const MAX_ADMIN_PAGE = 100;

/** A page of GET /admin/delete or /admin/audit: newest first, older ones before= the `next` id. */
export const AdminPageQuerySchema = Type.Object(
  {
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Entries with a smaller id: the `next` of the last page' })),
    limit: Type.Integer({ minimum: 1, maximum: MAX_ADMIN_PAGE, default: DEFAULT_ADMIN_PAGE, description: `1 to ${MAX_ADMIN_PAGE}` }),
  },
  { additionalProperties: false },
);
export type AdminPageQuery = Static<typeof AdminPageQuerySchema>;

const next = Type.Union([Type.String(), Type.Null()], { description: 'Pass as before= for older entries; null: none left' });

export const DeletionJobsPageSchema = Type.Object({ jobs: Type.Array(DeletionJobSchema), next }, { $id: 'DeletionJobsPage' });
export type DeletionJobsPage = Static<typeof DeletionJobsPageSchema>;

export const DeletionJobIdSchema = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,15}$' }) }, { additionalProperties: false });

export const AuditEntrySchema = Type.Object(
  {
    id: Type.String(),
    at: Type.String({ format: 'date-time' }),
    actor: Type.String({
      description: 'Who: the name of the key the request carried ("API_KEY" for the one API_KEY), or "anonymous" (no key configured)',
    }),
    action: Type.String({ description: 'What, e.g. deletion.accepted' }),
    params: Type.Record(Type.String(), Type.Unknown(), { description: 'The action’s parameters' }),
  },
  { $id: 'AuditEntry' },
);
export type AuditEntry = Static<typeof AuditEntrySchema>;

export const AuditPageSchema = Type.Object({ entries: Type.Array(AuditEntrySchema), next }, { $id: 'AuditPage' });
export type AuditPage = Static<typeof AuditPageSchema>;

/** One audit record as the store writes it: who, what, with which parameters (the time is the database's). */
export interface AuditRecord {
  actor: string;
  action: string;
  params: Record<string, unknown>;
}
