import { loadConfig } from '../config.js';
import { exitOnStartupError, serve } from '../server.js';

// The CLI's --version: serve.ts is the one CLI module allowed to import the composition root.
export { PACKAGE_VERSION } from '../server.js';

export const SERVE_USAGE = `usage: logagg serve
Runs the aggregator (the same as npm start). Configured by environment variables only: see docs/config.md
(PORT, HOST, DATABASE_URL, DATA_DIR, BATCH_MAX, BATCH_LINGER_MS, WORKERS, MAX_QUEUE, ...).`;

/** `logagg serve`: runs until SIGTERM/SIGINT. */
export async function runServeCommand(): Promise<number> {
  await serve(loadConfig()).catch(exitOnStartupError);
  // serve() returns once listening; the process lives on until a signal ends it.
  return new Promise<number>(() => undefined);
}
