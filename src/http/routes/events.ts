import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorBodySchema } from '../../schema/error.js';
import { StoredEventSchema } from '../../schema/event.js';
import { type EventFilter, EventsQuerySchema, QUERY_RULES, toEventFilter } from '../../schema/query.js';
import { parseSearch } from '../../query/search/parse.js';
import type { Store } from '../../store/index.js';

/** A Link to the page next to this one, same filters: after=<last seq> (rel=next) or before=<first seq> (rel=prev). */
function link(query: EventFilter, cursor: 'after' | 'before', seq: number): string {
  const params = new URLSearchParams();
  for (const key of ['topic', 'source', 'since', 'until', 'q'] as const) {
    const value = query[key];
    if (value !== undefined) params.set(key, value);
  }
  params.set('limit', String(query.limit));
  params.set(cursor, String(seq));
  return `</events?${params.toString()}>; rel="${cursor === 'after' ? 'next' : 'prev'}"`;
}

/**
 * The 200 body as documented (an array of stored events) and as typed: the page's JSON text, which the store
 * renders and Fastify sends as it is.
 */
const EventPageSchema = Type.Unsafe<string>(Type.Array(StoredEventSchema));

/** GET /events: stored events in commit order, filtered, paged by the seq cursor with a Link header. */
export function eventsRoute(app: FastifyInstance, store: Pick<Store, 'queryEvents'>): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/events',
    {
      schema: {
        summary: 'Stored events in commit order',
        description:
          'A JSON array in ascending seq order. Link: <…>; rel="next" while newer events remain (after=<seq>), ' +
          'rel="prev" while older ones remain (before=<seq>). q= searches (docs/query.md); a q that cannot be ' +
          'answered is a 400 INVALID_QUERY naming the position.',
        tags: ['events'],
        querystring: EventsQuerySchema,
        response: { 200: EventPageSchema, '4xx': ErrorBodySchema },
      },
      config: { access: 'read', queryRules: QUERY_RULES },
    },
    async (request, reply) => {
      const filter = toEventFilter(request.query);
      const page = await store.queryEvents(request.tenant, filter, parseSearch(filter.q ?? ''));
      const links: string[] = [];
      if (page.hasNewer && page.lastSeq !== undefined) links.push(link(filter, 'after', page.lastSeq));
      if (page.hasOlder && page.firstSeq !== undefined) links.push(link(filter, 'before', page.firstSeq));
      if (links.length > 0) reply.header('link', links.join(', '));
      // The store renders the page as JSON text; sending it as is avoids a parse and re-stringify per row.
      return reply.type('application/json; charset=utf-8').send(page.body);
    },
  );
}
