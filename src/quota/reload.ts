import { type Stats, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { readTenantLimitsFile } from '../schema/limits.js';
import type { TenantQuotas } from './quotas.js';

/** How often TENANT_LIMITS_FILE is looked at for a change (a stat), as KEYS_FILE is (src/auth/reload.ts). */
export const LIMITS_FILE_POLL_MS = 1000;

export interface LimitsFileOptions {
  path: string;
  quotas: TenantQuotas;
  logger: Pick<Logger, 'info' | 'error'>;
  pollMs?: number;
}

export interface LimitsFileReloader {
  /** Re-reads the file; one that does not parse leaves the limits as they were. True when the new ones are in force. */
  reload(reason: 'signal' | 'change'): boolean;
  close(): void;
}

/**
 * Reloads TENANT_LIMITS_FILE on a change (polled with stat, which sees a rename or a ConfigMap's symlink swap) and
 * when asked (SIGHUP, src/server.ts): the same pattern and rules as KEYS_FILE (docs/tenants.md).
 */
export function watchLimitsFile(options: LimitsFileOptions): LimitsFileReloader {
  const { path, quotas, logger } = options;
  const reload = (reason: 'signal' | 'change'): boolean => {
    const parsed = readTenantLimitsFile(path);
    if (parsed.limits === undefined) {
      logger.error({ reason, path, problems: parsed.problems }, 'TENANT_LIMITS_FILE refused; the previous limits stay in force');
      return false;
    }
    quotas.replace(parsed.limits);
    logger.info({ reason, path, tenants: [...parsed.limits.tenants.keys()] }, 'tenant limits reloaded');
    return true;
  };
  // Not persistent: the watch alone must not keep a stopping process alive.
  const changed = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    reload('change');
  };
  watchFile(path, { interval: options.pollMs ?? LIMITS_FILE_POLL_MS, persistent: false }, changed);
  return { reload, close: () => unwatchFile(path, changed) };
}
