import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface PackageJson {
  version: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

/** What `npm install <this package>` gets: dist/ must be built (by `prepare`) before it is packed. */
async function ensureBuilt(): Promise<void> {
  const built = existsSync('dist/cli/index.js') && existsSync('dist/web/index.html');
  if (built && statSync('dist/cli/index.js').mtimeMs >= statSync('src/cli/index.ts').mtimeMs) return;
  await run('npm', ['run', 'prepare'], { timeout: 120_000 });
}

describe('the package another app installs (docs/client.md)', { timeout: 180_000 }, () => {
  test('prepare builds dist/, so a git install, npm link and npm pack have the command and the client', async () => {
    assert.match(pkg.scripts.prepare ?? '', /prepare\.mjs/);
    assert.match(readFileSync('scripts/prepare.mjs', 'utf8'), /npm run build/);
    await ensureBuilt();
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { timeout: 60_000 });
    const [report] = JSON.parse(stdout) as [{ files: { path: string }[]; size: number }];
    const packed = new Set(report.files.map((file) => file.path));
    const targets = [
      ...Object.values(pkg.bin),
      ...Object.values(pkg.exports).flatMap((entry) =>
        typeof entry === 'string' ? [entry] : [entry.types, entry.default].filter((x): x is string => x !== undefined),
      ),
      'dist/web/index.html',
    ].map((path) => path.replace(/^\.\//, ''));
    for (const target of targets) assert.ok(packed.has(target), `${target} is in the package`);
    assert.deepEqual(
      [...packed].filter((path) => /^(src|test|bench|web)\//.test(path)),
      [],
      'sources and tests stay out of the package',
    );
    assert.ok(report.size < 2 * 1024 * 1024, `the tarball is small (${report.size} bytes)`);
  });

  test('every bin is a node script; logagg --version prints the version, no arguments is a usage error (2)', async () => {
    await ensureBuilt();
    for (const bin of Object.values(pkg.bin)) {
      assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/, `${bin} starts with a shebang`);
    }
    const logagg = pkg.bin.logagg as string;
    assert.equal((await run(process.execPath, [logagg, '--version'])).stdout.trim(), pkg.version);
    await assert.rejects(
      run(process.execPath, [logagg]),
      (err: { code?: number; stderr?: string }) => err.code === 2 && /usage: logagg <command>/.test(err.stderr ?? ''),
    );
  });
});
