import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest, preParsingHookHandler, RouteOptions } from 'fastify';
import { LogaggError } from '../../errors.js';
import type { TenantQuotas } from '../../quota/quotas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set on an inlet's request whose tenant has limits (docs/tenants.md, "Quotas"); undefined otherwise, so an
     * inlet's check is one branch. The inlet calls `admit(events)` once it has decoded the request's events.
     */
    quota: RequestQuota | undefined;
  }
}

/** What an inlet asks once it knows how many events a request holds: throws QUOTA_EXCEEDED (429) when over. */
export interface RequestQuota {
  admit(events: number): void;
}

class TenantCharge implements RequestQuota {
  constructor(
    private readonly quotas: TenantQuotas,
    private readonly tenant: string,
  ) {}

  admit(events: number): void {
    const refused = this.quotas.admitEvents(this.tenant, events);
    if (refused !== undefined) throw refused;
  }
}

/**
 * A body sent without Content-Length (chunked), counted as it is read: cut off with 413 past the tenant's
 * max_body_bytes, and charged to its bytes bucket once read.
 */
class CountedBody extends Transform {
  private bytes = 0;

  constructor(
    private readonly quotas: TenantQuotas,
    private readonly tenant: string,
    private readonly max: number | undefined,
  ) {
    super();
    // Fastify stops listening once it has answered; an error after that is already answered, never a crash.
    this.on('error', () => {});
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.max !== undefined && this.bytes > this.max) callback(this.quotas.bodyTooLarge(this.tenant, this.max));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.quotas.chargeBytes(this.tenant, this.bytes);
    callback();
  }
}

/** `source` piped into `counter`, with what pipe() does not pass on: the source's error, or its end cut short. */
function counted(source: Readable, counter: CountedBody): CountedBody {
  // The source's own error first (the gzip inflater's 413), then a close before the end (the client hung up).
  source.once('error', (err) => counter.destroy(err));
  source.once('close', () => {
    if (!source.readableEnded) counter.destroy(new LogaggError('BAD_REQUEST', { message: 'The request body was cut off' }));
  });
  return source.pipe(counter);
}

const TAKES_BODY = new Set(['POST', 'PUT']);
const takesBody = (method: RouteOptions['method']): boolean =>
  (Array.isArray(method) ? method : [method]).some((m) => TAKES_BODY.has(String(m).toUpperCase()));

/**
 * Tenant quotas on the inlets' routes (every route that declares `config.inlet` and takes a body). With no
 * TENANT_LIMITS configured (`quotas` undefined) nothing is added: no hook runs, and `request.quota` stays
 * undefined. Otherwise a preParsing hook per inlet route, after authentication (the tenant is known) and after
 * gzip is set up, refuses before the body is read: 413 past the tenant's max_body_bytes, 429 when its buckets
 * are empty (docs/tenants.md, "Quotas").
 */
export function quotaPlugin(app: FastifyInstance, quotas: TenantQuotas | undefined): void {
  app.decorateRequest('quota', undefined);
  if (quotas === undefined) return;
  const hook: preParsingHookHandler = (request: FastifyRequest, _reply, payload, done) => {
    const tenant = request.tenant;
    if (quotas.limitOf(tenant) === undefined) {
      done(null, payload);
      return;
    }
    const header = request.headers['content-length'];
    // Node's parser has checked the header (one decimal number); anything else is read as absent, not as NaN.
    const length = header === undefined ? Number.NaN : Number(header);
    const declared = Number.isSafeInteger(length) ? length : undefined;
    const refused: LogaggError | undefined = quotas.admitBody(tenant, declared);
    if (refused !== undefined) {
      done(refused);
      return;
    }
    request.quota = new TenantCharge(quotas, tenant);
    if (declared !== undefined) {
      done(null, payload);
      return;
    }
    done(null, counted(payload as Readable, new CountedBody(quotas, tenant, quotas.maxBodyBytes(tenant))));
  };
  app.addHook('onRoute', (route) => {
    if (route.config?.inlet === undefined || !takesBody(route.method)) return;
    const own = route.preParsing;
    route.preParsing = own === undefined ? [hook] : [...(Array.isArray(own) ? own : [own]), hook];
  });
}
