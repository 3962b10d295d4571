import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hashKey } from '../../src/schema/keys.js';
import { type ServerProcess, spawnServer, waitFor } from '../helpers/process.js';
import { freshStore, type StoreLocation } from '../helpers/stores.js';

// Secrets of one length, so a key list rewritten in place keeps its size (see the SIGHUP test).
const secret = (): string => randomBytes(24).toString('base64url');
const line = (name: string, key: string): string => `${name} read * sha256:${hashKey(key)}\n`;

async function status(server: ServerProcess, key: string): Promise<number> {
  return (await fetch(`${server.url}/stats`, { headers: { authorization: `Bearer ${key}` } })).status;
}

describe('KEYS_FILE is reloaded without a restart', { timeout: 120_000 }, () => {
  test('SIGHUP swaps the keys; a bad file keeps the old ones and logs why; a replaced file is picked up by itself', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'logagg-keys-'));
    const file = join(dir, 'keys');
    const location: StoreLocation = await freshStore('pglite');
    t.after(async () => {
      await location.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const [a, b, c] = [secret(), secret(), secret()];
    writeFileSync(file, `# ops keys\n${line('alpha', a)}`);
    // A whole second, so the mtime can be put back exactly after the in-place rewrite below.
    const mtime = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, mtime, mtime);
    const server = await spawnServer(location, { KEYS_FILE: file });
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });
    assert.equal(await status(server, a), 200);
    assert.equal(await status(server, b), 401);

    // Rewritten in place with the same size and mtime: the file watch sees no change, so only SIGHUP can load it.
    writeFileSync(file, `# ops keys\n${line('bravo', b)}`);
    utimesSync(file, mtime, mtime);
    server.child.kill('SIGHUP');
    await waitFor(async () => (await status(server, b)) === 200, 10_000, 'the new key after SIGHUP');
    assert.equal(await status(server, a), 401, 'the removed key still works');

    // The secret pasted where the hash goes: refused, the keys stay, and the log names the line, not the secret.
    writeFileSync(file, `${line('bravo', b)}charlie read * ${c}\n`);
    server.child.kill('SIGHUP');
    await waitFor(async () => server.output().includes('KEYS_FILE refused'), 10_000, 'the refusal in the log');
    assert.match(server.output(), /KEYS_FILE line 2 \(key \\"charlie\\"\): the hash must be sha256/);
    assert.ok(!server.output().includes(c), 'the log shows the secret');
    assert.equal(await status(server, b), 200);
    assert.equal(await status(server, c), 401);

    // Replaced atomically (write, then rename), as an editor or a ConfigMap does: the watch loads it, no signal.
    writeFileSync(`${file}.new`, line('charlie', c));
    renameSync(`${file}.new`, file);
    await waitFor(async () => (await status(server, c)) === 200, 15_000, 'the replaced file to be loaded');
    assert.equal(await status(server, b), 401);
    assert.equal(server.child.exitCode, null, 'SIGHUP ended the server');
  });

  test('a bad KEYS_FILE at start refuses to start with CONFIG_INVALID naming each bad line', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'logagg-keys-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'keys');
    writeFileSync(file, `${line('ok', secret())}ok writer * sha256:${hashKey('x')}\nlonely\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, KEYS_FILE: file, PORT: '0', DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(output, /Invalid configuration/);
    assert.match(output, /KEYS_FILE line 2 \(key "ok"\): the name is used by an earlier key/);
    assert.match(output, /KEYS_FILE line 2 \(key "ok"\): the role must be write, read or admin, got "writer"/);
    assert.match(output, /KEYS_FILE line 3 \(key "lonely"\): must be "<name> <role> <tenant> sha256:<hex>", got 1 fields/);
  });
});
