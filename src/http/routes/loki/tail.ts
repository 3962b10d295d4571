import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { LogaggError } from '../../../errors.js';
import type { Feed, FeedEvent } from '../../../ingest/feed.js';
import { Follower, MAX_HELD } from '../../../ingest/follow.js';
import type { LogExpr } from '../../../query/logql/ast.js';
import { evaluateLogs } from '../../../query/logql/logs.js';
import { type Plan, planLog } from '../../../query/logql/pipeline.js';
import { entryOf, type ScannedEntry } from '../../../query/logql/scan.js';
import { ErrorBodySchema } from '../../../schema/error.js';
import { LokiTailQuerySchema } from '../../../schema/loki-read.js';
import type { Store } from '../../../store/index.js';
import { CATEGORIZE_LABELS, encodeStreams } from './encode.js';
import { nowNs } from './params.js';
import { type TailParams, parseTailParams } from './tail-params.js';

export interface LokiTailOptions {
  feed: Feed;
  store: Store;
  /** Open tails at most (Loki: max_concurrent_tail_requests); one more is closed as Loki closes it. */
  maxConnections?: number;
  /** A tail this far behind (bytes its socket has not taken) is cut off: it cannot slow ingest or hold memory. */
  maxBufferedBytes?: number;
  pingMs?: number;
}

/** Loki's maxEntriesPerTailResponse (pkg/querier/tail/tail.go). */
const ENTRIES_PER_MESSAGE = 100;
/** WebSocket close codes (RFC 6455): going away, and Loki's code for every tail error (CloseInternalServerErr). */
const GOING_AWAY = 1001;
const INTERNAL_ERROR = 1011;
/** After a close frame, how long a client has to answer before its socket is destroyed (a slow one never reads it). */
const CLOSE_GRACE_MS = 1000;

/**
 * One tail: a Follower (src/ingest/follow.ts) whose catch-up is Loki's "past entries" (the newest `limit` from
 * start to now, oldest first) and whose live events are looked up as entries, run through the pipeline and sent
 * in Loki's tail messages: one stream per entry, at most 100 entries a message.
 */
class TailSession {
  readonly follower: Follower | undefined;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  /** Live events handed over but not yet sent: bounded like the follower's held events. */
  private pending = 0;
  /** Past entries above the feed position: they come live too, and are not sent twice. */
  private readonly sentPast = new Set<string>();
  private readonly plan: Plan;

  constructor(
    private readonly socket: WebSocket,
    private readonly log: LogExpr,
    private readonly params: TailParams,
    private readonly store: Store,
    private readonly tenant: string,
    private readonly flags: string[],
    private readonly maxBufferedBytes: number,
  ) {
    this.plan = planLog(log);
    const where = this.plan.where;
    // A selector no stream can match follows nothing: the socket stays open and silent, as Loki's does.
    this.follower =
      where === false
        ? undefined
        : new Follower(
            tenant,
            undefined,
            { key: `logql:${JSON.stringify(where)}`, predicate: where },
            { send: (events) => this.enqueue(events), overflow: () => this.end(INTERNAL_ERROR, 'tail fell too far behind') },
          );
  }

  /** The past entries; returns the feed position to go live from. */
  async sendPast(position: number): Promise<number> {
    const entries = await evaluateLogs(this.store.logql(this.tenant), this.log, {
      startNs: this.params.startNs,
      endNs: nowNs(),
      limit: this.params.limit,
      backward: true,
    });
    entries.reverse();
    for (const entry of entries) if (Number(entry.seq) > position) this.sentPast.add(entry.seq);
    this.send(entries);
    return position;
  }

  private enqueue(events: readonly FeedEvent[]): void {
    this.pending += events.length;
    if (this.pending > MAX_HELD) {
      this.end(INTERNAL_ERROR, 'tail fell too far behind');
      return;
    }
    const readAt = Date.now();
    this.chain = this.chain.then(() => this.forward(events, readAt)).catch((err: unknown) => this.fail(err));
  }

  /** Live events → their entries (in seq order), through the pipeline, after delay_for. */
  private async forward(events: readonly FeedEvent[], readAt: number): Promise<void> {
    const wait = readAt + this.params.delayForSeconds * 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed) return;
    const rows = await this.store.logql(this.tenant).entriesBySeq(events.map((event) => String(event.seq)));
    this.pending -= events.length;
    const entries: ScannedEntry[] = [];
    for (const row of rows) {
      if (this.sentPast.delete(row.seq)) continue;
      if (this.plan.levels !== undefined && !(this.plan.levels as string[]).includes(row.level)) continue;
      const entry = entryOf(this.plan, row);
      if (entry !== undefined) entries.push(entry);
    }
    this.send(entries);
  }

  private send(entries: readonly ScannedEntry[]): void {
    const categorize = this.flags.includes(CATEGORIZE_LABELS);
    for (let i = 0; i < entries.length && !this.closed; i += ENTRIES_PER_MESSAGE) {
      const streams = entries.slice(i, i + ENTRIES_PER_MESSAGE).map((entry) => encodeStreams([entry], categorize)[0]);
      // dropped_entries is left out: Loki writes it only when it dropped some, and logagg never drops (it cuts off).
      const message = this.flags.length > 0 ? { streams, encodingFlags: this.flags } : { streams };
      this.socket.send(JSON.stringify(message));
      if (this.socket.bufferedAmount > this.maxBufferedBytes) this.end(INTERNAL_ERROR, 'client too slow: tail cut off');
    }
  }

  ping(): void {
    if (!this.closed) this.socket.ping();
  }

  fail(err: unknown): void {
    this.end(INTERNAL_ERROR, err instanceof Error ? err.message : String(err));
  }

  /** Closes with a code and reason (cut to the 123 bytes a close frame holds), then destroys the socket. */
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.follower?.close();
    let text = reason;
    while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
    this.socket.close(code, text);
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }
}

function encodingFlags(request: FastifyRequest): string[] {
  const header = request.headers['x-loki-response-encoding-flags'];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value === '' ? [] : value.split(',');
}

/** GET /loki/api/v1/tail: Loki's live tail over a WebSocket (docs/query.md, "Live tail"). */
export function lokiTailRoute(fastify: FastifyInstance, options: LokiTailOptions): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const sessions = new Set<TailSession>();
  const parsed = new WeakMap<FastifyRequest, TailParams>();
  const maxConnections = options.maxConnections ?? 100;
  let closing = false;
  // Open tails would hold app.close() (an upgraded socket still counts for the server): end them first.
  app.addHook('preClose', async () => {
    closing = true;
    for (const session of sessions) session.end(GOING_AWAY, 'server shutting down');
  });
  app.route({
    method: 'GET',
    url: '/loki/api/v1/tail',
    config: { access: 'read' },
    schema: {
      summary: 'Live tail of a LogQL log query (Loki API, WebSocket)',
      description:
        'Upgrade to a WebSocket: the newest `limit` entries since `start` first, then each new entry once, in commit ' +
        'order, as Loki\'s `{"streams":[...]}` messages. A query that does not parse is a 400 before the upgrade; a ' +
        'metric query is closed with 1011, as Loki does (docs/query.md).',
      tags: ['loki'],
      querystring: LokiTailQuerySchema,
      response: { '4xx': ErrorBodySchema },
    },
    // Parsed before the upgrade, so a bad query is an HTTP 400 (Loki's ParseTailQuery runs before its upgrade too).
    preHandler: async (request) => {
      parsed.set(request, parseTailParams(request.query));
    },
    handler: async () => {
      throw new LogaggError('BAD_REQUEST', {
        message: "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header",
      });
    },
    wsHandler: (socket, request) => {
      const params = parsed.get(request) as TailParams;
      if (closing) {
        socket.close(GOING_AWAY, 'server shutting down');
        return;
      }
      if (params.expr.kind !== 'log') {
        socket.close(INTERNAL_ERROR, 'only log selector is supported');
        return;
      }
      if (sessions.size >= maxConnections) {
        socket.close(
          INTERNAL_ERROR,
          `max concurrent tail requests limit exceeded, count > limit (${sessions.size + 1} > ${maxConnections})`,
        );
        return;
      }
      const session = new TailSession(
        socket,
        params.expr,
        params,
        options.store,
        request.tenant,
        encodingFlags(request),
        options.maxBufferedBytes ?? 4 * 1024 * 1024,
      );
      sessions.add(session);
      const ping = setInterval(() => session.ping(), options.pingMs ?? 10_000);
      socket.on('close', () => {
        clearInterval(ping);
        sessions.delete(session);
        session.end(GOING_AWAY, '');
      });
      const follower = session.follower;
      const started = follower ? follower.start(options.feed, (position) => session.sendPast(position)) : session.sendPast(0);
      started.catch((err: unknown) => {
        request.log.warn({ err }, 'tail could not start');
        session.fail(err);
      });
    },
  });
}
