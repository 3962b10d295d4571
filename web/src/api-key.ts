// Who the page is to the API: its key, and the tenant it reads (the two headers every call carries), kept alike.
// The key lives in sessionStorage: it survives reloads of this tab and is gone when the tab closes (issue #9).
const STORAGE_KEY = 'logagg.apiKey';
// The tenant the page reads (X-Scope-OrgID), kept the same way; none: the key's own tenant, or `default`.
const TENANT_KEY = 'logagg.tenant';

type Listener = (refused: boolean) => void;

const neededListeners = new Set<Listener>();
const changedListeners = new Set<() => void>();
const tenantListeners = new Set<() => void>();
let asking = false;
const memory = new Map<string, string>();

function read(name: string): string | null {
  try {
    return sessionStorage.getItem(name);
  } catch {
    // Storage can be disabled by browser policy; the page then asks again after each reload.
    return memory.get(name) ?? null;
  }
}

function write(name: string, value: string | null): void {
  if (value === null) memory.delete(name);
  else memory.set(name, value);
  try {
    if (value === null) sessionStorage.removeItem(name);
    else sessionStorage.setItem(name, value);
  } catch {
    // Kept in memory only (see read).
  }
}

export function currentKey(): string | null {
  return read(STORAGE_KEY);
}

export function currentTenant(): string | null {
  return read(TENANT_KEY);
}

export function setKey(key: string): void {
  write(STORAGE_KEY, key);
  asking = false;
  for (const listener of changedListeners) listener();
}

/** Reads another tenant from now on (null: the key's own); the listeners start every view over. */
export function setTenant(tenant: string | null): void {
  if (tenant === currentTenant()) return;
  write(TENANT_KEY, tenant);
  for (const listener of tenantListeners) listener();
}

export function onTenantChanged(listener: () => void): void {
  tenantListeners.add(listener);
}

/** Called by the API client on a 401; listeners are told once until a key is entered. */
export function reportUnauthorized(sentKey: string | null): void {
  // A refusal of a request sent before the current key was entered says nothing about that key.
  if (asking || sentKey !== currentKey()) return;
  asking = true;
  for (const listener of neededListeners) listener(sentKey !== null);
}

export function onKeyNeeded(listener: Listener): void {
  neededListeners.add(listener);
}

export function onKeyChanged(listener: () => void): void {
  changedListeners.add(listener);
}

/** Headers that authenticate a request and name the tenant it reads (each only when set). */
export function authHeaders(): Record<string, string> {
  const [key, tenant] = [currentKey(), currentTenant()];
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (tenant !== null) headers['x-scope-orgid'] = tenant;
  return headers;
}
