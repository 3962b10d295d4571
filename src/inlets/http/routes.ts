import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { ErrorBodySchema } from '../../schema/error.js';
import { EventSchema } from '../../schema/event.js';
import { PublishResultSchema } from '../../schema/publish.js';
import { type EventProblem, validatePublishBody } from '../../schema/validate.js';
import { addNdjsonParser, NDJSON_TYPES, NdjsonBody } from './ndjson.js';

export interface PublishRouteOptions {
  pipeline: Pipeline;
  maxBatchEvents: number;
}

/** Adds each NDJSON event's 1-based line to its problems; the index stays (the event's place among events). */
function withLines(problems: EventProblem[], lines: readonly number[]): Array<EventProblem & { line?: number }> {
  return problems.map((problem) => (problem.index >= 0 ? { ...problem, line: lines[problem.index] } : problem));
}

/**
 * The body as documented (one event, an array, or {"events": [...]}) and as typed: unknown, because
 * validatePublishBody checks it, not Fastify (see validatorCompiler below).
 */
const PublishBodySchema = Type.Unsafe<unknown>(
  Type.Union([EventSchema, Type.Array(EventSchema), Type.Object({ events: Type.Array(EventSchema) })]),
);

/**
 * POST /publish: validate the whole request, queue it, answer after commit (docs/spec.md §1, §3). Its own scope
 * holds the NDJSON parser, so no other route reads NDJSON as events.
 */
export function publishRoute(app: FastifyInstance, options: PublishRouteOptions): void {
  void app.register(async (scope) => {
    addNdjsonParser(scope, options.maxBatchEvents);
    publishPost(scope, options);
  });
}

function publishPost(app: FastifyInstance, options: PublishRouteOptions): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/publish',
    {
      schema: {
        summary: 'Publish events; answered after they are committed',
        description:
          'One event, an array of events, or {"events": [...]}; or NDJSON (application/x-ndjson, one event per ' +
          'line, blank lines skipped). Content-Encoding: gzip is accepted, with the limits applied to the ' +
          'inflated body. 200 means committed. A request with any bad event is refused whole (422, details name ' +
          'each index, and for NDJSON its 1-based line). 503 + Retry-After when overloaded or the store is ' +
          'down: retry, duplicates are counted, never stored twice.',
        tags: ['events'],
        consumes: ['application/json', ...NDJSON_TYPES],
        body: PublishBodySchema,
        response: { 200: PublishResultSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
      },
      // The body schema is for the OpenAPI document only: validatePublishBody checks it, because Fastify's
      // validator strips unknown fields and coerces types, and cannot name each bad index.
      validatorCompiler: () => () => true,
      config: { access: 'write', inlet: { transport: 'http' } },
    },
    // Not async: the pipeline's promise goes to Fastify as it is, without a second one around it per request
    // (Fastify sends a thrown error like a rejected promise).
    (request) => {
      const ndjson = request.body instanceof NdjsonBody ? request.body : undefined;
      const checked = validatePublishBody(ndjson ? ndjson.events : request.body, options.maxBatchEvents);
      if (!checked.ok) {
        const details = ndjson ? withLines(checked.problems, ndjson.lines) : checked.problems;
        throw new LogaggError(checked.tooMany ? 'BATCH_TOO_LARGE' : 'VALIDATION_FAILED', {
          message: checked.tooMany
            ? checked.problems[0]?.message
            : `${checked.problems.length} problem(s) in the request; nothing was stored`,
          details,
        });
      }
      // The tenant's events/s quota (docs/tenants.md): a request over it is refused whole, 429.
      request.quota?.admit(checked.events.length);
      return options.pipeline.submit(checked.events, 'http', { tenant: request.tenant });
    },
  );
}
