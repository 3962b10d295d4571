import { isLogaggError, LogaggError } from './errors.js';

/** The start-up steps that meet the outside world; each failure is explained in words naming its setting. */
export type StartupStep = 'store' | 'listen' | 'nats';

export interface StartupContext {
  host: string;
  port: number;
  databaseUrl?: string | undefined;
  natsUrl?: string | undefined;
}

interface SystemError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The errors wrapped inside `err` (LogaggError → pg error → ...), outermost first. */
function chain(err: unknown): SystemError[] {
  const errors: SystemError[] = [];
  for (let e = err; typeof e === 'object' && e !== null && errors.length < 10; e = (e as SystemError).cause) {
    errors.push(e as SystemError);
  }
  return errors;
}

/** The first error in the chain whose code is one of `codes` (or matches it). */
function find(err: unknown, codes: RegExp): SystemError | undefined {
  return chain(err).find((e) => typeof e.code === 'string' && codes.test(e.code));
}

/** A URL as it may be printed: without its password. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const UNREACHABLE = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET)$/;

function storeReason(err: unknown, ctx: StartupContext): string | undefined {
  if (ctx.databaseUrl === undefined) return undefined;
  const url = withoutPassword(ctx.databaseUrl);
  // PostgreSQL's own words: database "x" does not exist, role "y" does not exist, password authentication failed...
  const refused = find(err, SQLSTATE);
  if (refused) return `PostgreSQL refused: ${String(refused.message)} (SQLSTATE ${String(refused.code)}); check DATABASE_URL (${url})`;
  const unreachable = find(err, UNREACHABLE);
  if (unreachable) return `Cannot reach PostgreSQL: ${String(unreachable.message)}; check DATABASE_URL (${url}) and that the server runs`;
  return undefined;
}

function listenReason(err: unknown, ctx: StartupContext): string | undefined {
  const { host, port } = ctx;
  const failure = find(err, /^(EADDRINUSE|EACCES|EPERM|ENOTFOUND|EAI_AGAIN|EAI_NONAME|EADDRNOTAVAIL)$/);
  switch (failure?.code) {
    case 'EADDRINUSE':
      return `Port ${port} on ${host} is already in use by another process (PORT=${port}, HOST=${host}): stop that process or choose another PORT`;
    case 'EACCES':
    case 'EPERM':
      return `Not allowed to listen on port ${port} (PORT): ports below 1024 need privileges; choose a PORT from 1024 up`;
    case 'EADDRNOTAVAIL':
      return `HOST "${host}" is not an address of this machine (HOST): use one of its addresses, 127.0.0.1, or 0.0.0.0 for all`;
    case undefined:
      return undefined;
    default:
      return `HOST "${host}" is not a name this machine can resolve (HOST, ${String(failure?.code)}): use an address such as 127.0.0.1, or 0.0.0.0 for all interfaces`;
  }
}

function natsReason(err: unknown, ctx: StartupContext): string {
  const deepest = chain(err).at(-1);
  const reason = typeof deepest?.message === 'string' && deepest.message !== '' ? deepest.message : String(err);
  return (
    `Cannot start the NATS transport at ${withoutPassword(ctx.natsUrl ?? '')} (NATS_URL): ${reason}; ` +
    'start a NATS server with JetStream (nats-server -js), or unset NATS_URL to run without NATS'
  );
}

/**
 * A start-up failure explained in words (STARTUP_FAILED, with the original error as cause), or the error itself
 * when it already speaks for itself (CONFIG_INVALID, DATA_DIR_LOCKED, ...) or is not one this module knows.
 */
export function explainStartupError(step: StartupStep, err: unknown, ctx: StartupContext): unknown {
  const message = step === 'store' ? storeReason(err, ctx) : step === 'listen' ? listenReason(err, ctx) : natsReason(err, ctx);
  if (message === undefined) return err;
  if (isLogaggError(err) && err.code === 'STARTUP_FAILED') return err;
  return new LogaggError('STARTUP_FAILED', { message, cause: err });
}
