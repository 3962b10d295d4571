import { LogaggError } from '../errors.js';
import { type LimitName, limitsAnything, type TenantLimit, type TenantLimits } from '../schema/limits.js';
import { TokenBucket } from './bucket.js';

/**
 * Buckets kept before idle ones are swept. Tenants are named by the client (X-Scope-OrgID with an all-tenants
 * key, or with keys off), so their number is not ours to bound; a full bucket is the same as a new one, so the
 * sweep forgets nothing that matters.
 */
export const MAX_TRACKED_TENANTS = 10_000;
const SWEEP_EVERY_S = 1;

interface TenantState {
  events: TokenBucket | undefined;
  bytes: TokenBucket | undefined;
  /**
   * Events in the tenant's last request: what the check before the body is read expects the next one to hold.
   * With 1 there, a tenant sending batches of 100 at a bucket refilling faster than 1 a request would pass that
   * check nearly every time, and every refused batch would be read and parsed before its refusal.
   */
  lastEvents: number;
}

export interface TenantQuotasOptions {
  /** Seconds on a monotonic clock; a test moves it by hand. */
  now?: () => number;
  /** A refused request, by tenant and the limit it hit (logagg_quota_refused_total). */
  onRefused?: (tenant: string, limit: LimitName) => void;
}

const monotonicSeconds = (): number => performance.now() / 1000;

/** "100 events per second" for the messages. */
function describe(limit: LimitName, value: number): string {
  if (limit === 'events_per_second') return `${value} events per second`;
  if (limit === 'bytes_per_second') return `${value} bytes per second`;
  return `${value} bytes per request body`;
}

/**
 * Per-tenant quotas (docs/tenants.md, "Quotas"): an events/s and a bytes/s token bucket per tenant and a largest
 * body. In-process, per replica: a fleet of N replicas admits up to N times each rate, and no request waits on a
 * shared store (the reasons are in docs/tenants.md). Framework-free, so the HTTP routes and the gRPC port ask the
 * same object.
 *
 * Bytes are charged when a body is let in to be read (admitBody: its Content-Length), events when the decoded
 * events are let in to the pipeline (admitEvents); a request is refused before its body is read when the bytes
 * bucket cannot cover its Content-Length or the events bucket as many events as the tenant's last request held,
 * so a tenant over its quota costs little more than its headers.
 */
export class TenantQuotas {
  #limits: TenantLimits;
  #defaults: TenantLimit | undefined;
  #state = new Map<string, TenantState>();
  #lastSweep = 0;
  readonly #now: () => number;
  readonly #onRefused: ((tenant: string, limit: LimitName) => void) | undefined;

  constructor(limits: TenantLimits, options: TenantQuotasOptions = {}) {
    this.#now = options.now ?? monotonicSeconds;
    this.#onRefused = options.onRefused;
    this.#limits = limits;
    this.#defaults = limitsAnything(limits.defaults) ? limits.defaults : undefined;
  }

  /**
   * Puts new limits in force (a reload). Every bucket starts again full at the new rates: a reload is rare, and
   * carrying a debt across a change of rate would need a rule nobody could guess.
   */
  replace(limits: TenantLimits): void {
    this.#limits = limits;
    this.#defaults = limitsAnything(limits.defaults) ? limits.defaults : undefined;
    this.#state.clear();
  }

  /** The tenant's max_topics, which the store checks as a batch commits; undefined when unlimited. */
  topicLimit(tenant: string): number | undefined {
    return (this.#limits.tenants.get(tenant) ?? this.#limits.defaults).maxTopics;
  }

  /** The tenant's limits; undefined when nothing limits it (then no check applies: one lookup, one branch). */
  limitOf(tenant: string): TenantLimit | undefined {
    const own = this.#limits.tenants.get(tenant);
    if (own === undefined) return this.#defaults;
    return limitsAnything(own) ? own : undefined;
  }

  #stateOf(tenant: string, limit: TenantLimit, now: number): TenantState {
    let state = this.#state.get(tenant);
    if (state === undefined) {
      if (this.#state.size >= MAX_TRACKED_TENANTS) this.#sweep(now);
      state = {
        events: limit.eventsPerSecond === undefined ? undefined : new TokenBucket(limit.eventsPerSecond, limit.eventsBurst ?? 1, now),
        bytes: limit.bytesPerSecond === undefined ? undefined : new TokenBucket(limit.bytesPerSecond, limit.bytesBurst ?? 1, now),
        lastEvents: 1,
      };
      this.#state.set(tenant, state);
    }
    return state;
  }

  /** Forgets buckets that have refilled (at most once a second, so a flood of new tenant names is not quadratic). */
  #sweep(now: number): void {
    if (now - this.#lastSweep < SWEEP_EVERY_S) return;
    this.#lastSweep = now;
    for (const [tenant, state] of this.#state) {
      if ((state.events?.fullAt(now) ?? true) && (state.bytes?.fullAt(now) ?? true)) this.#state.delete(tenant);
    }
  }

  #refuse(tenant: string, limit: LimitName, value: number, waitSeconds: number): LogaggError {
    this.#onRefused?.(tenant, limit);
    // RFC 9110 §10.2.3: whole seconds; rounded up, so a client that waits as told finds the tokens there.
    const retryAfterSeconds = Math.max(1, Math.ceil(waitSeconds));
    return new LogaggError('QUOTA_EXCEEDED', {
      message: `Tenant "${tenant}" is over its quota of ${describe(limit, value)} (TENANT_LIMITS ${limit}); retry in ${retryAfterSeconds} s`,
      details: [{ tenant, limit, value, retry_after_seconds: retryAfterSeconds }],
      retryAfterSeconds,
    });
  }

  /** The 413 of a body larger than the tenant's max_body_bytes (as today's BODY_LIMIT answers, naming this limit). */
  #bodyTooLarge(tenant: string, max: number): LogaggError {
    this.#onRefused?.(tenant, 'max_body_bytes');
    return new LogaggError('BODY_TOO_LARGE', {
      message: `The body exceeds the limit of ${max} bytes (TENANT_LIMITS max_body_bytes of tenant "${tenant}")`,
      details: [{ tenant, limit: 'max_body_bytes', value: max }],
    });
  }

  /**
   * Before a body is read: refuses a body over max_body_bytes (413), or a request while the tenant's events bucket
   * cannot cover as many events as its last request held, or its bytes bucket cannot cover `bytes` (429); then
   * takes the bytes. `bytes` undefined (no
   * Content-Length): the size is checked and charged as the body is read (chargeBytes).
   */
  admitBody(tenant: string, bytes: number | undefined): LogaggError | undefined {
    const limit = this.limitOf(tenant);
    if (limit === undefined) return undefined;
    if (bytes !== undefined && limit.maxBodyBytes !== undefined && bytes > limit.maxBodyBytes) {
      return this.#bodyTooLarge(tenant, limit.maxBodyBytes);
    }
    const now = this.#now();
    const state = this.#stateOf(tenant, limit, now);
    const eventsWait = state.events?.wait(state.lastEvents, now) ?? 0;
    const bytesWait = state.bytes?.wait(bytes ?? 1, now) ?? 0;
    if (eventsWait > 0 || bytesWait > 0) {
      return bytesWait > eventsWait
        ? this.#refuse(tenant, 'bytes_per_second', limit.bytesPerSecond ?? 0, bytesWait)
        : this.#refuse(tenant, 'events_per_second', limit.eventsPerSecond ?? 0, eventsWait);
    }
    if (bytes !== undefined) state.bytes?.take(bytes, now);
    return undefined;
  }

  /** Charges a body read without a Content-Length, once read; past max_body_bytes it is refused (413) as it arrives. */
  chargeBytes(tenant: string, bytes: number): void {
    const limit = this.limitOf(tenant);
    if (limit?.bytesPerSecond === undefined) return;
    const now = this.#now();
    this.#stateOf(tenant, limit, now).bytes?.take(bytes, now);
  }

  /** The body size past which a body without Content-Length is cut off with 413; undefined: BODY_LIMIT alone. */
  maxBodyBytes(tenant: string): number | undefined {
    return this.limitOf(tenant)?.maxBodyBytes;
  }

  /** The body-limit refusal for a body read past max_body_bytes (counted like any refusal). */
  bodyTooLarge(tenant: string, max: number): LogaggError {
    return this.#bodyTooLarge(tenant, max);
  }

  /** Once the request's events are decoded: lets them into the pipeline, or refuses the whole request (429). */
  admitEvents(tenant: string, events: number): LogaggError | undefined {
    const limit = this.limitOf(tenant);
    if (limit?.eventsPerSecond === undefined) return undefined;
    const now = this.#now();
    const state = this.#stateOf(tenant, limit, now);
    state.lastEvents = Math.max(1, events);
    const bucket = state.events as TokenBucket;
    const wait = bucket.wait(events, now);
    if (wait > 0) return this.#refuse(tenant, 'events_per_second', limit.eventsPerSecond, wait);
    bucket.take(events, now);
    return undefined;
  }
}
