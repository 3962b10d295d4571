/**
 * API keys with roles (docs/tenants.md): the key list's syntax, the roles and what each route may ask of them.
 * A leaf: config.ts parses with it at start, the key reload (src/auth/) on SIGHUP, the CLI to print a line.
 *
 * Syntax: one key per line (or per `;` in the KEYS variable): `<name> <role> <tenant> <hash>`, separated by spaces
 * or tabs; blank lines and lines starting with `#` are skipped. The hash is the SHA-256 of the secret, as 64 hex
 * digits, optionally written `sha256:<hex>`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const ROLES = ['write', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a route asks of the request (route config `access`): nothing (`public`), any valid key (`key`: the API
 * description, a 404), or a role. A route that declares nothing asks for `admin`, so a forgotten route is closed.
 */
export type Access = 'public' | 'key' | Role;
export const DEFAULT_ACCESS: Access = 'admin';

/** A key bound to every tenant; X-Scope-OrgID then picks one (default: DEFAULT_TENANT). */
export const ALL_TENANTS = '*';
/** The one tenant that exists until the store keeps tenants apart: all data belongs to it. */
export const DEFAULT_TENANT = 'default';
/** The principal name API_KEY is known by (in logs, and refused as a name in the key list). */
export const API_KEY_NAME = 'API_KEY';

/** Who a request is: set by the auth hook on `request.principal`. `tenant` is the key's binding, `*` or a name. */
export interface Principal {
  name: string;
  role: Role;
  tenant: string;
}

/** One entry of the key list. `hash` is 64 lowercase hex digits. */
export interface KeyEntry extends Principal {
  hash: string;
}

/** Whether a role may use a route that asks for `access`: admin may do all, read and write only their own. */
export function roleAllows(role: Role, access: Access): boolean {
  return access === 'public' || access === 'key' || role === 'admin' || role === access;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
// Loki's tenant ID characters (docs/tenants.md); `|` (Loki's multi-tenant query) is not among them.
export const TENANT_PATTERN = "^[A-Za-z0-9!._*'()-]{1,150}$";
const TENANT = new RegExp(TENANT_PATTERN);
const HASH = /^(?:sha256:)?([0-9a-fA-F]{64})$/;

/** Whether `text` can name a tenant (X-Scope-OrgID or a key's binding): Loki's characters, 1 to 150 of them. */
export function isTenantName(text: string): boolean {
  return TENANT.test(text) && text !== ALL_TENANTS;
}

/** The hash a key list holds for a secret: SHA-256 of its UTF-8 bytes, lowercase hex. */
export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Parses a key list; every problem is reported, by line (KEYS_FILE) or entry (KEYS) number and the entry's name,
 * never its hash field: someone may have pasted the secret there. `apiKeyHash` is API_KEY's, which no entry may
 * repeat (the same secret cannot be two principals).
 */
export function parseKeys(text: string, source: 'KEYS' | 'KEYS_FILE', apiKeyHash?: string): { keys: KeyEntry[]; problems: string[] } {
  const keys: KeyEntry[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>(apiKeyHash === undefined ? [] : [apiKeyHash]);
  const entries = source === 'KEYS' ? text.split(/[;\n]/) : text.split('\n');
  entries.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/[ \t]+/);
    const [name = '', role = '', tenant = '', hash = ''] = fields;
    const where = `${source} ${source === 'KEYS' ? 'entry' : 'line'} ${index + 1} (${NAME.test(name) ? `key "${name}"` : 'no valid name'})`;
    const wrong = (problem: string): void => void problems.push(`${where}: ${problem}`);
    if (fields.length !== 4) return wrong(`must be "<name> <role> <tenant> sha256:<hex>", got ${fields.length} fields`);
    if (!NAME.test(name)) wrong('the name must be 1 to 64 letters, digits or . _ @ - (starting with a letter or digit)');
    else if (name === API_KEY_NAME) wrong(`the name ${API_KEY_NAME} is API_KEY's own`);
    else if (names.has(name)) wrong('the name is used by an earlier key');
    if (!(ROLES as readonly string[]).includes(role)) wrong(`the role must be write, read or admin, got "${role.slice(0, 20)}"`);
    if (tenant !== ALL_TENANTS && !isTenantName(tenant)) wrong(`the tenant must be * or a tenant name (Loki's characters, at most 150)`);
    const digest = HASH.exec(hash)?.[1]?.toLowerCase();
    if (digest === undefined) wrong('the hash must be sha256:<64 hex digits> (the SHA-256 of the key, not the key itself)');
    else if (hashes.has(digest)) wrong('the same key (hash) is listed earlier, or is API_KEY');
    names.add(name);
    if (digest !== undefined) hashes.add(digest);
    keys.push({ name, role: role as Role, tenant, hash: digest ?? '' });
  });
  return problems.length > 0 ? { keys: [], problems } : { keys, problems };
}

/** KEYS_FILE read and parsed: at start (src/config.ts) and on each reload (src/auth/reload.ts), the same way. */
export function readKeysFile(path: string, apiKeyHash?: string): { keys: KeyEntry[]; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { keys: [], problems: [`KEYS_FILE cannot be read (${path}): ${err instanceof Error ? err.message : String(err)}`] };
  }
  return parseKeys(text, 'KEYS_FILE', apiKeyHash);
}
