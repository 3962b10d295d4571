import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// Reads the .cpuprofile files that `npm run bench -- --cpu-prof DIR` writes and sums self time by function and by
// file (a package under node_modules counts as one file), as shares of the busy time: where the server's time goes,
// in text that can be pasted into docs/performance.md.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

const USAGE = 'usage: npx tsx bench/profile-summary.ts [--top N] [--skip-ms MS] FILE_OR_DIR…';

/** Where a frame belongs: an engine bucket, node:internals, a package, or a repository file. */
function fileOf(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return frame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return pkg[1] as string;
  const repo = /\/(src|dist|bench|test)\/(.*)$/.exec(frame.url);
  return repo ? `${repo[1]}/${repo[2]}` : frame.url;
}

function profilesIn(paths: readonly string[]): string[] {
  return paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith('.cpuprofile'))
          .map((name) => join(path, name))
      : [path],
  );
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, 'skip-ms': { type: 'string', default: '0' } },
  });
  const top = Number(values.top);
  // The first MS of each profile are left out: the server's start (module loading, migrations), not its requests.
  const skipMicros = Number(values['skip-ms']) * 1000;
  if (positionals.length === 0 || !Number.isInteger(top) || !(skipMicros >= 0)) {
    console.error(USAGE);
    return 2;
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const file of profilesIn(positionals)) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    let at = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = frames.get(profile.samples[i] as number);
      const micros = profile.timeDeltas[i] ?? 0;
      at += micros;
      if (!frame || at < skipMicros) continue;
      total += micros;
      if (frame.functionName === '(idle)') {
        idle += micros;
        continue;
      }
      const where = fileOf(frame);
      const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
      byFile.set(where, (byFile.get(where) ?? 0) + micros);
    }
  }
  const busy = total - idle;
  const pct = (micros: number): string => `${((100 * micros) / busy).toFixed(1).padStart(5)}%`;
  const list = (title: string, table: Map<string, number>): void => {
    console.log(`\n${title}`);
    for (const [name, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(micros)}  ${name}`);
  };
  console.log(
    `profiled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}%); shares of busy time`,
  );
  list('self time by file or package', byFile);
  list('self time by function', byFunction);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
