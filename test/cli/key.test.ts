import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { hashKey, parseKeys } from '../../src/schema/keys.js';

const run = promisify(execFile);
const logagg = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args]);

describe('logagg key', { timeout: 60_000 }, () => {
  test('new prints a random key and a line the server reads, holding the hash of that key', async () => {
    const { stdout } = await logagg(['key', 'new', 'promtail-eu', 'write', 'default']);
    const [, key = ''] = /^key: {2}(\S+)$/m.exec(stdout) ?? [];
    const [, line = ''] = /^line: (.+)$/m.exec(stdout) ?? [];
    assert.equal(key.length, 43);
    const { keys, problems } = parseKeys(line, 'KEYS_FILE');
    assert.deepEqual(problems, []);
    assert.deepEqual(keys, [{ name: 'promtail-eu', role: 'write', tenant: 'default', hash: hashKey(key) }]);
    assert.notEqual((await logagg(['key', 'new', 'promtail-eu', 'write'])).stdout, stdout, 'two keys alike');
  });

  test('hash reads the key from stdin; a bad role is a usage error (exit 2)', async () => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'key', 'hash']);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdin?.end('s3cret\n');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(out.trim(), `sha256:${hashKey('s3cret')}`);
    await assert.rejects(logagg(['key', 'new', 'x', 'writer']), (err: { code?: number; stderr?: string }) => {
      return err.code === 2 && /the role must be write, read or admin/.test(err.stderr ?? '');
    });
    assert.match((await logagg(['key', '--help'])).stdout, /usage: logagg key new/);
  });
});
