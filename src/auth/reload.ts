import { type Stats, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { hashKey, readKeysFile } from '../schema/keys.js';
import type { Keyring } from './keyring.js';

/** How often KEYS_FILE is looked at for a change (a stat; docs/tenants.md). */
export const KEYS_FILE_POLL_MS = 1000;

export interface KeysFileOptions {
  path: string;
  keyring: Keyring;
  /** API_KEY, which no listed key may repeat. */
  apiKey: string | undefined;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  pollMs?: number;
}

export interface KeysFileReloader {
  /** Re-reads the file; a file that does not parse leaves the keys as they were. True when the new keys are in force. */
  reload(reason: 'signal' | 'change'): boolean;
  close(): void;
}

/**
 * Reloads KEYS_FILE when it changes (polled with stat, which follows a rename or a Kubernetes ConfigMap's symlink
 * swap that an inotify watch on the old file would miss) and when asked (SIGHUP, src/server.ts).
 */
export function watchKeysFile(options: KeysFileOptions): KeysFileReloader {
  const { path, keyring, logger } = options;
  const apiKeyHash = options.apiKey === undefined ? undefined : hashKey(options.apiKey);
  const reload = (reason: 'signal' | 'change'): boolean => {
    const parsed = readKeysFile(path, apiKeyHash);
    if (parsed.problems.length > 0) {
      logger.error({ reason, path, problems: parsed.problems }, 'KEYS_FILE refused; the previous keys stay in force');
      return false;
    }
    const changes = keyring.replace(parsed.keys);
    logger.info({ reason, path, ...changes }, 'keys reloaded');
    return true;
  };
  // Not persistent: the watch alone must not keep a stopping process alive.
  const changed = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    reload('change');
  };
  watchFile(path, { interval: options.pollMs ?? KEYS_FILE_POLL_MS, persistent: false }, changed);
  return { reload, close: () => unwatchFile(path, changed) };
}
