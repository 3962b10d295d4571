import type { ErrorBody } from '../../src/schema/error.js';
import { authHeaders, currentKey, reportUnauthorized } from './api-key.js';

const DEFAULT_TIMEOUT_MS = 5000;

/** A failed call: an HTTP status with the API's error code, or status 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  get storeDown(): boolean {
    return this.code.startsWith('STORE_');
  }
}

export interface ApiInit {
  signal?: AbortSignal;
  /** No timeout when null (the live stream stays open). */
  timeoutMs?: number | null;
  headers?: Record<string, string>;
}

/** GET on the API with the session's key; any non-2xx becomes an ApiError, a 401 also asks for the key. */
export async function apiGet(path: string, init: ApiInit = {}): Promise<Response> {
  const signals = [init.signal, init.timeoutMs === null ? undefined : AbortSignal.timeout(init.timeoutMs ?? DEFAULT_TIMEOUT_MS)];
  const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
  const sentKey = currentKey();
  let response: Response;
  try {
    response = await fetch(path, { headers: { ...authHeaders(), ...init.headers }, signal, cache: 'no-store' });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
    throw new ApiError(
      0,
      timedOut ? 'TIMEOUT' : 'NETWORK',
      timedOut ? 'The aggregator did not answer in time' : 'The aggregator cannot be reached',
    );
  }
  if (response.ok) return response;
  const body = (await response.json().catch(() => null)) as Partial<ErrorBody> | null;
  if (response.status === 401) reportUnauthorized(sentKey);
  throw new ApiError(response.status, body?.error ?? `HTTP_${response.status}`, body?.message ?? response.statusText);
}

export async function apiJson<T>(path: string, init: ApiInit = {}): Promise<T> {
  return (await (await apiGet(path, init)).json()) as T;
}

/** The targets of a Link header by rel: `<url>; rel="next"`. */
export function parseLinks(header: string | null): Map<string, string> {
  const links = new Map<string, string>();
  for (const part of header?.split(',') ?? []) {
    const match = /<([^>]*)>\s*;\s*rel="?([a-z]+)"?/i.exec(part.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) links.set(match[2].toLowerCase(), match[1]);
  }
  return links;
}
