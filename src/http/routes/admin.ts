import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogaggError } from '../../errors.js';
import { parseSearch } from '../../query/search/parse.js';
import {
  AdminPageQuerySchema,
  AuditPageSchema,
  DeletionJobIdSchema,
  DeletionJobSchema,
  DeletionJobsPageSchema,
  DeletionRequestSchema,
} from '../../schema/deletion.js';
import { ErrorBodySchema } from '../../schema/error.js';
import { strictBodyValidator } from '../../schema/validate.js';
import type { Store } from '../../store/index.js';

export interface AdminRoutesOptions {
  store: Pick<Store, 'acceptDeletion' | 'deletionJob' | 'deletionJobs' | 'auditPage'>;
  /** Told when a job was accepted, so the runner starts it now rather than at its next look. */
  onDeletionAccepted?: () => void;
}

/**
 * Who made a request, for the audit record: the name of the key it carried (docs/tenants.md; the one API_KEY is
 * named as src/schema/keys.ts says), or "anonymous" when the server takes requests without a key.
 */
export function actorOf(request: FastifyRequest): string {
  return request.principal?.name ?? 'anonymous';
}

const ADMIN = { access: 'admin' } as const;

/** POST /admin/delete, GET /admin/delete[/<id>], GET /admin/audit (docs/operations.md, "Deletion"). */
export function adminRoutes(fastify: FastifyInstance, options: AdminRoutesOptions): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = options;
  app.post(
    '/admin/delete',
    {
      schema: {
        summary: 'Delete events: accepted as a background job',
        description:
          'Answers 202 with the job. From then on no read (GET /events, the stream, the Loki and Elasticsearch ' +
          'APIs) returns the events the job matched; the job deletes them in batches, and a re-send of a deleted ' +
          'event is a duplicate (docs/operations.md, "Deletion").',
        tags: ['admin'],
        body: DeletionRequestSchema,
        response: { 202: DeletionJobSchema, '4xx': ErrorBodySchema },
      },
      validatorCompiler: strictBodyValidator,
      config: ADMIN,
    },
    async (request, reply) => {
      const body = request.body;
      if (body.from !== undefined && body.to !== undefined && !(Date.parse(body.from) < Date.parse(body.to))) {
        throw new LogaggError('BAD_REQUEST', {
          message: 'from must be before to',
          details: [{ path: 'body/from', message: 'must be before to' }],
        });
      }
      if (body.tenant !== undefined && body.tenant !== request.tenant) {
        throw new LogaggError('BAD_REQUEST', {
          message: `tenant "${body.tenant}" is not the tenant this request acts for ("${request.tenant}"): name it with X-Scope-OrgID`,
          details: [{ path: 'body/tenant', message: 'must be the tenant the request acts for' }],
        });
      }
      const search = parseSearch(body.q ?? '');
      const job = await store.acceptDeletion(request.tenant, body, search, actorOf(request));
      options.onDeletionAccepted?.();
      return reply.code(202).header('location', `/admin/delete/${job.id}`).send(job);
    },
  );
  app.get(
    '/admin/delete/:id',
    {
      schema: {
        summary: 'A deletion job: state, rows matched and deleted, times',
        tags: ['admin'],
        params: DeletionJobIdSchema,
        response: { 200: DeletionJobSchema, '4xx': ErrorBodySchema },
      },
      config: ADMIN,
    },
    async (request) => {
      const job = await store.deletionJob(request.tenant, request.params.id);
      if (!job) throw new LogaggError('DELETION_NOT_FOUND', { message: `No deletion job ${request.params.id}` });
      return job;
    },
  );
  app.get(
    '/admin/delete',
    {
      schema: {
        summary: 'Deletion jobs, newest first',
        tags: ['admin'],
        querystring: AdminPageQuerySchema,
        response: { 200: DeletionJobsPageSchema, '4xx': ErrorBodySchema },
      },
      config: ADMIN,
    },
    async (request) => store.deletionJobs(request.tenant, request.query.before, request.query.limit),
  );
  app.get(
    '/admin/audit',
    {
      schema: {
        summary: 'The audit record of admin actions, newest first',
        tags: ['admin'],
        querystring: AdminPageQuerySchema,
        response: { 200: AuditPageSchema, '4xx': ErrorBodySchema },
      },
      config: ADMIN,
    },
    async (request) => store.auditPage(request.tenant, request.query.before, request.query.limit),
  );
}
