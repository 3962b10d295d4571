import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Keyring, OPEN_PRINCIPAL } from '../../src/auth/keyring.js';
import { loadConfig } from '../../src/config.js';
import { LogaggError } from '../../src/errors.js';
import { hashKey, parseKeys } from '../../src/schema/keys.js';

const h = (secret: string): string => hashKey(secret);

describe('the key list', () => {
  test('KEYS takes entries separated by ; or newlines, sha256: optional, hex in any case; comments and blanks skipped', () => {
    const text = `# team keys\n ci write * sha256:${h('a')} ;grafana read default ${h('b').toUpperCase()}\n\nops admin * ${h('c')}`;
    const { keys, problems } = parseKeys(text, 'KEYS');
    assert.deepEqual(problems, []);
    assert.deepEqual(keys, [
      { name: 'ci', role: 'write', tenant: '*', hash: h('a') },
      { name: 'grafana', role: 'read', tenant: 'default', hash: h('b') },
      { name: 'ops', role: 'admin', tenant: '*', hash: h('c') },
    ]);
  });

  test("docs/tenants.md's example key list parses", () => {
    const example = /## The key list[\s\S]*?```\n([\s\S]*?)```/.exec(readFileSync('docs/tenants.md', 'utf8'))?.[1] ?? '';
    const { keys, problems } = parseKeys(example, 'KEYS_FILE');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      keys.map((k) => `${k.name} ${k.role} ${k.tenant}`),
      ['promtail-eu write default', 'grafana read *', 'ops admin *'],
    );
  });

  test('every bad entry is named by number and name, never by its hash field; nothing is kept', () => {
    const text = [
      `a write * ${h('1')}`,
      `a read * ${h('2')}`,
      `b reader * ${h('3')}`,
      `c read a|b ${h('4')}`,
      'd read * the-secret-itself',
      `e read * ${h('1')}`,
      `API_KEY admin * ${h('5')}`,
    ].join(';');
    const { keys, problems } = parseKeys(text, 'KEYS', h('api'));
    assert.deepEqual(keys, []);
    assert.deepEqual(problems, [
      'KEYS entry 2 (key "a"): the name is used by an earlier key',
      'KEYS entry 3 (key "b"): the role must be write, read or admin, got "reader"',
      'KEYS entry 4 (key "c"): the tenant must be * or a tenant name (Loki\'s characters, at most 150)',
      'KEYS entry 5 (key "d"): the hash must be sha256:<64 hex digits> (the SHA-256 of the key, not the key itself)',
      'KEYS entry 6 (key "e"): the same key (hash) is listed earlier, or is API_KEY',
      'KEYS entry 7 (key "API_KEY"): the name API_KEY is API_KEY\'s own',
    ]);
    assert.ok(!problems.join().includes('the-secret-itself'));
    assert.match(parseKeys(`x read * ${h('api')}`, 'KEYS', h('api')).problems[0] ?? '', /is API_KEY/);
  });

  test('config: KEYS and KEYS_FILE are exclusive; an unreadable or bad file is CONFIG_INVALID naming the line', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'logagg-keys-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'keys');
    writeFileSync(file, `ok read * ${h('a')}\nbad\n`);
    const invalid = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadConfig(env),
        (err: LogaggError) => err.code === 'CONFIG_INVALID' && pattern.test(err.message),
      );
    invalid({ KEYS: `a read * ${h('a')}`, KEYS_FILE: file }, /KEYS and KEYS_FILE are both set/);
    invalid({ KEYS_FILE: file }, /KEYS_FILE line 2 \(key "bad"\): must be/);
    invalid({ KEYS_FILE: join(dir, 'missing') }, /KEYS_FILE cannot be read/);
    writeFileSync(file, `ok read * ${h('a')}\n`);
    assert.deepEqual(loadConfig({ KEYS_FILE: file }).keys, [{ name: 'ok', role: 'read', tenant: '*', hash: h('a') }]);
    assert.equal(loadConfig({}).keys, undefined);
  });

  test('the keyring: open without keys, API_KEY an all-tenants admin, replace reports changes by name', () => {
    assert.equal(new Keyring(undefined, undefined).find(undefined), OPEN_PRINCIPAL);
    const ring = new Keyring([{ name: 'a', role: 'read', tenant: '*', hash: h('a') }], 'api');
    assert.deepEqual(ring.find('api'), { name: 'API_KEY', role: 'admin', tenant: '*' });
    assert.equal(ring.find('b'), undefined);
    const changes = ring.replace([
      { name: 'a', role: 'write', tenant: '*', hash: h('a') },
      { name: 'b', role: 'read', tenant: '*', hash: h('b') },
    ]);
    assert.deepEqual(changes, { keys: 2, added: ['b'], removed: [], changed: ['a'] });
    assert.equal(ring.find('b')?.name, 'b');
    assert.equal(ring.find('api')?.role, 'admin', 'API_KEY survives a reload');
    // An empty list is not "open": every key is refused.
    const empty = new Keyring([], undefined);
    const refused = empty.authorize(undefined, undefined, () => 'read');
    assert.ok(refused instanceof LogaggError && refused.code === 'UNAUTHORIZED');
  });
});
