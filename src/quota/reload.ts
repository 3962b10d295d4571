import { type Stats, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { type LimitName, readTenantLimitsFile, type TenantLimits } from '../schema/limits.js';
import { TenantQuotas } from './quotas.js';

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
  // The text last loaded: a file touched or written again with the same text (a ConfigMap re-sync, a SIGHUP sent
  // twice, the poll seeing a change a signal already loaded) changes nothing, so it must not refill every bucket.
  // Unset at first (the start read the file, not this watch): the first reload always applies.
  let loaded: string | undefined;
  const reload = (reason: 'signal' | 'change'): boolean => {
    const parsed = readTenantLimitsFile(path);
    if (parsed.limits === undefined) {
      logger.error({ reason, path, problems: parsed.problems }, 'TENANT_LIMITS_FILE refused; the previous limits stay in force');
      return false;
    }
    if (parsed.text === loaded) return true;
    loaded = parsed.text;
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

/**
 * The quotas of a configuration: none without TENANT_LIMITS (then no hook is added and no check runs), and the
 * file's watch when they came from TENANT_LIMITS_FILE.
 */
export function startQuotas(
  limits: TenantLimits | undefined,
  file: string | undefined,
  options: { onRefused: (tenant: string, limit: LimitName) => void; logger: Pick<Logger, 'info' | 'error'> },
): { quotas?: TenantQuotas; limitsFile?: LimitsFileReloader } {
  if (limits === undefined) return {};
  const quotas = new TenantQuotas(limits, { onRefused: options.onRefused });
  if (file === undefined) return { quotas };
  return { quotas, limitsFile: watchLimitsFile({ path: file, quotas, logger: options.logger }) };
}
