import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { ErrorBodySchema } from '../../schema/error.js';
import { Type } from 'typebox';
import { EventSchema } from '../../schema/event.js';
import { PublishResultSchema } from '../../schema/publish.js';
import { validatePublishBody } from '../../schema/validate.js';

export interface PublishRouteOptions {
  pipeline: Pipeline;
  maxBatchEvents: number;
}

/** POST /publish: validate the whole request, queue it, answer after commit (SPEC §1, §3). */
export function publishRoute(app: FastifyInstance, options: PublishRouteOptions): void {
  app.post(
    '/publish',
    {
      schema: {
        summary: 'Publish events; answered after they are committed',
        description:
          'One event, an array of events, or {"events": [...]}. 200 means committed. A request with any bad ' +
          'event is refused whole (422, details name each index). 503 + Retry-After when overloaded or the ' +
          'store is down: retry, duplicates are counted, never stored twice.',
        tags: ['events'],
        body: Type.Union([EventSchema, Type.Array(EventSchema), Type.Object({ events: Type.Array(EventSchema) })]),
        response: { 200: PublishResultSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
      },
      // The body schema is for the OpenAPI document only: validatePublishBody checks it, because Fastify's
      // validator strips unknown fields and coerces types, and cannot name each bad index.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const checked = validatePublishBody(request.body, options.maxBatchEvents);
      if (!checked.ok) {
        throw new LogaggError(checked.tooMany ? 'BATCH_TOO_LARGE' : 'VALIDATION_FAILED', {
          message: checked.tooMany ? checked.problems[0]?.message : `${checked.problems.length} problem(s) in the request; nothing was stored`,
          details: checked.problems,
        });
      }
      return options.pipeline.submit(checked.events);
    },
  );
}
