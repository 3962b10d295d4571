#!/usr/bin/env node
import { KEY_USAGE, runKeyCommand } from './key.js';
import { runMigrateCommand, MIGRATE_USAGE } from './migrate.js';
import { runPublishCommand } from './publish.js';
import { PACKAGE_VERSION, runServeCommand, SERVE_USAGE } from './serve.js';
import { runStatsCommand, STATS_USAGE } from './stats.js';
import { runTail } from './tail.js';

const USAGE = `usage: logagg <command> [options]

commands:
  serve     run the aggregator (configured by environment variables, see docs/config.md)
  publish   send a simulated at-least-once event stream and verify the counters
  tail      follow the live stream of committed events
  stats     print the counters
  migrate   apply schema migrations and exit
  key       make an API key and its line for KEYS_FILE, or hash a key (docs/tenants.md)

logagg <command> --help shows a command's options; logagg --version prints the version.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const help = rest.includes('--help') || rest.includes('-h');
  switch (command) {
    case 'serve':
      if (help) return print(SERVE_USAGE);
      return runServeCommand();
    case 'migrate':
      if (help) return print(MIGRATE_USAGE);
      return runMigrateCommand(rest);
    case 'stats':
      if (help) return print(STATS_USAGE);
      return runStatsCommand(rest);
    case 'key':
      if (help) return print(KEY_USAGE);
      return runKeyCommand(rest);
    case 'publish':
      return runPublishCommand(rest);
    case 'tail': {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      return runTail(rest, stop.signal);
    }
    case undefined:
      // No command is a usage error (exit 2, like an unknown one), so a script that forgot it does not pass.
      console.error(USAGE);
      return 2;
    case '--version':
    case '-v':
    case 'version':
      return print(PACKAGE_VERSION);
    case '--help':
    case '-h':
    case 'help':
      return print(USAGE);
    default:
      console.error(`logagg: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function print(text: string): number {
  console.log(text);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`logagg: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
