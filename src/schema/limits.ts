/**
 * Per-tenant quotas (docs/tenants.md, "Quotas"): the TENANT_LIMITS / TENANT_LIMITS_FILE document, its schema and
 * its parsing. A leaf: config.ts parses with it at start, the reload (src/quota/reload.ts) on SIGHUP or a change.
 *
 * {"defaults": {"events_per_second": 1000, "bytes_per_second": 1048576, "max_body_bytes": 1048576},
 *  "tenants": {"team-a": {"events_per_second": 50}, "ops": {"events_per_second": null}}}
 *
 * A tenant's entry overrides the defaults field by field; `null` lifts that limit for the tenant.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { type Static, Type } from 'typebox';
import { isTenantName } from './keys.js';

/** The limits a refusal can name (the `limit` label of logagg_quota_refused_total, and the error's details). */
export const LIMIT_NAMES = ['events_per_second', 'bytes_per_second', 'max_body_bytes', 'max_topics'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

// Up to a billion events or a tebibyte a second: a limit is a guard, and a typo of extra zeros is still a number.
const rate = (description: string) => Type.Number({ exclusiveMinimum: 0, maximum: 2 ** 40, description });
const size = (description: string) => Type.Integer({ minimum: 1, maximum: 2 ** 40, description });
const orNull = <T extends ReturnType<typeof rate> | ReturnType<typeof size>>(schema: T) => Type.Union([schema, Type.Null()]);

const LIMIT_FIELDS = {
  events_per_second: rate('Events a second, refilled continuously (a token bucket)'),
  events_burst: size('Events the bucket holds when full; default: one second of events_per_second, at least 1'),
  bytes_per_second: rate('Request body bytes a second, as sent (Content-Length; counted as read without one)'),
  bytes_burst: size('Bytes the bucket holds when full; default: one second of bytes_per_second, at least 1'),
  max_body_bytes: size('Largest request body, as sent; a larger one is refused 413 (BODY_LIMIT still applies)'),
  max_topics: size('Topics the tenant may have (every topic that ever received a copy counts); a batch adding one more is refused 429'),
};

export const TenantLimitSchema = Type.Object(
  {
    events_per_second: Type.Optional(orNull(LIMIT_FIELDS.events_per_second)),
    events_burst: Type.Optional(orNull(LIMIT_FIELDS.events_burst)),
    bytes_per_second: Type.Optional(orNull(LIMIT_FIELDS.bytes_per_second)),
    bytes_burst: Type.Optional(orNull(LIMIT_FIELDS.bytes_burst)),
    max_body_bytes: Type.Optional(orNull(LIMIT_FIELDS.max_body_bytes)),
    max_topics: Type.Optional(orNull(LIMIT_FIELDS.max_topics)),
  },
  { additionalProperties: false },
);
export type TenantLimitEntry = Static<typeof TenantLimitSchema>;

export const TenantLimitsSchema = Type.Object(
  {
    defaults: Type.Optional(TenantLimitSchema),
    tenants: Type.Optional(Type.Record(Type.String(), TenantLimitSchema)),
  },
  { additionalProperties: false, $id: 'TenantLimits' },
);
export type TenantLimitsDocument = Static<typeof TenantLimitsSchema>;

/** One tenant's limits once defaults and overrides are merged; a field left out is not limited. */
export interface TenantLimit {
  eventsPerSecond?: number;
  eventsBurst?: number;
  bytesPerSecond?: number;
  bytesBurst?: number;
  maxBodyBytes?: number;
  /** Checked by the store as a batch commits (migration 10), not by the request hook. */
  maxTopics?: number;
}

/** The parsed document: what applies to a tenant without an entry, and each listed tenant's merged limits. */
export interface TenantLimits {
  defaults: TenantLimit;
  tenants: ReadonlyMap<string, TenantLimit>;
}

const ajv = new Ajv({ allErrors: true, strict: true });
const check = ajv.compile<TenantLimitsDocument>(TenantLimitsSchema);

function problemOf(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') {
    return `${error.instancePath || '/'}: unknown field "${String(error.params.additionalProperty)}"`;
  }
  return `${error.instancePath || '/'}: ${error.message ?? 'is invalid'}`;
}

/** Merges an entry over the defaults: absent inherits, null lifts, a number sets. */
function merged(defaults: TenantLimitEntry, entry: TenantLimitEntry): TenantLimit {
  const pick = (field: keyof TenantLimitEntry): number | undefined => {
    const value = field in entry ? entry[field] : defaults[field];
    return value ?? undefined;
  };
  const limit: TenantLimit = {};
  const set = (key: keyof TenantLimit, value: number | undefined): void => {
    if (value !== undefined) limit[key] = value;
  };
  const events = pick('events_per_second');
  const bytes = pick('bytes_per_second');
  set('eventsPerSecond', events);
  set('eventsBurst', events === undefined ? undefined : (pick('events_burst') ?? Math.max(1, events)));
  set('bytesPerSecond', bytes);
  set('bytesBurst', bytes === undefined ? undefined : (pick('bytes_burst') ?? Math.max(1, bytes)));
  set('maxBodyBytes', pick('max_body_bytes'));
  set('maxTopics', pick('max_topics'));
  return limit;
}

/**
 * Whether a tenant's merged limits limit anything the request hook checks (a tenant with none skips it entirely);
 * max_topics is the store's to check.
 */
export function limitsAnything(limit: TenantLimit): boolean {
  return limit.eventsPerSecond !== undefined || limit.bytesPerSecond !== undefined || limit.maxBodyBytes !== undefined;
}

/**
 * Parses TENANT_LIMITS (or the file's text); every problem is reported with its JSON path. `source` names the
 * setting in the messages.
 */
export function parseTenantLimits(
  text: string,
  source: 'TENANT_LIMITS' | 'TENANT_LIMITS_FILE',
): { limits?: TenantLimits; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problems: [`${source} is not JSON: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (!check(json)) return { problems: (check.errors ?? []).map((e) => `${source} ${problemOf(e)}`) };
  const problems: string[] = [];
  const defaults = json.defaults ?? {};
  const tenants = new Map<string, TenantLimit>();
  for (const [name, entry] of Object.entries(json.tenants ?? {})) {
    if (!isTenantName(name))
      problems.push(`${source} /tenants/${name.slice(0, 160)}: not a tenant name (Loki's characters, 1 to 150, not *)`);
    else tenants.set(name, merged(defaults, entry));
  }
  if (problems.length > 0) return { problems };
  return { limits: { defaults: merged(defaults, {}), tenants }, problems };
}

/** TENANT_LIMITS_FILE read and parsed: at start (src/config.ts) and on each reload, the same way; `text` as read. */
export function readTenantLimitsFile(path: string): { limits?: TenantLimits; problems: string[]; text?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { problems: [`TENANT_LIMITS_FILE cannot be read (${path}): ${err instanceof Error ? err.message : String(err)}`] };
  }
  return { ...parseTenantLimits(text, 'TENANT_LIMITS_FILE'), text };
}
