import type { FastifyInstance } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { Pipeline } from '../../ingest/index.js';
import { ErrorBodySchema } from '../../schema/error.js';
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
        // Documented here, validated by validatePublishBody: Fastify's validator would strip unknown fields.
        response: { 200: PublishResultSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
      },
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
