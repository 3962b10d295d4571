import { LogaggError } from '../errors.js';
import {
  type Access,
  ALL_TENANTS,
  API_KEY_NAME,
  DEFAULT_TENANT,
  hashKey,
  isTenantName,
  type KeyEntry,
  type Principal,
  roleAllows,
} from '../schema/keys.js';

/** What a request may do once let in: who it is (none on a public route without a key) and its tenant. */
export interface Grant {
  principal: Principal | undefined;
  tenant: string;
}

/** With no keys and no API_KEY the server is open (as before keys existed): every request acts as this one. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ name: 'anonymous', role: 'admin', tenant: ALL_TENANTS });

/** Names of keys added, removed or changed (role, tenant or secret) by a reload; logged, never the hashes. */
export interface KeyChanges {
  keys: number;
  added: string[];
  removed: string[];
  changed: string[];
}

/**
 * The keys in memory, as SHA-256 digests only, and the one decision every entry point asks (HTTP routes, the
 * OTLP/gRPC port): header → key → tenant → role (docs/tenants.md). `replace` swaps the whole set at once, so a
 * request sees the old keys or the new ones, never a mix.
 */
export class Keyring {
  readonly enabled: boolean;
  #byHash: Map<string, Principal>;
  #entries: KeyEntry[];
  readonly #apiKeyHash: string | undefined;

  /** `keys` undefined: no key list (KEYS and KEYS_FILE unset); with no API_KEY either, the server is open. */
  constructor(keys: KeyEntry[] | undefined, apiKey: string | undefined) {
    this.enabled = keys !== undefined || apiKey !== undefined;
    this.#apiKeyHash = apiKey === undefined ? undefined : hashKey(apiKey);
    this.#entries = keys ?? [];
    this.#byHash = this.#index(this.#entries);
  }

  #index(keys: KeyEntry[]): Map<string, Principal> {
    const byHash = new Map<string, Principal>(keys.map((k) => [k.hash, Object.freeze({ name: k.name, role: k.role, tenant: k.tenant })]));
    if (this.#apiKeyHash !== undefined) byHash.set(this.#apiKeyHash, { name: API_KEY_NAME, role: 'admin', tenant: ALL_TENANTS });
    return byHash;
  }

  /** Replaces the key list (API_KEY stays); returns what changed, by name. */
  replace(keys: KeyEntry[]): KeyChanges {
    const before = new Map(this.#entries.map((k) => [k.name, k]));
    const after = new Map(keys.map((k) => [k.name, k]));
    const same = (a: KeyEntry, b: KeyEntry): boolean => a.role === b.role && a.tenant === b.tenant && a.hash === b.hash;
    const changes: KeyChanges = {
      keys: keys.length,
      added: keys.filter((k) => !before.has(k.name)).map((k) => k.name),
      removed: this.#entries.filter((k) => !after.has(k.name)).map((k) => k.name),
      changed: keys.filter((k) => before.has(k.name) && !same(before.get(k.name) as KeyEntry, k)).map((k) => k.name),
    };
    this.#byHash = this.#index(keys);
    this.#entries = keys;
    return changes;
  }

  /**
   * The principal an offered key stands for. The offered key is hashed and the digest looked up: the time taken
   * depends on the digest, which an attacker cannot steer toward a stored one (docs/security.md).
   */
  find(offered: string | undefined): Principal | undefined {
    if (!this.enabled) return OPEN_PRINCIPAL;
    return offered === undefined ? undefined : this.#byHash.get(hashKey(offered));
  }

  /**
   * Lets a request in or says why not. `access` is asked only when the key alone does not decide (an all-tenants
   * admin may do anything), because reading a route's config costs an allocation per request.
   */
  authorize(offered: string | undefined, scopeHeader: string | string[] | undefined, access: () => Access): Grant | LogaggError {
    const scope = tenantHeader(scopeHeader);
    if (scope instanceof LogaggError) return scope;
    const principal = this.find(offered);
    if (principal?.role === 'admin' && principal.tenant === ALL_TENANTS) return { principal, tenant: scope ?? DEFAULT_TENANT };
    const needs = access();
    if (needs === 'public') return { principal, tenant: scope ?? DEFAULT_TENANT };
    if (principal === undefined) return new LogaggError('UNAUTHORIZED');
    const tenant = tenantOf(principal, scope);
    if (tenant instanceof LogaggError) return tenant;
    if (!roleAllows(principal.role, needs)) {
      return new LogaggError('FORBIDDEN', {
        message: `The key "${principal.name}" has role ${principal.role}; this request needs ${needs}`,
      });
    }
    return { principal, tenant };
  }
}

/** X-Scope-OrgID: absent or empty is none; anything else must be one tenant name (Loki's `a|b` is not served). */
function tenantHeader(header: string | string[] | undefined): string | undefined | LogaggError {
  if (header === undefined || header === '') return undefined;
  if (typeof header === 'string' && isTenantName(header)) return header;
  return new LogaggError('BAD_REQUEST', {
    message: "X-Scope-OrgID must name one tenant: 1 to 150 letters, digits or ! - _ . * ' ( ), not * alone (docs/tenants.md)",
  });
}

/**
 * The tenant a request acts for. An all-tenants key takes the header's (default: DEFAULT_TENANT); a bound key its
 * own, and a header naming another is refused.
 */
function tenantOf(principal: Principal, scope: string | undefined): string | LogaggError {
  if (principal.tenant === ALL_TENANTS) return scope ?? DEFAULT_TENANT;
  if (scope !== undefined && scope !== principal.tenant) {
    return new LogaggError('FORBIDDEN', {
      message: `The key "${principal.name}" is bound to tenant "${principal.tenant}"; X-Scope-OrgID names "${scope}"`,
    });
  }
  return principal.tenant;
}
