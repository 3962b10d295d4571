import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULTS, loadConfig } from '../../src/config.js';

function documentedDefaults(file: string): Map<string, string> {
  const rows = readFileSync(file, 'utf8').matchAll(/^\| `([A-Z_]+)` \| (?:`([^`]*)`|\(unset\)) \|/gm);
  return new Map([...rows].map((m) => [m[1] as string, m[2] ?? '']));
}

describe('configuration', () => {
  test('docs/config.md and the README table list every variable with the default in code', () => {
    for (const file of ['docs/config.md', 'README.md']) {
      assert.deepEqual(Object.fromEntries(documentedDefaults(file)), { ...DEFAULTS }, file);
    }
  });

  test('defaults load into a frozen config that reads the embedded store', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, './data');
  });

  test('every bad value is reported at once as CONFIG_INVALID', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', WORKERS: '0', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }),
      (err: Error & { code?: string; details?: string[] }) =>
        err.code === 'CONFIG_INVALID' && err.details?.length === 4 && /PORT/.test(err.message) && /WORKERS/.test(err.message),
    );
  });
});
