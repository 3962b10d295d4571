import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ErrorBody } from '../schema/error.js';
import type { Event } from '../schema/event.js';
import type { PublishResult } from '../schema/publish.js';
import type { Stats } from '../schema/stats.js';
import {
  HttpError,
  mayHaveCommitted,
  parseRetryAfter,
  RequestTimeoutError,
  type RetryNotice,
  type RetryPolicy,
  withRetry,
} from './retry.js';

export interface ClientOptions {
  /** Base URL of an aggregator, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Most requests in flight; the keep-alive pool holds this many sockets. */
  concurrency?: number;
  apiKey?: string;
  /** The tenant to act for, sent as X-Scope-OrgID (docs/tenants.md); unset: the key's own, or `default`. */
  tenant?: string;
  /** Longest wait for one attempt's answer. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onRetry?: (notice: RetryNotice) => void;
  random?: () => number;
}

/** The answer to one publish, after any retries. */
export interface PublishReceipt {
  result: PublishResult;
  attempts: number;
  /** Failed attempts whose events may have been committed anyway (answer lost), so counted twice by the server. */
  uncertainAttempts: number;
  /** From the first attempt to the answer, retries and waits included: what the caller waited. */
  latencyMs: number;
}

/** A raw answer, for probes that time a request themselves. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET /stats parameters: list the top `top` topics by copies received (server default 20, at most 100), and `topics`. */
export interface StatsQuery {
  top?: number;
  /** At most 100 names, and the URL within the server's 16 KiB header limit. */
  topics?: readonly string[];
}

function statsPath(query: StatsQuery = {}): string {
  const params = new URLSearchParams();
  if (query.top !== undefined) params.set('top', String(query.top));
  for (const topic of query.topics ?? []) params.append('topic', topic);
  const text = params.toString();
  return text === '' ? '/stats' : `/stats?${text}`;
}

export interface LogaggClient {
  /** Publishes one event or a batch; resolves once the server committed it. */
  publish(events: Event | readonly Event[]): Promise<PublishReceipt>;
  /** Publishes an already serialized body: one event, an array, or an {"events": [...]} envelope. */
  publishRaw(body: string): Promise<PublishReceipt>;
  /** Reads GET /stats (the totals and the top topics, plus any named ones), with retries. */
  stats(query?: StatsQuery): Promise<Stats>;
  /** One GET attempt, no retry: for latency probes. */
  get(pathAndQuery: string): Promise<RawResponse>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function errorBody(body: string): Partial<ErrorBody> {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { error, message, details } = parsed as Record<string, unknown>;
    return {
      ...(typeof error === 'string' ? { error } : {}),
      ...(typeof message === 'string' ? { message } : {}),
      ...(Array.isArray(details) ? { details } : {}),
    };
  } catch {
    // Not our JSON error body (a proxy's HTML page, say): the status alone decides.
    return {};
  }
}

/** Creates a client with one keep-alive pool and the project's one retry policy. */
export function createClient(options: ClientOptions): LogaggClient {
  const base = new URL(options.url);
  const secure = base.protocol === 'https:';
  const concurrency = options.concurrency ?? 16;
  // LIFO keeps the hottest sockets busy and lets the rest idle out; maxSockets = concurrency means no request
  // ever waits on the pool, and no more sockets are opened than requests in flight.
  const agentOptions = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, scheduling: 'lifo' as const };
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = secure ? httpsRequest : httpRequest;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const auth: Record<string, string> = {
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    ...(options.tenant ? { 'x-scope-orgid': options.tenant } : {}),
  };

  const attempt = (method: 'GET' | 'POST', pathAndQuery: string, body?: string): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const target = new URL(pathAndQuery, base);
      const headers: Record<string, string | number> = { ...auth, accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = send(target, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new RequestTimeoutError(timeoutMs)));
      req.on('error', reject);
      req.end(body);
    });

  const expectOk = (res: RawResponse): RawResponse => {
    if (res.status >= 200 && res.status < 300) return res;
    const { error: code, message, details } = errorBody(res.body);
    const text = `HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
    throw new HttpError(res.status, code, text, parseRetryAfter(res.headers['retry-after']), details);
  };

  const retrying = async <T>(run: () => Promise<T>): Promise<{ value: T; attempts: number; uncertain: number }> => {
    let uncertain = 0;
    const outcome = await withRetry(run, {
      policy: options.retry,
      random: options.random,
      onRetry: (notice) => {
        if (mayHaveCommitted(notice.error)) uncertain++;
        options.onRetry?.(notice);
      },
    });
    return { ...outcome, uncertain };
  };

  const publishRaw = async (body: string): Promise<PublishReceipt> => {
    const started = performance.now();
    const outcome = await retrying(async () => expectOk(await attempt('POST', '/publish', body)));
    return {
      result: JSON.parse(outcome.value.body) as PublishResult,
      attempts: outcome.attempts,
      uncertainAttempts: outcome.uncertain,
      latencyMs: performance.now() - started,
    };
  };

  return {
    publish: (events) => publishRaw(JSON.stringify(events)),
    publishRaw,
    async stats(query) {
      const path = statsPath(query);
      const outcome = await retrying(async () => expectOk(await attempt('GET', path)));
      return JSON.parse(outcome.value.body) as Stats;
    },
    get: (pathAndQuery) => attempt('GET', pathAndQuery),
    close: () => agent.destroy(),
  };
}
