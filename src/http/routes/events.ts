import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorBodySchema } from '../../schema/error.js';
import { StoredEventSchema } from '../../schema/event.js';
import { type EventFilter, type EventsQuery, EventsQuerySchema, toEventFilter } from '../../schema/query.js';
import type { Store } from '../../store/index.js';

function nextLink(query: EventFilter, lastSeq: number): string {
  const params = new URLSearchParams();
  for (const key of ['topic', 'source', 'since', 'until'] as const) {
    const value = query[key];
    if (value !== undefined) params.set(key, value);
  }
  params.set('limit', String(query.limit));
  params.set('after', String(lastSeq));
  return `</events?${params.toString()}>; rel="next"`;
}

/** GET /events: stored events in commit order, filtered, paged by the seq cursor with a Link header. */
export function eventsRoute(app: FastifyInstance, store: Pick<Store, 'queryEvents'>): void {
  app.get<{ Querystring: EventsQuery }>(
    '/events',
    {
      schema: {
        summary: 'Stored events in commit order',
        description: 'A JSON array; Link: <…>; rel="next" while more remain (cursor: after=<seq>).',
        tags: ['events'],
        querystring: EventsQuerySchema,
        response: { 200: Type.Array(StoredEventSchema), '4xx': ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const filter = toEventFilter(request.query);
      const page = await store.queryEvents(filter);
      if (page.hasMore && page.lastSeq !== undefined) reply.header('link', nextLink(filter, page.lastSeq));
      // The store renders the page as JSON text; sending it as is avoids a parse and re-stringify per row.
      return reply.type('application/json; charset=utf-8').send(page.body);
    },
  );
}
