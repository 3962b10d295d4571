// The key lives in sessionStorage: it survives reloads of this tab and is gone when the tab closes (issue #9).
const STORAGE_KEY = 'logagg.apiKey';

type Listener = (refused: boolean) => void;

const neededListeners = new Set<Listener>();
const changedListeners = new Set<() => void>();
let asking = false;
let memoryKey: string | null = null;

export function currentKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled by browser policy; the page then asks again after each reload.
    return memoryKey;
  }
}

export function setKey(key: string): void {
  memoryKey = key;
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Kept in memory only (see currentKey).
  }
  asking = false;
  for (const listener of changedListeners) listener();
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

/** Headers that authenticate a request (both when a key is set and when none is needed). */
export function authHeaders(): Record<string, string> {
  const key = currentKey();
  return key === null ? {} : { authorization: `Bearer ${key}` };
}
