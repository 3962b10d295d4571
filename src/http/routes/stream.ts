import type { ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { isLogaggError, LogaggError } from '../../errors.js';
import { Type, type Static } from 'typebox';
import type { Feed, FeedEvent } from '../../ingest/feed.js';
import { Follower } from '../../ingest/follow.js';
import { NO_NUL_PATTERN } from '../../schema/event.js';
import type { Predicate } from '../../query/predicate.js';
import { parseSearch } from '../../query/search/parse.js';
import { MAX_QUERY_LENGTH } from '../../schema/loki-read.js';
import { QUERY_RULES, SearchQuerySchema } from '../../schema/query.js';
import type { Store } from '../../store/index.js';
import { followLogql, type LogqlFollow } from './stream-logql.js';

const StreamQuerySchema = Type.Object({
  topic: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL_PATTERN })),
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Resume after this seq (or Last-Event-ID)' })),
  q: Type.Optional(SearchQuerySchema),
  logql: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_QUERY_LENGTH,
      description: 'Follow a LogQL log query instead of q (docs/stream.md): the events whose entries it keeps, whole',
    }),
  ),
});
type StreamQuery = Static<typeof StreamQuerySchema>;

export interface StreamRouteOptions {
  feed: Feed;
  store: Pick<Store, 'eventsAfter' | 'logql'>;
  /** A subscriber this far behind (bytes not yet taken by its socket) is cut off; it resumes by Last-Event-ID. */
  maxBufferedBytes?: number;
  heartbeatMs?: number;
}

const CATCH_UP_PAGE = 500;
/** The reconnect delay a client is told on open (`retry:`), and the longer one after the store failed it. */
const RETRY_MS = 1000;
const RETRY_AFTER_FAILURE_MS = 2000;

/**
 * One SSE connection on a Follower (src/ingest/follow.ts: subscribe first, catch up from the store, then the held
 * live events): each event goes out once, in seq order, as `id: <seq>`. Events carry no `event:` field: they are
 * the default `message` type, so `EventSource.onmessage` sees them.
 */
class StreamSession {
  readonly follower: Follower;
  private closed = false;
  /** A LogQL stream's pages wait for their check in order; the queue holds `pendingBytes` of events. */
  private chain: Promise<void> = Promise.resolve();
  private pendingBytes = 0;

  constructor(
    private readonly res: ServerResponse,
    tenant: string,
    topic: string | undefined,
    private readonly maxBufferedBytes: number,
    search: { key: string; predicate: Predicate } | undefined,
    private readonly keep: LogqlFollow['keep'],
  ) {
    this.follower = new Follower(tenant, topic, search, { send: (events) => this.forward(events), overflow: () => this.close() });
  }

  /** Events straight to the socket, or (a LogQL stream with JavaScript stages) through its check, in seq order. */
  private forward(events: readonly FeedEvent[]): void {
    const keep = this.keep;
    if (keep === undefined) {
      this.write(events);
      return;
    }
    const bytes = events.reduce((sum, event) => sum + event.json.length, 0);
    this.pendingBytes += bytes;
    // Checked slower than the feed brings events: held like unsent bytes, and cut off past the same bound.
    if (this.pendingBytes > this.maxBufferedBytes) {
      this.close();
      return;
    }
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        try {
          const kept = await keep(events);
          this.write(kept);
          // The page's last event was checked and left out: an id-only block moves the client's Last-Event-ID
          // past it (an SSE block without data sets the id and fires no event), so a resume does not check it again.
          const last = events[events.length - 1] as FeedEvent;
          if (kept[kept.length - 1] !== last && !this.closed) this.res.write(`id: ${last.seq}\n\n`);
        } finally {
          this.pendingBytes -= bytes;
        }
      })
      .catch((err: unknown) => this.fail(err));
  }

  /** Sends the events after `from` from the store; the follower then turns live. */
  async catchUp(store: Pick<Store, 'eventsAfter'>, from: number): Promise<number> {
    const follower = this.follower;
    follower.position = from;
    for (;;) {
      const events = await store.eventsAfter(follower.tenant, follower.position, follower.topic, CATCH_UP_PAGE, follower.search);
      if (follower.isClosed) break;
      follower.deliver(events);
      // A LogQL stream's check of this page ends before the next page is read: the queue holds one page at most.
      await this.chain;
      if (events.length < CATCH_UP_PAGE) break;
    }
    return follower.position;
  }

  private write(events: readonly FeedEvent[]): void {
    if (this.closed) return;
    let chunk = '';
    for (const event of events) chunk += `id: ${event.seq}\ndata: ${event.json}\n\n`;
    this.res.write(chunk);
    // A subscriber that does not read must not hold memory or slow ingest: cut it off; it resumes by id.
    if (this.res.writableLength > this.maxBufferedBytes) this.close();
  }

  heartbeat(): void {
    if (!this.closed) this.res.write(': keep-alive\n\n');
  }

  /**
   * Ends the stream saying why, as an SSE comment (clients ignore it; people and the client library read it).
   * A 200 stream that ends is what makes a standard EventSource reconnect; a non-200 would stop it for good.
   */
  fail(err: unknown): void {
    if (this.closed) return;
    const code = isLogaggError(err) ? err.code : 'STORE_FAILED';
    const message = (err instanceof Error ? err.message : String(err)).replace(/[\r\n]+/g, ' ');
    this.res.write(`retry: ${RETRY_AFTER_FAILURE_MS}\n: error ${code} ${message}\n\n`);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.follower.close();
    this.res.end();
  }
}

function startCursor(query: StreamQuery, lastEventId: string | string[] | undefined): number | undefined {
  const id = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (id !== undefined && /^[0-9]{1,15}$/.test(id)) return Number(id);
  return query.after === undefined ? undefined : Number(query.after);
}

/** GET /events/stream: Server-Sent Events of committed events, resumable with Last-Event-ID. */
export function streamRoute(fastify: FastifyInstance, options: StreamRouteOptions): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const sessions = new Set<StreamSession>();
  let closing = false;
  // Open streams would hold app.close() forever: end them first; clients reconnect elsewhere by Last-Event-ID.
  // A request already past Fastify's closing check but not yet in its handler is refused below, or its stream
  // would open after this sweep and hold close() until the client left.
  app.addHook('preClose', async () => {
    closing = true;
    for (const session of sessions) session.close();
  });

  app.get(
    '/events/stream',
    {
      schema: {
        summary: 'Live tail of committed events (Server-Sent Events)',
        description:
          'Each event once, in seq order, as a default `message` event with `id: <seq>`; reconnect with Last-Event-ID to ' +
          'resume. If the store fails the stream, an `: error <CODE> <message>` comment ends it (still a 200, so ' +
          'EventSource reconnects). q= follows a search (docs/query.md), logql= a LogQL log query. See docs/stream.md.',
        tags: ['events'],
        querystring: StreamQuerySchema,
        // Documented, not validated here: startCursor reads it (a browser's EventSource sends it on reconnect).
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({
              description: 'Resume after this seq (the last `id:` received); wins over ?after; a value that is not a seq is ignored',
            }),
          ),
        }),
      },
      config: { access: 'read', queryRules: QUERY_RULES },
    },
    async (request, reply) => {
      if (closing) throw new LogaggError('SHUTTING_DOWN');
      // Parsed before the stream opens, so a q that cannot be answered is a 400, not a stream that ends.
      const { q, logql } = request.query;
      if (q !== undefined && logql !== undefined) {
        throw new LogaggError('BAD_REQUEST', { message: 'Give q or logql, not both: the stream follows one query' });
      }
      const followed = logql === undefined ? undefined : followLogql(logql, options.store, request.tenant);
      const predicate = parseSearch(q ?? '');
      // The feed shares one read among followers of the same key; `q:` keeps it apart from a LogQL tail's key.
      const search = followed?.search ?? (predicate && { key: `q:${q as string}`, predicate });
      // HEAD (Fastify adds it for every GET) gets the stream's headers and ends: a response without a body can
      // never carry events, and a stream opened for it would hold a session until the client hung up.
      if (request.method === 'HEAD') {
        return reply.code(200).header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').send();
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // Nothing is written (so the headers stay unsent) until the feed has given the stream its position: a client
      // that has the 200 in hand must get every event committed after it, even with no resume point. Written
      // first, the 200 let a publish the client made on seeing it commit before the subscription (CI: a replica
      // test got 2 of 4 events).
      const requested = startCursor(request.query, request.headers['last-event-id']);
      const session = new StreamSession(
        res,
        request.tenant,
        request.query.topic,
        options.maxBufferedBytes ?? 4 * 1024 * 1024,
        search,
        followed?.keep,
      );
      sessions.add(session);
      // The heartbeat runs from the first byte, so a stream waiting on a slow store is not silent either.
      const heartbeat = setInterval(() => session.heartbeat(), options.heartbeatMs ?? 15_000);
      // Listen for the hang-up before awaiting anything, or a client gone during subscribe leaves its subscriber
      // and heartbeat behind for good (the follower unsubscribes once closed).
      res.once('close', () => {
        session.close();
        sessions.delete(session);
        clearInterval(heartbeat);
      });
      try {
        // Both steps read the store; if it is away the stream says so and ends, and the client comes back
        // after `retry:` to a fresh subscription rather than sitting on an open stream that never speaks.
        // Without a resume point a subscriber starts at the present: what commits from now on.
        await session.follower.start(options.feed, (position) => {
          if (!res.writableEnded) res.write(`retry: ${RETRY_MS}\n\n`);
          return session.catchUp(options.store, requested ?? position);
        });
      } catch (err) {
        request.log.warn({ err }, 'stream could not start or catch up; closing so the client resumes');
        session.fail(err);
      }
    },
  );
}
