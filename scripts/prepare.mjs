// npm runs `prepare` on `npm install`/`npm ci` in a checkout, on a git install (`npm install <git url>`, in npm's
// clone, with the dev dependencies) and on `npm pack`: build dist/ there, so the `logagg` command and
// `logagg/client` exist (the build takes seconds). Skipped where the sources or the compiler are absent: the
// Dockerfile's `npm ci` runs before src/ is copied, and its runtime stage has no TypeScript.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';

if (!existsSync('src') || !existsSync('web') || !existsSync('node_modules/typescript')) {
  process.stdout.write('logagg prepare: no src/, web/ or TypeScript here; not building dist/\n');
} else {
  execSync('npm run build', { stdio: 'inherit' });
}
