import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULTS, loadConfig, parseDuration, RANGES } from '../../src/config.js';

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

  test('docs/config.md states the allowed range of every integer setting, as the errors enforce it', () => {
    const rows = readFileSync('docs/config.md', 'utf8').matchAll(/^\| `([A-Z_]+)` \| [^|]+ \| `(\d+)` to `(\d+)` \|/gm);
    const documented = Object.fromEntries([...rows].map((m) => [m[1] as string, [Number(m[2]), Number(m[3])]]));
    assert.deepEqual(documented, Object.fromEntries(Object.entries(RANGES).map(([name, range]) => [name, [...range]])));
    for (const [name, [min, max]] of Object.entries(RANGES)) {
      for (const bad of [min - 1, max + 1]) {
        if (bad < 0) continue;
        assert.throws(
          () => loadConfig({ [name]: String(bad), ...(name === 'MAX_QUEUE' ? { MAX_BATCH_EVENTS: '1' } : {}) }),
          (err: Error) => err.message.includes(`${name} must be an integer from ${min} to ${max}, got "${bad}"`),
          `${name}=${bad}`,
        );
      }
    }
  });

  test('MAX_QUEUE below MAX_BATCH_EVENTS shows both values', () => {
    assert.throws(
      () => loadConfig({ MAX_QUEUE: '500', MAX_BATCH_EVENTS: '1000' }),
      (err: Error) => /MAX_QUEUE \(500\) must be at least MAX_BATCH_EVENTS \(1000\)/.test(err.message),
    );
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

  test('RETENTION and DEDUP_RETENTION take durations; the key window must outlast the payloads', () => {
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('45s'), 45_000);
    for (const bad of ['0d', '30', '1.5h', '30 d', '-1d', '1w', '36501d', '']) assert.equal(parseDuration(bad), undefined, bad);
    assert.deepEqual(
      { retention: loadConfig({ RETENTION: '7d' }).retentionMs, keys: loadConfig({ RETENTION: '7d' }).dedupRetentionMs },
      { retention: 7 * 86_400_000, keys: undefined },
    );
    assert.equal(loadConfig({ RETENTION: '1d', DEDUP_RETENTION: '30d' }).dedupRetentionMs, 30 * 86_400_000);
    const invalid = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadConfig(env),
        (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && pattern.test(err.message),
      );
    invalid({ RETENTION: 'forever' }, /RETENTION must be a duration/);
    invalid({ DEDUP_RETENTION: '30d' }, /DEDUP_RETENTION needs RETENTION/);
    invalid({ RETENTION: '30d', DEDUP_RETENTION: '30d' }, /must be longer than RETENTION/);
    invalid({ RETENTION: '30d', DEDUP_RETENTION: '1d' }, /must be longer than RETENTION/);
  });
});
